"""Dependencies every route shares: the ledger, the command runner, the acting identity,
request headers.

The ones that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency in its thread
pool, one hop (and a wake-up of the event loop) per dependency per request. Only
``get_actor`` reads the key store and stays a thread-pool call."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request

from api.http.problems import ApiError
from api.http.runner import CommandRunner
from api.keys import KeyStore
from ledger.application.service import Ledger
from ledger.identity import Actor

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:\-]{1,255}$")
# A strong entity-tag, a quoted string (RFC 9110 §8.8.3), of a version from 1 to 10^12, the
# largest a command may expect (ledger.commands.Version); or "*". The OpenAPI document shows
# this pattern and the server enforces it alone.
IF_MATCH = re.compile(r'^(\*|"([1-9][0-9]{0,11}|1000000000000)")$')
BEARER = {"WWW-Authenticate": 'Bearer realm="ledger"'}


async def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


async def get_runner(request: Request) -> CommandRunner:
    runner: CommandRunner = request.app.state.runner
    return runner


async def get_keys(request: Request) -> KeyStore:
    keys: KeyStore = request.app.state.keys
    return keys


def unauthorized(detail: str) -> ApiError:
    return ApiError(401, "unauthorized", "Unauthorized", detail, BEARER)


def get_actor(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer <API key>")] = None,
) -> Actor:
    """The authenticated actor; every authenticator configured is tried in turn."""
    if not authorization:
        raise unauthorized("an Authorization: Bearer <API key> header is required")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("the Authorization header must be 'Bearer <API key>'")
    for authenticator in request.app.state.authenticators:
        actor: Actor | None = authenticator.authenticate(token.strip())
        if actor is not None:
            request.state.actor_id = str(actor.actor_id)
            return actor
    raise unauthorized("the API key is unknown or revoked")


async def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description=(
                "Retries with the same key and body replay the first response; at most 255 of "
                "A-Z a-z 0-9 . _ : -"
            ),
        ),
    ] = None,
) -> str | None:
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise ApiError(
            400,
            "malformed_idempotency_key",
            "Malformed Idempotency-Key",
            "the Idempotency-Key must be 1-255 characters of A-Z a-z 0-9 . _ : -",
        )
    return key


async def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description=('The ETag of the aggregate this command expects, e.g. "3"'),
        ),
    ] = None,
) -> int | None:
    if if_match is None:
        return None
    # ASCII digits only: re's [0-9] (unlike str.isdigit()) takes no "²", which int() refuses
    match = IF_MATCH.fullmatch(if_match.strip())
    if match is None:
        raise ApiError(
            400,
            "malformed_if_match",
            "Malformed If-Match",
            'If-Match must be an ETag returned by this API, quoted, e.g. "3"',
        )
    return None if match[2] is None else int(match[2])


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
RunnerDep = Annotated[CommandRunner, Depends(get_runner)]
ActorDep = Annotated[Actor, Depends(get_actor)]
KeysDep = Annotated[KeyStore, Depends(get_keys)]
IdempotencyKeyDep = Annotated[str | None, Depends(idempotency_key)]
ExpectedVersionDep = Annotated[int | None, Depends(expected_version)]
