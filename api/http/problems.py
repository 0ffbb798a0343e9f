"""The one place where errors become HTTP answers: RFC 9457 problem+json with a stable code.

not found 404, forbidden 403, rule violation or conflict 409, invalid input 422, store
unavailable 503 with Retry-After, anything else 500 with the request id and no internals.

Every problem document is built by :func:`document` (through :func:`answer`), whether a
route's exception handler answers or the middleware does before any route runs. The one 500
path is the edge middleware (``api.http.middleware``): it wraps every route, so an exception
no handler here maps reaches it first; it logs the traceback and answers
:func:`internal_error`. No ``Exception`` handler is installed here: Starlette would run it
outside the middleware, after the middleware had already answered.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import psycopg
import psycopg_pool
import structlog
from eventsourcing import persistence as es_persistence
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger import errors as e
from ledger.jsonready import jsonable
from ledger.periods import InvalidTime, ReversedPeriod
from projections.errors import InvalidQuery, ProjectionError, ProjectionNotReady, UnknownProjection

UNAVAILABLE: tuple[type[Exception], ...] = (
    es_persistence.OperationalError,
    es_persistence.InterfaceError,
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
    sqlite3.OperationalError,
)

log = structlog.get_logger("api.http.problems")
MEDIA_TYPE = "application/problem+json"

PROJECTION_STATUS: list[tuple[type[ProjectionError], int, str]] = [
    (ProjectionNotReady, 503, "projections_not_ready"),
    (InvalidQuery, 400, "invalid_query"),
    (UnknownProjection, 404, "not_found"),
]

STATUS: list[tuple[type[e.LedgerError], int]] = [
    (e.NotFound, 404),
    (e.Forbidden, 403),
    (e.IdempotencyKeyReused, 422),
    (e.IdempotencyKeyInFlight, 409),
    (e.InvalidCommand, 422),
    (e.RuleViolation, 409),
    (e.Conflict, 409),
    (e.StoreUnavailable, 503),
]


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    context: dict[str, Any] | None = None


class ApiError(Exception):
    """An error of the edge itself, for which the ledger has no class: authentication,
    malformed headers or cursors, the read side not running. Where a ledger error fits (a
    role, an operator flag, something not found), the edge raises that instead."""

    def __init__(
        self, status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = headers or {}


def document(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    request_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The one problem document: every problem+json answer of the API is built here."""
    body = Problem(
        type=f"https://campaign-decision-ledger.dev/problems/{code}",
        title=title,
        status=status,
        detail=detail,
        code=code,
        instance=instance,
        request_id=request_id,
        **extra,
    )
    return body.model_dump(exclude_none=True)


