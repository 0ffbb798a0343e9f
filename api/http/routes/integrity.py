"""Tamper evidence over HTTP: public keys, checkpoints, consistency and inclusion proofs,
receipts, full verification and audit bundles."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api.http.commanding import COMMAND_ERRORS
from api.http.deps import ActorDep, LedgerDep
from api.http.problems import ApiError
from api.http.read_schemas import ReceiptOut, VerifyOut
from api.http.times import FORMS, TimeText, period
from ledger.application.reads import Reader
from ledger.errors import NotFound
from ledger.identity import Actor
from ledger.integrity.bundle_export import export_bundle
from ledger.integrity.notary import Notary, b64, json_checkpoint
from ledger.integrity.verify import verify
from ledger.periods import ordered
from ledger.policy.reads import may_sign_checkpoint, read_scope
from ledger.policy.table import Read

router = APIRouter(prefix="/v1", tags=["integrity"])
MAX_POSITION = 2**63 - 1
ERRORS: dict[int | str, dict[str, Any]] = {
    k: v for k, v in COMMAND_ERRORS.items() if k in (400, 401, 403, 404, 422, 500, 503)
}


def notary(request: Request) -> Notary:
    found: Notary = request.app.state.notary
    return found


@router.get("/integrity/keys", summary="Every public key that signed checkpoints")
def public_keys(request: Request) -> dict[str, Any]:
    ring = notary(request).keyring
    return {"signing_key_id": ring.signing.key_id, "keys": ring.public_pems()}


@router.get(
    "/integrity/checkpoints/latest", responses=ERRORS, summary="The latest signed tree head"
)
def latest_checkpoint(request: Request, actor: ActorDep) -> dict[str, Any]:
    latest = notary(request).latest()
    if latest is None:
        raise NotFound("no checkpoint has been issued yet")
    return json_checkpoint(latest)


@router.post(
    "/integrity/checkpoints",
    responses=ERRORS,
    status_code=201,
    summary="Sign the current tree head now",
)
def issue_checkpoint(request: Request, actor: ActorDep) -> dict[str, Any]:
    may_sign_checkpoint(actor)
    return json_checkpoint(notary(request).issue_checkpoint())


@router.get(
    "/integrity/consistency",
    responses=ERRORS,
    summary="Proof that the tree of size `from` is a prefix of the tree of size `to`",
)
def consistency(
    request: Request,
    actor: ActorDep,
    old: Annotated[int, Query(alias="from", ge=0, le=MAX_POSITION)],
    new: Annotated[int, Query(alias="to", ge=0, le=MAX_POSITION)],
) -> dict[str, Any]:
    ordered(old, new)
    n = notary(request)
    if new > n.tree_size():
        raise ApiError(
            422,
            "invalid_request",
            "Invalid request",
            "need 0 <= from <= to <= the current tree size",
        )
    return {"from": old, "to": new, "proof": [b64(h) for h in n.consistency(old, new)]}


def _require_visible(ledger: Any, actor: Actor, position: int) -> None:
    found = ledger.recorder.select_notifications(position, 1, stop=position)
    if not found:
        raise NotFound("event not found", position=position)
    n = found[0]
    event = ledger.mapper.to_domain_event(
        StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
    )
    Reader(ledger).history_check(actor, event.originator_id, position)


@router.get(
    "/receipts",
    responses=ERRORS,
    response_model_exclude_unset=True,  # no inclusion_proof while pending, as the notary gives
    summary="A receipt for stored events: what they prove, leaf hashes now, inclusion proofs "
    "once a checkpoint covers them",
)
def receipt(
    request: Request,
    ledger: LedgerDep,
    actor: ActorDep,
    position: Annotated[list[int], Query(min_length=1, max_length=50)],
) -> ReceiptOut:
    for p in position:
        if not 1 <= p <= MAX_POSITION:
            raise NotFound("event not found", position=p)
        _require_visible(ledger, actor, p)
    return ReceiptOut.model_validate(notary(request).receipt(position))


def _require_auditor(ledger: Any, actor: Actor, organization_id: UUID) -> None:
    read_scope(Reader(ledger).organization(actor, organization_id), actor, Read.VERIFY)


@router.get(
    "/organizations/{organization_id}/integrity/verify",
    responses=ERRORS,
    summary="Recompute the whole log and check every checkpoint; count the organization's "
    "events (auditors)",
)
def verify_log(
    request: Request,
    ledger: LedgerDep,
    actor: ActorDep,
    organization_id: Annotated[UUID, PathParam()],
) -> VerifyOut:
    _require_auditor(ledger, actor, organization_id)
    n = notary(request)
    keys = dict(n.keyring.public_keys())
    report = verify(ledger, n.checkpoints(), keys, organization_id=organization_id)
    return VerifyOut(
        ok=report.ok,
        events=report.organization_events or 0,
        log_events=report.events,
        checkpoints=report.checkpoints,
        findings=[str(f) for f in report.findings],
    )


@router.get(
    "/organizations/{organization_id}/integrity/bundle",
    responses={
        **ERRORS,
        200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
    },
    response_class=FileResponse,
    summary="An offline-verifiable audit bundle of the organization's events",
)
def bundle(
    request: Request,
    ledger: LedgerDep,
    actor: ActorDep,
    organization_id: Annotated[UUID, PathParam()],
    start: Annotated[
        TimeText, Query(alias="from", description=f"Recorded at or after this time. {FORMS}")
    ] = None,
    end: Annotated[
        TimeText, Query(alias="to", description=f"Recorded before this time. {FORMS}")
    ] = None,
) -> FileResponse:
    _require_auditor(ledger, actor, organization_id)
    first, last = period(start, end, ("from", "to"))
    folder = Path(tempfile.mkdtemp(prefix="ledger-bundle-"))
    path = folder / f"bundle-{organization_id}.zip"
    export_bundle(ledger, notary(request), path, organization_id, first, last)

    def cleanup() -> None:
        path.unlink(missing_ok=True)
        folder.rmdir()

    return FileResponse(
        path, media_type="application/zip", filename=path.name, background=BackgroundTask(cleanup)
    )
