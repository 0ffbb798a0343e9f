"""Run uvicorn on a listening socket created as TCP explicitly.

With ``--workers N > 1`` uvicorn binds ``socket(AF_INET)`` itself: its ``proto`` is 0, the
accepted connections inherit it, and asyncio sets TCP_NODELAY only on sockets whose proto is
IPPROTO_TCP. Responses then wait on the client's delayed ACK (about 40 ms on Linux), found
by the benchmarks (docs/performance.md). Binding the socket here and handing it to uvicorn's
own supervisor keeps Nagle's algorithm off for one worker or many.

The HTTP/1.1 protocol it runs is ``api.cli.protocol.EdgeProtocol``: silent connections
closed, a time limit on receiving a request, header size and framing checked.
"""

from __future__ import annotations

import socket

from uvicorn.config import Config
from uvicorn.server import Server
from uvicorn.supervisors import Multiprocess

from api.cli.protocol import MAX_HEAD_BYTES, EdgeProtocol

# uvicorn's limit per worker: well above the requests admission control holds
# (LEDGER_MAX_IN_FLIGHT, 64) and below the common 1024 open files per process
CONNECTIONS_PER_WORKER = 500


KEEP_ALIVE_S = 5


def tcp_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve(app: str, *, host: str, port: int, workers: int, limit_concurrency: int = 0) -> None:
    """``limit_concurrency``: uvicorn's own guard, an outer one. It counts a worker's open
    connections (idle keep-alive ones too) and its tasks, and beyond it answers a plain-text
    503 without Retry-After, even to the probes. The load is shed before it, by admission
    control (``api.http.admission``: 503 ``overloaded`` problem+json); this guard only caps the
    file descriptors and memory a flood of connections can take. 0: no limit."""
    config = Config(
        app,
        host=host,
        port=port,
        workers=workers,
        factory=True,
        log_level="warning",
        access_log=False,
        limit_concurrency=limit_concurrency or None,
        http=EdgeProtocol,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    sock = tcp_socket(host, port)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        Server(config).run(sockets=[sock])
