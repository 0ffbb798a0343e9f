"""What a handler works with: the repository, the actor, the clock, and the envelope."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ledger.domain.agency import Agency
from ledger.domain.base import Envelope, LedgerAggregate
from ledger.domain.organization import Organization
from ledger.errors import NotFound, VersionConflict
from ledger.identity import Actor
from ledger.policy.table import party_of
from ledger.values import Role

A = TypeVar("A", bound=LedgerAggregate)


class AggregateSource(Protocol):
    """Where handlers load aggregates from: the repository, or a batch's view of it."""

    def get(self, aggregate_id: UUID) -> Any: ...


@dataclass
class Outcome:
    """What a handler changed: the aggregate the command targeted, and any others to save
    in the same transaction."""

    primary: LedgerAggregate
    others: list[LedgerAggregate] = field(default_factory=list)
    created: bool = False
    resource_id: UUID | None = None  # the created resource when it is not an aggregate


@dataclass
class Context:
    repository: AggregateSource
    actor: Actor
    now: datetime
    correlation_id: str
    causation_id: str | None = None
    expect_id: UUID | None = None
    expect_version: int | None = None
    loaded: dict[UUID, int] = field(default_factory=dict)

    def load(self, cls: type[A], ident: UUID, what: str) -> A:
        """The aggregate, or NotFound when missing or of another type."""
        try:
            aggregate: object = self.repository.get(ident)
        except AggregateNotFoundError:
            raise NotFound(f"{what} not found", **{f"{what}_id": ident}) from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"{what} not found", **{f"{what}_id": ident})
        expected = self.expect_version
        if ident == self.expect_id and expected is not None and aggregate.version != expected:
            raise VersionConflict(
                "the aggregate has moved on from the expected version",
                aggregate_id=ident,
                expected_version=expected,
                current_version=aggregate.version,
            )
        self.loaded[ident] = aggregate.version
        return aggregate

    def organization(
        self, ident: UUID, what: str = "organization", of: UUID | None = None
    ) -> Organization:
        try:
            return self.load(Organization, ident, "organization")
        except NotFound:
            raise NotFound(f"{what} not found", **{f"{what}_id": of or ident}) from None

    def agency(self, ident: UUID) -> Agency | None:
        """The registered agency, or None when the id names none (an engagement may name an
        agency that was never registered: ADR 0016)."""
        try:
            return self.load(Agency, ident, "agency")
        except NotFound:
            return None

    def envelope(
        self, organization_id: UUID, role: Role, engagement_id: UUID | None = None
    ) -> Envelope:
        return Envelope(
            actor_id=self.actor.actor_id,
            role=role.value,
            party=party_of(role).value,
            organization_id=organization_id,
            correlation_id=self.correlation_id,
            engagement_id=engagement_id,
            causation_id=self.causation_id,
            at=self.now,
        )


Handler = Callable[[Context, object], Outcome]
