"""Edge middleware (pure ASGI): request ids, body size limit, media type, one log line and
metrics per request, and the one 500 path.

It wraps every route and the admission gate, so an exception nothing mapped reaches it: it
logs the traceback and answers ``internal_error`` (``api.http.problems.internal_error``)
with the request id and no internals. Its own refusals (413, 415, a JSON key named twice,
a single header sent twice) are built by the same ``api.http.problems.answer`` as every
other problem."""

from __future__ import annotations

import codecs
import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http import metrics, problems

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
log = structlog.get_logger("api.request")


class _Repeated(Exception):
    pass


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Repeated(key)
        found[key] = value
    return found


def repeated_key(body: bytes) -> str | None:
    """A key named twice in one JSON object of ``body`` (Python's parser, like most, would
    silently keep the last value: ambiguous input to an audit record). None otherwise, also
    for a body that is no JSON at all: the route reports that as it always did."""
    if not body:
        return None
    try:
        json.loads(body, object_pairs_hook=_no_repeats)
    except _Repeated as e:
        return str(e.args[0])
    except (ValueError, RecursionError):
        return None
    return None


def not_utf8(body: bytes) -> str | None:
    """Why ``body`` is not JSON as systems exchange it, UTF-8 without a byte order mark
    (RFC 8259 §8.1); None when it is. Python's parser would take UTF-16 and UTF-32 too."""
    rule = "JSON between systems is UTF-8 without a byte order mark (RFC 8259 §8.1)"
    if body.startswith(codecs.BOM_UTF8):
        return f"the body begins with a byte order mark: {rule}"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"the body is not UTF-8 (byte {e.start} is invalid): {rule}"
    if b"\x00" in body:  # never in UTF-8 JSON text, in every UTF-16 or UTF-32 one
        return f"the body holds NUL bytes, as UTF-16 and UTF-32 text does: {rule}"
    return None


SINGLE = ("authorization", "idempotency-key", "if-match", "content-type")


def repeated_header(raw: list[tuple[bytes, bytes]]) -> str | None:
    """The first of ``SINGLE`` the request sends more than once, None otherwise: which of
    two credentials, keys, preconditions or media types was meant is ambiguous."""
    names = [k.decode("latin-1").lower() for k, _ in raw]
    return next((name for name in SINGLE if names.count(name) > 1), None)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the buffered body over once, then waits on the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500}
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_holder["status"] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self._admit(scope, headers, receive, send_wrapper)
        except ClientDisconnect:
            # gone (or timed out by the server, which answered 408) before the whole body
            # arrived: a partial body is never handed to a route; logged as 499
            status_holder["status"] = 499
        except Exception:
            # The one 500 path: answer here, inside the edge, so the client gets a problem
            # document with its request id and the connection stays usable; the traceback
            # goes to the log, nothing of it to the client.
            log.exception("unhandled error", path=scope["path"])
            if not response_started:
                await problems.internal_error(scope["path"], request_id)(
                    scope, receive, send_wrapper
                )
        finally:
            self._done(scope, scope["method"], status_holder, started)

    async def _admit(
        self, scope: Scope, headers: dict[str, str], receive: Receive, send: Send
    ) -> None:
        """Refuse repeated single headers, and what is too large, not JSON or ambiguous
        JSON; pass the rest on."""
        method = scope["method"]

        async def reply(status: int, code: str, title: str, detail: str) -> None:
            request_id = scope["state"]["request_id"]
            answer = problems.answer(
                status, code, title, detail, path=scope["path"], request_id=request_id
            )
            await answer(scope, receive, send)

        repeated = repeated_header(scope["headers"])
        if repeated is not None:
            detail = f"the {repeated} header is sent more than once: send it once"
            await reply(400, "duplicate_header", "Duplicate header", detail)
            return
        too_large = f"the body exceeds the limit of {self.max_body} bytes"
        if method not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await reply(413, "payload_too_large", "Payload too large", too_large)
            return
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        has_body = (length not in (None, "0")) or "transfer-encoding" in headers
        if has_body and ctype != "application/json":
            await reply(
                415,
                "unsupported_media_type",
                "Unsupported media type",
                "send the body as application/json",
            )
            return
        body = await self._read_body(receive)
        if body is None:
            await reply(413, "payload_too_large", "Payload too large", too_large)
            return
        wrong = not_utf8(body)
        if wrong is not None:
            await reply(400, "malformed_json", "Malformed JSON", wrong)
            return
        repeated = repeated_key(body)
        if repeated is not None:
            await reply(
                400,
                "malformed_json",
                "Malformed JSON",
                f"the JSON body names the key {repeated!r} twice in one object: "
                "which value was meant is ambiguous, send each key once",
            )
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole request body, or None when it is over the limit (however it was sent);
        ClientDisconnect if the client went before it was whole."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    def _done(scope: Scope, method: str, status: dict[str, Any], started: float) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        metrics.observe_request(method, template, status["status"], elapsed)
        log.info(
            "request",
            method=method,
            route=template,
            path=scope["path"],
            status=status["status"],
            duration_ms=round(elapsed * 1000, 2),
            actor_id=scope.get("state", {}).get("actor_id"),
        )
