"""The socket layer of ``ledger serve``, over raw sockets: silent connections do not stay
open, a request must arrive whole in time, oversized headers and ambiguous framing are
answered with a problem document before any route runs."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from uvicorn.config import Config
from uvicorn.server import Server

from api.cli.protocol import EdgeProtocol
from api.cli.serving import tcp_socket
from api.http.app import create_app
from ledger.settings import Settings
from tests.support import Clock, World

CALLS: list[str] = []  # the paths hello was called for


class QuickProtocol(EdgeProtocol):
    request_timeout = 1.5


async def hello(scope: dict, receive: object, send: object) -> None:
    assert scope["type"] == "http"
    CALLS.append(scope["path"])
    if scope["path"] == "/slow":
        await asyncio.sleep(2)
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


def run(app: Any, lifespan: Literal["auto", "on", "off"]) -> Iterator[int]:
    sock = tcp_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = Config(
        app,
        log_level="warning",
        http=QuickProtocol,
        timeout_keep_alive=1,
        lifespan=lifespan,
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


@pytest.fixture
def server() -> Iterator[int]:
    CALLS.clear()
    yield from run(hello, "off")


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


@pytest.fixture
def ledger_server(tmp_path: Path) -> Iterator[tuple[int, World, str]]:
    """The API on SQLite behind the protocol, with a world and the manager's key."""
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
            log_format="json",
            signing_key_path=tmp_path / "signing-key.pem",
        )
    )
    for port in run(app, "on"):
        world = World(app.state.ledger, Clock(datetime.now(UTC))).setup()
        yield port, world, app.state.keys.issue(world.manager.actor_id).token


def exchange(port: int, request: bytes, wait: float = 5) -> tuple[int, dict[str, str], bytes]:
    """Send ``request``, read until the server closes: status, headers, body."""
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.settimeout(wait)
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split(" ")[1]), headers, body


def test_a_request_with_both_transfer_encoding_and_content_length_is_refused_before_any_route(
    server: int,
) -> None:
    """Ambiguous framing (RFC 9112 §6.1) is answered 400 ambiguous_framing and the
    connection closed; the application is never called."""
    request = (
        b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    )
    status, headers, body = exchange(server, request)
    assert status == 400
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    assert json.loads(body)["code"] == "ambiguous_framing"
    assert CALLS == []


def test_headers_that_stop_arriving_are_answered_408_and_the_connection_closed(
    server: int,
) -> None:
    """A request whose headers never end is answered 408 request_timeout after the request
    timeout (1.5 s here), not held open."""
    started = time.monotonic()
    status, _headers, body = exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n")
    waited = time.monotonic() - started
    assert status == 408
    assert json.loads(body)["code"] == "request_timeout"
    assert 1.2 <= waited <= 4, waited
    assert CALLS == []


def test_a_request_line_and_headers_over_16_kib_are_answered_431(server: int) -> None:
    """A 1 MiB header gets an HTTP answer, 431 headers_too_large, not a reset connection."""
    request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2**20 + b"\r\n\r\n"
    status, headers, body = exchange(server, request)
    assert status == 431
    assert headers["connection"] == "close"
    assert json.loads(body)["code"] == "headers_too_large"
    assert CALLS == []


def big_request(size: int) -> bytes:
    """A GET whose request line and headers are ``size`` bytes, one X-Big header of them."""
    start = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: "
    end = b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


def test_a_17_kib_head_sent_in_one_piece_is_answered_431(server: int) -> None:
    """A whole head over 16 KiB arriving in one read is refused, not parsed: 431."""
    status, headers, body = exchange(server, big_request(17 * 1024))
    assert status == 431
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert problem["code"] == "headers_too_large"
    assert problem["instance"] == "/healthz"
    assert CALLS == []


def test_a_17_kib_head_sent_in_two_pieces_is_answered_431(server: int) -> None:
    """A head over 16 KiB split over two reads, each under the limit, is refused too."""
    request = big_request(17 * 1024)
    with socket.create_connection(("127.0.0.1", server)) as conn:
        conn.settimeout(5)
        conn.sendall(request[:9000])
        time.sleep(0.3)  # the server reads the first piece on its own
        conn.sendall(request[9000:])
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
    assert b'"code":"headers_too_large"' in answer
    assert CALLS == []


def test_a_server_shutting_down_while_a_refusal_lingers_closes_the_connection_cleanly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The 431 is written and the connection lingers (the client has not closed it) when the
    server shuts down: the connection closes, and the server's thread raises nothing (h11
    used to refuse to close a response it had not sent itself)."""
    raised: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))
    serving = run(hello, "off")
    port = next(serving)
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.settimeout(5)
        conn.sendall(big_request(17 * 1024))
        answer = b""
        while b'"code":"headers_too_large"' not in answer:
            answer += conn.recv(65536)
        next(serving, None)  # shut the server down while the refusal lingers
        while conn.recv(65536):  # it closes: recv ends with b"" (a timeout fails the test)
            pass
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert raised == []


def test_a_15_kib_head_is_served(server: int) -> None:
    """A head under the limit reaches the application: the limit is 16 KiB, not less."""
    status, _headers, body = exchange(server, big_request(15 * 1024))
    assert status == 200
    assert b"ok" in body
    assert CALLS == ["/healthz"]


def test_a_request_whose_body_stops_arriving_is_answered_408_and_nothing_is_recorded(
    ledger_server: tuple[int, World, str],
) -> None:
    """A body shorter than its Content-Length (here a valid command's ``{}`` of a declared
    40 bytes) is answered 408 after the request timeout; the route never sees the part."""
    port, world, token = ledger_server
    before = len(world.events())
    request = (
        f"POST /v1/campaigns/{world.campaign_id}/launch HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        "Content-Length: 40\r\n\r\n{}"
    ).encode()
    started = time.monotonic()
    status, _headers, body = exchange(port, request)
    assert status == 408, body
    assert json.loads(body)["code"] == "request_timeout"
    assert time.monotonic() - started <= 4
    time.sleep(1.5)  # the route, had it been called, would have recorded by now
    assert len(world.events()) == before


def test_a_whole_request_is_served_however_long_its_route_takes_afterwards(
    server: int,
) -> None:
    """The time limit covers receiving the request only: a route that takes longer than
    it (2 s against 1.5 s) still answers 200."""
    status, _, body = exchange(
        server, b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status == 200
    assert b"ok" in body, body  # chunked
