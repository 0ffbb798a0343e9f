"""Input and output schemas of the HTTP API.

Request bodies are derived from the ledger's commands, minus what the path, the headers and
the server decide (ids in the path, the expected version from If-Match); an unknown field,
including any attempt to set the actor, role, organization, time, version or position, is
refused with 422. The strict command is then built from the body and the path.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, Strict, create_model
from pydantic.fields import FieldInfo

from api.http.read_schemas import NAME
from ledger import commands as c
from ledger.names import DisplayName, NameAction, NameKind

SERVER_FIELDS = ("expected_version",)


def body_of(
    command: type[c.Command], *path_fields: str, example: dict[str, Any] | None = None
) -> type[BaseModel]:
    """The request body model of ``command``: its fields less path and server fields."""
    fields: dict[str, Any] = {
        name: (info.annotation, _strict_numbers(info))
        for name, info in command.model_fields.items()
        if name not in path_fields and name not in SERVER_FIELDS
    }
    model: type[BaseModel] = create_model(
        f"{command.__name__}Body",
        __config__=ConfigDict(
            extra="forbid",
            frozen=True,
            json_schema_extra=({"examples": [example]} if example is not None else None),
        ),
        __doc__=command.__doc__ or f"The body of {command.__name__}.",
        **fields,
    )
    return model


def _strict_numbers(info: FieldInfo) -> FieldInfo:
    """Whole numbers (revisions, counts) and flags arrive as JSON numbers and booleans: no
    "2" for 2, no true for 1, no 10.0 for 10."""
    if info.annotation in (int, bool, int | None, bool | None):
        strict = copy.copy(info)
        strict.metadata = [*info.metadata, Strict()]
        return strict
    return info


def build(command: type[c.Command], body: BaseModel | None, **server: Any) -> c.Command:
    """The strict command from the validated body and what the path and headers say."""
    data = body.model_dump() if body is not None else {}
    return command.model_validate({**data, **server})


class EventRefOut(BaseModel):
    event_id: str
    aggregate_id: str
    version: int
    type: str
    position: int


class CommandAccepted(BaseModel):
    """What an accepted command changed and where it sits in the log."""

    command: str
    aggregate_type: str
    aggregate_id: str
    resource_id: str = Field(description="The resource created or changed")
    version: int = Field(description="The aggregate's version after the command (its ETag)")
    position: int = Field(description="Log position; pass it as ?after= to read your writes")
    created: bool
    events: list[EventRefOut]


class IssuedKeyOut(BaseModel):
    key_id: str
    actor_id: str
    operator: bool
    label: str
    api_key: str = Field(description="Shown once; only its hash is stored")


class CreateKeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    actor_id: str = Field(pattern=r"^[0-9a-fA-F-]{32,36}$")
    operator: bool = False
    label: str = Field(default="", max_length=200)


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class Envelope(BaseModel):
    actor_id: str
    actor_name: str | None = NAME
    role: str
    party: str
    organization_id: str
    organization_name: str | None = NAME
    engagement_id: str | None
    correlation_id: str
    causation_id: str | None


class StoredEventOut(BaseModel):
    event_id: str
    position: int
    aggregate_id: str
    version: int
    type: str
    topic: str
    recorded_at: str
    envelope: Envelope
    payload: dict[str, Any]


class HistoryOut(BaseModel):
    aggregate_id: str
    events: list[StoredEventOut]


class BudgetOut(BaseModel):
    amount: str
    currency: str
    period: str


class CampaignOut(BaseModel):
    id: str
    organization_id: str
    organization_name: str | None = NAME
    version: int
    name: str
    objective: str
    status: str
    channels: list[str]
    budget: BudgetOut
    kpi_targets: list[dict[str, Any]]
    performance: list[dict[str, Any]]
    created_at: str
    modified_at: str


class RevisionOut(BaseModel):
    number: int
    change: dict[str, Any]
    rationale: str
    evidence: list[str]
    expected_impact: str
    expires_at: str
    recorded_at: str


class RecommendationOut(BaseModel):
    id: str
    organization_id: str
    organization_name: str | None = NAME
    engagement_id: str
    campaign_id: str | None
    author_id: str
    author_name: str | None = NAME
    kind: str
    status: str
    version: int
    current_revision: int
    expires_at: str
    revisions: list[RevisionOut]
    approved_revision: int | None
    approved_change: dict[str, Any] | None
    decisions: list[dict[str, Any]]
    created_at: str
    modified_at: str


class PartyOut(BaseModel):
    """An organization (``kind`` client) or an agency the caller may see."""

    id: str
    kind: str
    version: int
    name: str
    your_roles: list[str]


class PartiesPage(BaseModel):
    items: list[PartyOut]
    next_cursor: str | None = None


class AgencyMemberOut(BaseModel):
    actor_id: str
    actor_name: str | None = None
    roles: list[str]


class AgencyOut(BaseModel):
    id: str
    version: int
    name: str
    your_roles: list[str]
    members: list[AgencyMemberOut] | None = None


class OrganizationOut(BaseModel):
    id: str
    version: int
    name: str
    default_currency: str
    approval_limit: str
    limit_period: str = Field(description="The period the approval limit bounds (ADR 0012)")
    time_zone: str = Field(description="The zone the limit's periods begin in (IANA)")
    your_roles: list[str]
    your_engagements: list[str]
    memberships: list[dict[str, Any]] | None = None
    engagements: list[dict[str, Any]] | None = None


class NameBody(BaseModel):
    """A display name for the id in the path (ADR 0015)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"examples": [{"kind": "actor", "name": "Ada Lovelace"}]},
    )
    kind: NameKind
    name: DisplayName


class NameOut(BaseModel):
    subject_id: str
    kind: NameKind
    name: str
    set_by: str
    set_by_name: str | None = NAME
    set_at: str


class NameChangeOut(BaseModel):
    """One change of a name: both names are null on every line once the name is erased."""

    sequence: int
    subject_id: str
    kind: NameKind
    action: NameAction
    name_from: str | None
    name_to: str | None
    actor_id: str
    actor_name: str | None = NAME
    at: str
    via: str = Field(description="api or cli")


class NameHistoryOut(BaseModel):
    subject_id: str
    changes: list[NameChangeOut]
