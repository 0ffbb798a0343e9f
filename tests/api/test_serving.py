"""The socket layer of ``ledger serve``: silent connections do not stay open."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from uvicorn.config import Config
from uvicorn.server import Server

from api.cli.serving import SilentConnectionTimeout, tcp_socket


async def hello(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


@pytest.fixture
def server() -> Iterator[int]:
    sock = tcp_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = Config(
        hello,
        log_level="warning",
        http=SilentConnectionTimeout,
        timeout_keep_alive=1,
        lifespan="off",
    )
    srv = Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    srv.should_exit = True
    thread.join(10)


def closed_within(conn: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection, or None if it was still open."""
    conn.settimeout(seconds)
    started = time.monotonic()
    try:
        data = conn.recv(1024)
    except TimeoutError:
        return None
    assert data == b"", data
    return time.monotonic() - started


def test_a_connection_that_sends_nothing_is_closed_after_the_keep_alive_timeout(
    server: int,
) -> None:
    with socket.create_connection(("127.0.0.1", server)) as conn:
        waited = closed_within(conn, 5)
    assert waited is not None, "the silent connection was still open after 5 s"
    assert 0.8 <= waited <= 3


def test_a_connection_that_sends_a_request_is_answered_and_then_kept_alive_as_before(
    server: int,
) -> None:
    with socket.create_connection(("127.0.0.1", server)) as conn:
        time.sleep(0.5)  # within the timeout: the request is served
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        conn.settimeout(5)
        answer = b""
        while not answer.endswith(b"0\r\n\r\n"):  # the whole chunked response
            answer += conn.recv(1024)
        assert answer.startswith(b"HTTP/1.1 200")
        waited = closed_within(conn, 5)  # then idle: closed by the keep-alive timer
    assert waited is not None
