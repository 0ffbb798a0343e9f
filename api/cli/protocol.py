"""The HTTP/1.1 protocol of ``ledger serve``: uvicorn's h11 one, with its edges closed.

- A connection that sends nothing is closed after the keep-alive timeout (5 s), as an idle
  keep-alive one is: uvicorn starts that timer only after a first response, so a client
  could otherwise hold sockets open, silent, until ``limit_concurrency`` is exhausted and
  every answer (the probes' too) becomes uvicorn's plain-text 503.
- A request must arrive whole (request line, headers and body) within
  ``LEDGER_REQUEST_TIMEOUT`` seconds (30) of its first byte: otherwise 408
  ``request_timeout``. A slow client would otherwise hold a connection for minutes.
- A request line and headers over ``MAX_HEAD_BYTES`` (16 KiB): 431 ``headers_too_large``.
- ``Transfer-Encoding`` together with ``Content-Length``: 400 ``ambiguous_framing``, before
  any route runs (RFC 9112 §6.1: behind a proxy that reads the other header, this is
  request smuggling).
- Anything else h11 cannot parse: 400 ``malformed_request``.

Each of these answers is problem+json with ``Connection: close``. Then the server stops
sending, reads and discards what the client still sends for up to ``LINGER_S``, and closes
(RFC 9112 §9.6): closing at once with unread bytes would reset the connection, and the
client would lose the answer.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol
from uvicorn.server import ServerState

from api.http.problems import answer
from ledger.settings import Settings

MAX_HEAD_BYTES = 16 * 1024
LINGER_S = 2.0


class AmbiguousFraming(h11.RemoteProtocolError):
    """Both Transfer-Encoding and Content-Length: where the body ends is ambiguous."""

    def __init__(self, target: bytes) -> None:
        super().__init__(
            "the request has both Transfer-Encoding and Content-Length: where its body ends "
            "is ambiguous; send one of them",
            error_status_hint=400,
        )
        self.path = target.partition(b"?")[0].decode("ascii", "replace")


class HeadersTooLarge(h11.RemoteProtocolError):
    """A request line and headers over the limit, however many reads they came in."""

    def __init__(self, size: int, target: bytes) -> None:
        super().__init__(
            f"the request line and headers ({size} bytes) exceed {MAX_HEAD_BYTES} bytes",
            error_status_hint=431,
        )
        self.path = target.partition(b"?")[0].decode("ascii", "replace")


class StrictConnection(h11.Connection):
    """h11's server side, which also refuses ambiguous framing and a request head over
    ``MAX_HEAD_BYTES``, and keeps the last error.

    h11's own limit (``max_incomplete_event_size``) only bounds a head still incomplete: a
    whole head that arrives in one read is parsed whatever its size. So the bytes a
    ``Request`` event consumed from the receive buffer are counted here too."""

    error: h11.RemoteProtocolError | None = None

    def next_event(self) -> Any:
        # h11 keeps no public count of the bytes an event consumed; len() of its receive
        # buffer before and after the event is that count
        before = len(self._receive_buffer) if self.their_state is h11.IDLE else 0
        try:
            event = super().next_event()
        except h11.RemoteProtocolError as e:
            self.error = e
            raise
        if isinstance(event, h11.Request):
            size = before - len(self._receive_buffer)
            if size > MAX_HEAD_BYTES:
                self.error = HeadersTooLarge(size, event.target)
                raise self.error
            names = {name for name, _ in event.headers}  # h11 lower-cases the names
            if b"transfer-encoding" in names and b"content-length" in names:
                self.error = AmbiguousFraming(event.target)
                raise self.error
        return event


@functools.cache
def configured_timeout() -> float:
    return Settings().request_timeout


class EdgeProtocol(H11Protocol):
    request_timeout: float | None = None  # seconds; None: LEDGER_REQUEST_TIMEOUT

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.strict = StrictConnection(h11.SERVER, MAX_HEAD_BYTES)
        self.conn = self.strict
        self._deadline: asyncio.TimerHandle | None = None
        self._lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Silent connections close like idle keep-alive ones; the first bytes received
        # cancel the timer (uvicorn's own ``data_received``).
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        """A server shutting down while a refusal lingers: the answer is written already
        and h11 never saw it (it would refuse to close a response it did not send), so the
        connection just closes."""
        if self._lingering:
            self.transport.close()
            return
        super().shutdown()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # read and dropped until the client closes or LINGER_S passes
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        self._watch()

    def _watch(self) -> None:
        """The deadline runs while part of a request has arrived, and stops once the whole
        request has (the route's own time does not count)."""
        state = self.conn.their_state
        partial = state is h11.SEND_BODY or (state is h11.IDLE and bool(self.conn.trailing_data[0]))
        if self._lingering or self.transport.is_closing() or not partial:
            self._disarm()
        elif self._deadline is None:
            timeout = self.request_timeout or configured_timeout()
            self._deadline = self.loop.call_later(timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle if self.conn.their_state is h11.SEND_BODY else None
        path = ""
        if cycle is not None:
            path = cycle.scope["path"]
            # the route waiting on the rest of the body hears a disconnect, and anything it
            # sends is dropped
            cycle.disconnected = True
            cycle.message_event.set()
            if cycle.response_started:
                self.transport.close()
                return
        timeout = self.request_timeout or configured_timeout()
        detail = f"the whole request did not arrive within {timeout:g} seconds"
        self._refuse(408, "request_timeout", "Request timeout", detail, path)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request h11 cannot parse: here a problem document."""
        error = self.strict.error
        status = error.error_status_hint if error is not None else 400
        if isinstance(error, AmbiguousFraming):
            title = "Ambiguous message framing"
            self._refuse(400, "ambiguous_framing", title, str(error), error.path)
        elif status == 431:
            detail = f"the request line and headers exceed {MAX_HEAD_BYTES} bytes"
            path = error.path if isinstance(error, HeadersTooLarge) else ""
            self._refuse(431, "headers_too_large", "Request headers too large", detail, path)
        else:
            detail = f"the request is not valid HTTP/1.1: {error or msg}"
            self._refuse(status, "malformed_request", "Malformed request", detail)

    def _refuse(self, status: int, code: str, title: str, detail: str, path: str = "") -> None:
        """Answer ``status`` with a problem document, then close after a lingering read."""
        request_id = uuid.uuid4().hex
        response = answer(
            status,
            code,
            title,
            detail,
            path=path,
            request_id=request_id,
            headers={"Connection": "close", "X-Request-Id": request_id},
        )
        head = b"HTTP/1.1 %d %s\r\n" % (status, STATUS_PHRASES[status])
        head += b"".join(b"%s: %s\r\n" % (k, v) for k, v in response.raw_headers)
        self.transport.write(head + b"\r\n" + bytes(response.body))
        self._lingering = True
        self._disarm()
        self._unset_keepalive_if_required()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self.loop.call_later(LINGER_S, self.transport.close)
