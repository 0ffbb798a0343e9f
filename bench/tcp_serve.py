"""uvicorn with a listening socket that asks for TCP explicitly, so that responses are sent
with TCP_NODELAY even with several workers.

Why: with ``--workers N > 1``, uvicorn binds the socket itself as
``socket.socket(family=AF_INET)``: its ``proto`` is 0, and every connection accepted from it
inherits ``proto == 0``. asyncio only sets TCP_NODELAY on sockets whose ``proto`` is
``IPPROTO_TCP``, so those connections keep Nagle's algorithm; uvicorn writes a response's
head and body separately, and the body then waits for the client's delayed ACK (40 ms on
Linux). One worker is not affected (``loop.create_server`` resolves the address with the
right ``proto``). This launcher binds ``socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)`` and
hands it to uvicorn's own supervisor, which is what the bench uses to show the difference:

    python -m bench.tcp_serve api.http.app:create_app --port 8000 --workers 2
"""

from __future__ import annotations

import argparse

from uvicorn.config import Config
from uvicorn.server import Server
from uvicorn.supervisors import Multiprocess

from api.cli.serving import tcp_socket


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.tcp_serve")
    p.add_argument("app", help="module:factory, e.g. api.http.app:create_app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args(argv)
    config = Config(
        args.app,
        host=args.host,
        port=args.port,
        workers=args.workers,
        factory=True,
        log_level="warning",
        access_log=False,
    )
    sock = tcp_socket(args.host, args.port)
    server = Server(config)
    if args.workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
