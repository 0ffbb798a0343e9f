"""A consultant's recommendation, its revisions, and the client's decisions on them.

pending -> (amended -> pending at a new revision) -> approved | approved_with_changes |
rejected | withdrawn | expired | awaiting_executive -> approved | rejected; an approved one
becomes implemented when an execution carries it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.domain.base import LedgerAggregate
from ledger.values import RecommendationStatus as Status

DECIDABLE = frozenset({Status.PENDING, Status.AWAITING_EXECUTIVE})
APPROVED = frozenset({Status.APPROVED, Status.APPROVED_WITH_CHANGES})


def status_at(status: str, expires_at: datetime, now: datetime) -> str:
    """The status as read at ``now``: an undecided recommendation is ``expired`` from the
    instant its expiry passes, before any ``Expired`` event is recorded."""
    return Status.EXPIRED if status in DECIDABLE and now >= expires_at else status


@dataclass
class Revision:
    number: int
    change: dict[str, Any]
    rationale: str
    evidence: list[str]
    expected_impact: str
    expires_at: datetime
    recorded_at: datetime


@dataclass
class RecommendationState:
    organization_id: UUID
    engagement_id: UUID
    campaign_id: UUID | None
    author_id: UUID
    kind: str
    revisions: list[Revision]
    status: Status = Status.PENDING
    approved_change: dict[str, Any] | None = None
    approved_revision: int | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def current(self) -> Revision:
        return self.revisions[-1]


class Recommendation(LedgerAggregate):
    state: RecommendationState = field(init=False)

    class Recommended(LedgerAggregate.Created):
        """Version 2 added ``evidence``; a version 1 event reads as having none."""

        class_version = 2

        campaign_id: UUID | None
        kind: str
        change: dict[str, Any]
        rationale: str
        evidence: list[str]
        expected_impact: str
        expires_at: datetime

        def apply(self, aggregate: Any) -> None:
            assert self.engagement_id is not None
            aggregate.state = RecommendationState(
                organization_id=self.organization_id,
                engagement_id=self.engagement_id,
                campaign_id=self.campaign_id,
                author_id=self.actor_id,
                kind=self.kind,
                revisions=[
                    Revision(
                        1,
                        self.change,
                        self.rationale,
                        list(self.evidence),
                        self.expected_impact,
                        self.expires_at,
                        self.timestamp,
                    )
                ],
            )

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["evidence"] = []

    class Amended(LedgerAggregate.Event):
        revision: int
        change: dict[str, Any]
        rationale: str
        evidence: list[str]
        expected_impact: str
        expires_at: datetime

        def apply(self, aggregate: Any) -> None:
            aggregate.state.revisions.append(
                Revision(
                    self.revision,
                    self.change,
                    self.rationale,
                    list(self.evidence),
                    self.expected_impact,
                    self.expires_at,
                    self.timestamp,
                )
            )
            aggregate.state.status = Status.PENDING

    class Decided(LedgerAggregate.Event):
        """Base of every answer to a named revision."""

        revision: int

        def apply(self, aggregate: Any) -> None:
            s: RecommendationState = aggregate.state
            s.status = self.status_after()
            s.decisions.append(
                {
                    "type": type(self).__name__,
                    "revision": self.revision,
                    "actor_id": str(self.actor_id),
                    "role": self.role,
                    "at": self.timestamp.isoformat(),
                    "status": s.status,
                }
            )
            self.record_values(s)

        def status_after(self) -> Status:
            raise NotImplementedError

        def record_values(self, state: RecommendationState) -> None:
            """Decision-specific state beyond the status."""

    class Approved(Decided):
        approved_change: dict[str, Any]
        awaiting_executive: bool
        note: str | None

        def status_after(self) -> Status:
            return Status.AWAITING_EXECUTIVE if self.awaiting_executive else Status.APPROVED

        def record_values(self, state: RecommendationState) -> None:
            state.approved_change = self.approved_change
            state.approved_revision = self.revision

    class ApprovedWithChanges(Approved):
        def status_after(self) -> Status:
            return (
                Status.AWAITING_EXECUTIVE
                if self.awaiting_executive
                else Status.APPROVED_WITH_CHANGES
            )

    class Rejected(Decided):
        reason_code: str
        reason_text: str

        def status_after(self) -> Status:
            return Status.REJECTED

    class Escalated(Decided):
        note: str | None

        def status_after(self) -> Status:
            return Status.AWAITING_EXECUTIVE

    class Withdrawn(Decided):
        reason: str

        def status_after(self) -> Status:
            return Status.WITHDRAWN

    class Expired(Decided):
        def status_after(self) -> Status:
            return Status.EXPIRED

    class Implemented(LedgerAggregate.Event):
        revision: int
        campaign_id: UUID | None
        execution: dict[str, Any] | None
        as_approved: bool
        deviation_reason: str | None
        note: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.state.status = Status.IMPLEMENTED
