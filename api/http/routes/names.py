"""The name directory: display names for actors, organizations and agencies, kept beside
the event log (personal data, not evidence; ADR 0015). Setting, reading the history of and
erasing a name are the operator's for any id, and an admin's for its organization's members
(``?organization_id=``); reading one name is for whoever sees a record naming the id."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request

from api.http.commanding import COMMAND_ERRORS
from api.http.deps import ActorDep
from api.http.naming import named
from api.http.schemas import NameBody, NameChangeOut, NameHistoryOut, NameOut
from ledger.application.names import Directory
from ledger.jsonready import jsonable
from ledger.names import SetName

router = APIRouter(prefix="/v1/names", tags=["names"])
ERRORS: dict[int | str, dict[str, Any]] = {
    k: v for k, v in COMMAND_ERRORS.items() if k in (400, 401, 403, 404, 409, 422, 500, 503)
}
Subject = Annotated[UUID, Path(description="The id named: an actor, organization or agency")]
OrgQuery = Annotated[
    UUID | None,
    Query(description="The organization you act in as its admin (or read as one who sees it)"),
]
VIA = "api"


def directory(request: Request) -> Directory:
    found: Directory = request.app.state.directory
    return found


def _out(value: Any) -> Any:
    return named(jsonable(dataclasses.asdict(value)))


@router.put("/{subject_id}", responses=ERRORS, summary="Set the display name of an id")
def set_name(
    request: Request,
    actor: ActorDep,
    subject_id: Subject,
    body: NameBody,
    organization_id: OrgQuery = None,
) -> NameChangeOut:
    command = SetName(subject_id=subject_id, kind=body.kind, name=body.name)
    change = directory(request).set(actor, command, organization_id, VIA)
    return NameChangeOut.model_validate(_out(change))


@router.get("/{subject_id}", responses=ERRORS, summary="The display name of an id, now")
def get_name(
    request: Request, actor: ActorDep, subject_id: Subject, organization_id: OrgQuery = None
) -> NameOut:
    entry = directory(request).show(actor, subject_id, organization_id)
    return NameOut.model_validate(_out(entry))


@router.get("/{subject_id}/history", responses=ERRORS, summary="Who set which name of an id, when")
def name_history(
    request: Request, actor: ActorDep, subject_id: Subject, organization_id: OrgQuery = None
) -> NameHistoryOut:
    changes = directory(request).history(actor, subject_id, organization_id)
    body = {"subject_id": str(subject_id), "changes": [dataclasses.asdict(c) for c in changes]}
    return NameHistoryOut.model_validate(named(jsonable(body)))


@router.delete(
    "/{subject_id}",
    responses=ERRORS,
    summary="Erase the name of an id and every trace of it in the history",
)
def erase_name(
    request: Request, actor: ActorDep, subject_id: Subject, organization_id: OrgQuery = None
) -> NameChangeOut:
    change = directory(request).erase(actor, subject_id, organization_id, VIA)
    return NameChangeOut.model_validate(_out(change))