def answer(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    path: str,
    request_id: str | None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response; also an ASGI app, for the middleware that answers before any
    route runs (``await answer(...)(scope, receive, send)``)."""
    return JSONResponse(
        document(status, code, title, detail, instance=path, request_id=request_id, **extra),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def problem(
    request: Request,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """The problem answer to ``request`` (its path and request id)."""
    return answer(
        status,
        code,
        title,
        detail,
        path=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        headers=headers,
        **extra,
    )


def internal_error(path: str, request_id: str) -> JSONResponse:
    """The one 500: the request id to quote, and nothing of the failure itself."""
    return answer(
        500,
        "internal_error",
        "Internal error",
        "an unexpected error occurred; quote the request id when reporting it",
        path=path,
        request_id=request_id,
    )


def status_of(error: e.LedgerError) -> int:
    for cls, status in STATUS:
        if isinstance(error, cls):
            return status
    return 500


def projection_status_of(error: ProjectionError) -> tuple[int, str]:
    for cls, status, code in PROJECTION_STATUS:
        if isinstance(error, cls):
            return status, code
    return 500, "internal_error"


def install(app: FastAPI) -> None:
    @app.exception_handler(e.LedgerError)
    async def ledger_error(request: Request, exc: e.LedgerError) -> JSONResponse:
        status = status_of(exc)
        headers = {"Retry-After": "1"} if status == 503 else None
        context = jsonable(exc.context)
        return problem(
            request, status, exc.code, exc.title, exc.detail, headers, context=context or None
        )

    @app.exception_handler(ProjectionError)
    async def projection_error(request: Request, exc: ProjectionError) -> JSONResponse:
        status, code = projection_status_of(exc)
        headers = {"Retry-After": "2"} if status == 503 else None
        return problem(
            request, status, code, exc.code.replace("_", " ").capitalize(), str(exc), headers
        )

    @app.exception_handler(ReversedPeriod)
    async def reversed_period(request: Request, exc: ReversedPeriod) -> JSONResponse:
        return problem(request, 400, "reversed_period", "Reversed period", str(exc))

    @app.exception_handler(InvalidTime)
    async def invalid_time(request: Request, exc: InvalidTime) -> JSONResponse:
        return problem(
            request,
            400,
            "invalid_query",
            "Invalid query",
            str(exc),
            context={"parameter": exc.name},
        )

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem(request, exc.status, exc.code, exc.title, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_clean(err) for err in exc.errors()]
        if any(err.get("type") == "json_invalid" for err in errors):
            return problem(
                request,
                400,
                "malformed_json",
                "Malformed JSON",
                "the request body is not valid JSON",
                errors=errors,
            )
        if errors and all(err["loc"][:1] == ["query"] for err in errors):
            return invalid_query(request, exc.errors(), errors)
        floats = [err for err in errors if "never a float" in str(err.get("msg", ""))]
        code = "float_money_refused" if floats else "invalid_request"
        return problem(
            request,
            422,
            code,
            "Invalid request",
            "the request does not match the documented schema",
            errors=errors,
        )

    @app.exception_handler(ValidationError)
    async def invalid_command(request: Request, exc: ValidationError) -> JSONResponse:
        errors = [_clean(err) for err in exc.errors()]
        reason = errors[0]["msg"].removeprefix("Value error, ") if errors else "invalid"
        return problem(
            request,
            422,
            "invalid_command",
            "Invalid command",
            f"the command is not valid: {reason}",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {
            400: "malformed_json",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
            415: "unsupported_media_type",
        }
        code = codes.get(exc.status_code, f"http_{exc.status_code}")
        headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() != "allow"}
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request.url.path))
        return problem(request, exc.status_code, code, str(exc.detail), str(exc.detail), headers)

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("store unavailable", error=type(exc).__name__)
        return problem(
            request,
            503,
            "store_unavailable",
            "Event store unavailable",
            "the store cannot be reached; retry shortly",
            {"Retry-After": "1"},
        )

    for cls in UNAVAILABLE:
        app.add_exception_handler(cls, unavailable)


def invalid_query(request: Request, raw: Any, errors: list[dict[str, Any]]) -> JSONResponse:
    """400 ``invalid_query``: a query parameter FastAPI could not read as declared (an
    enumerated filter's unknown value, a number that is not one, a required one missing);
    ``detail`` names each parameter, what was sent and what is allowed."""
    parts = []
    for err, clean in zip(raw, errors, strict=True):
        name = clean["loc"][1] if len(clean["loc"]) > 1 else "query"
        sent = err.get("input")
        shown = "" if not isinstance(sent, str) else f"={sent[:64]!r}"
        parts.append(f"{name}{shown}: {clean['msg']}")
    return problem(request, 400, "invalid_query", "Invalid query", "; ".join(parts), errors=errors)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method any route offers on ``path`` (routes may live in several routers)."""
    methods: set[str] = set()
    for template, ops in app.openapi()["paths"].items():
        pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {m.upper() for m in ops}
    return sorted(methods)


def _clean(err: Any) -> dict[str, Any]:
    """A validation error without the raw input echo or internals."""
    out = {
        "loc": [str(p) for p in err.get("loc", ())],
        "msg": str(err.get("msg", "")),
        "type": str(err.get("type", "")),
    }
    return out
