"""One factory turns a ledger command into a documented POST route.

Every route: authenticates, builds the strict command from the path, the body and the
If-Match header, runs it through the injected command runner (``api.http.runner``, built
once in the lifespan) with the Idempotency-Key and the request id as correlation id, and
answers 201 with Location (a new resource) or 200, with the version as ETag.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse

from api.http.deps import ActorDep, ExpectedVersionDep, IdempotencyKeyDep, RunnerDep
from api.http.problems import Problem
from api.http.schemas import CommandAccepted, body_of, build
from ledger import commands as c
from ledger.application.results import CommandResult

PROBLEM = {"model": Problem, "content": {"application/problem+json": {}}}
COMMAND_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**PROBLEM, "description": "Malformed JSON or header"},
    401: {**PROBLEM, "description": "Missing, malformed, unknown or revoked API key"},
    403: {**PROBLEM, "description": "The actor lacks the decision right; the code names the rule"},
    404: {**PROBLEM, "description": "No such resource, or not visible to this actor"},
    409: {
        **PROBLEM,
        "description": "Rule violation, version or revision conflict, or the "
        "same Idempotency-Key still in flight",
    },
    413: {**PROBLEM, "description": "Body over the documented limit"},
    415: {**PROBLEM, "description": "Body is not application/json"},
    422: {
        **PROBLEM,
        "description": "Invalid input, or an Idempotency-Key reused with another body",
    },
    500: {**PROBLEM, "description": "Unexpected error; quote the request id"},
    503: {
        **PROBLEM,
        "description": "Event store unreachable (`store_unavailable`) or the worker is "
        "overloaded (`overloaded`); nothing was recorded: retry after Retry-After",
    },
}


def respond(
    result: CommandResult, location: str | None, path: dict[str, Any] | None = None
) -> JSONResponse:
    status = 201 if result.created else 200
    headers = {"ETag": f'"{result.version}"', "X-Ledger-Position": str(result.position)}
    if result.created and location:
        ident = result.resource_id or result.aggregate_id
        headers["Location"] = location.format(**(path or {}), id=ident)
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result.as_dict(), status_code=status, headers=headers)


def add_command(
    router: APIRouter,
    path: str,
    command: type[c.Command],
    *,
    path_fields: tuple[str, ...],
    summary: str,
    location: str | None = None,
    example: dict[str, Any] | None = None,
) -> None:
    """Register ``POST path`` for ``command``; ``path_fields`` name the path parameters."""
    body_model = body_of(command, *path_fields, example=example)
    has_body = bool(body_model.model_fields)

    def endpoint(
        request: Request,
        runner: RunnerDep,
        actor: ActorDep,
        key: IdempotencyKeyDep,
        expected: ExpectedVersionDep = None,
        **kwargs: Any,
    ) -> JSONResponse:
        body = kwargs.pop("body", None)
        server = {**kwargs}
        if expected is not None:
            server["expected_version"] = expected
        cmd = build(command, body, **server)
        result = runner.run(
            cmd, actor, correlation_id=request.state.request_id, idempotency_key=key
        )
        return respond(result, location, kwargs)

    params = list(inspect.signature(endpoint).parameters.values())[:-1]
    if command.creates:  # nothing to expect a version of yet: no If-Match
        params = [p for p in params if p.name != "expected"]
    for name in path_fields:
        params.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[UUID, Path()]
            )
        )
    if has_body:
        params.append(
            inspect.Parameter(
                "body", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[body_model, Body()]
            )
        )
    else:  # no fields: an empty object or no body; anything else is refused
        params.append(
            inspect.Parameter(
                "body",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[body_model | None, Body()],
                default=None,
            )
        )
    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    endpoint.__name__ = command.__name__
    status = 201 if command.creates else 200
    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        summary=summary,
        status_code=status,
        response_model=CommandAccepted,
        operation_id=_snake(command.__name__),
        description=(command.__doc__ or summary).strip(),
        responses={
            status: {
                "description": "Accepted; ETag is the new version",
                "headers": _headers(location is not None),
            },
            **COMMAND_ERRORS,
        },
    )


def _headers(created: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ETag": {"description": "The aggregate's version", "schema": {"type": "string"}},
        "X-Ledger-Position": {"description": "Log position", "schema": {"type": "integer"}},
        "X-Request-ID": {"description": "The request id", "schema": {"type": "string"}},
    }
    if created:
        out["Location"] = {"description": "The new resource", "schema": {"type": "string"}}
    return out


def _snake(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name).lstrip("_")
