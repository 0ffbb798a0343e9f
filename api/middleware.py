"""Edge middleware (pure ASGI): request ids, body size limit, media type, one log line and
metrics per request."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
log = structlog.get_logger("api.request")


def _problem(
    status: int, code: str, title: str, detail: str, request_id: str, path: str
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps(
        {
            "type": f"https://campaign-decision-ledger.dev/problems/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
            "instance": path,
            "request_id": request_id,
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    return body, headers


class BodyTooLarge(Exception):
    pass


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
        method, path = scope["method"], scope["path"]

        async def reply(status: int, code: str, title: str, detail: str) -> None:
            body, hdrs = _problem(status, code, title, detail, request_id, path)
            status_holder["status"] = status
            await send({"type": "http.response.start", "status": status, "headers": hdrs})
            await send({"type": "http.response.body", "body": body})

        if method in ("POST", "PUT", "PATCH"):
            length = headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body:
                await reply(
                    413,
                    "payload_too_large",
                    "Payload too large",
                    f"the body exceeds the limit of {self.max_body} bytes",
                )
                self._done(scope, method, status_holder, started)
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
                self._done(scope, method, status_holder, started)
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge
            return message

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_wrapper)
        except BodyTooLarge:
            await reply(
                413,
                "payload_too_large",
                "Payload too large",
                f"the body exceeds the limit of {self.max_body} bytes",
            )
        finally:
            self._done(scope, method, status_holder, started)

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
