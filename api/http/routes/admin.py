"""API keys, managed by platform operators."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from api.http.commanding import COMMAND_ERRORS
from api.http.deps import ActorDep, KeysDep
from api.http.schemas import CreateKeyBody, IssuedKeyOut
from ledger.errors import NotFound, OperatorRequired
from ledger.identity import Actor

router = APIRouter(prefix="/v1/admin", tags=["admin"])
ERRORS: dict[int | str, dict[str, Any]] = {
    k: v for k, v in COMMAND_ERRORS.items() if k in (400, 401, 403, 404, 413, 415, 422, 500, 503)
}


def _operator(actor: Actor) -> None:
    if not actor.operator:
        raise OperatorRequired("only a platform operator manages API keys")


@router.post(
    "/api-keys",
    status_code=201,
    response_model=IssuedKeyOut,
    responses=ERRORS,
    summary="Issue an API key for an actor (shown once)",
)
def create_key(actor: ActorDep, keys: KeysDep, body: CreateKeyBody) -> JSONResponse:
    _operator(actor)
    issued = keys.issue(UUID(body.actor_id), operator=body.operator, label=body.label)
    out = IssuedKeyOut(
        key_id=issued.key_id,
        actor_id=str(issued.actor_id),
        operator=issued.operator,
        label=issued.label,
        api_key=issued.token,
    )
    return JSONResponse(
        out.model_dump(),
        status_code=201,
        headers={"Location": f"/v1/admin/api-keys/{issued.key_id}"},
    )


@router.post("/api-keys/{key_id}/revoke", responses=ERRORS, summary="Revoke an API key")
def revoke_key(
    actor: ActorDep, keys: KeysDep, key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]
) -> dict[str, str]:
    _operator(actor)
    if not keys.revoke(key_id):
        raise NotFound("no active key with this id")
    return {"key_id": key_id, "status": "revoked"}
