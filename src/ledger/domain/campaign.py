"""The campaign: its plan, status machine, budget, KPI targets and performance records.

Status machine: draft -> active <-> paused -> completed | cancelled (cancel also from
draft). Budget, KPI targets and channels change only while draft, active or paused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ledger.domain.base import LedgerAggregate
from ledger.values import CampaignStatus as Status

OPEN_STATUSES = frozenset({Status.DRAFT, Status.ACTIVE, Status.PAUSED})
TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "launch": (frozenset({Status.DRAFT}), Status.ACTIVE),
    "pause": (frozenset({Status.ACTIVE}), Status.PAUSED),
    "resume": (frozenset({Status.PAUSED}), Status.ACTIVE),
    "complete": (frozenset({Status.ACTIVE, Status.PAUSED}), Status.COMPLETED),
    "cancel": (OPEN_STATUSES, Status.CANCELLED),
}


@dataclass
class CampaignState:
    organization_id: UUID
    name: str
    objective: str
    channels: list[str]
    budget: dict[str, Any]
    kpi_targets: list[dict[str, Any]]
    status: Status = Status.DRAFT
    performance: list[dict[str, Any]] = field(default_factory=list)
    # Each launch and budget change, for the manager's allowance (ledger.policy.limits).
    commitments: list[dict[str, Any]] = field(default_factory=list)

    def commit(self, event: Any, budget_from: dict[str, Any] | None) -> None:
        self.commitments.append(
            {
                "at": event.timestamp,
                "role": event.role,
                "draft": budget_from is not None and self.status == "draft",
                "from": budget_from,
                "to": dict(self.budget),
                "used": event.allowance_used,
            }
        )


class Campaign(LedgerAggregate):
    state: CampaignState = field(init=False)

    class Planned(LedgerAggregate.Created):
        name: str
        objective: str
        channels: list[str]
        budget: dict[str, Any]
        kpi_targets: list[dict[str, Any]]

        def apply(self, aggregate: Any) -> None:
            aggregate.state = CampaignState(
                organization_id=self.organization_id,
                name=self.name,
                objective=self.objective,
                channels=list(self.channels),
                budget=dict(self.budget),
                kpi_targets=list(self.kpi_targets),
            )

    class Executed(LedgerAggregate.Event):
        """Base of every execution: it may cite the recommendation it carries out."""

        implements: dict[str, Any] | None
        deviation_reason: str | None
        note: str | None

    class StatusChanged(Executed):
        status_from: str
        status_to: str

        def apply(self, aggregate: Any) -> None:
            aggregate.state.status = Status(self.status_to)

    class Launched(StatusChanged):
        """``authority`` and ``allowance_used`` were added by ADR 0012 (older: None)."""

        authority: str | None = None
        allowance_used: str | None = None

        def apply(self, aggregate: Any) -> None:
            aggregate.state.commit(self, None)
            super().apply(aggregate)

    class Paused(StatusChanged):
        pass

    class Resumed(StatusChanged):
        pass

    class Completed(StatusChanged):
        pass

    class Cancelled(StatusChanged):
        pass

    class BudgetAdjusted(Executed):
        """Version 2 added ``authority`` and ``allowance_used`` (ADR 0012); a version 1
        event reads with None for both."""

        class_version = 2

        budget_from: dict[str, Any]
        budget_to: dict[str, Any]
        authority: str | None = None
        allowance_used: str | None = None

        def apply(self, aggregate: Any) -> None:
            aggregate.state.budget = dict(self.budget_to)
            aggregate.state.commit(self, dict(self.budget_from))

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["authority"] = None
            state["allowance_used"] = None

    class KpiTargetsSet(Executed):
        targets_from: list[dict[str, Any]]
        targets_to: list[dict[str, Any]]

        def apply(self, aggregate: Any) -> None:
            aggregate.state.kpi_targets = list(self.targets_to)

    class ChannelsChanged(Executed):
        channels_from: list[str]
        channels_to: list[str]

        def apply(self, aggregate: Any) -> None:
            aggregate.state.channels = list(self.channels_to)

    class PerformanceRecorded(LedgerAggregate.Event):
        period_start: str
        period_end: str
        spend: dict[str, Any]
        impressions: int
        clicks: int
        conversions: int
        revenue: dict[str, Any]
        corrects_version: int | None

        def apply(self, aggregate: Any) -> None:
            aggregate.state.performance.append(
                {
                    "version": self.originator_version,
                    "period_start": self.period_start,
                    "period_end": self.period_end,
                    "spend": self.spend,
                    "impressions": self.impressions,
                    "clicks": self.clicks,
                    "conversions": self.conversions,
                    "revenue": self.revenue,
                    "corrects_version": self.corrects_version,
                }
            )


STATUS_EVENTS: dict[str, type[Campaign.StatusChanged]] = {
    "launch": Campaign.Launched,
    "pause": Campaign.Paused,
    "resume": Campaign.Resumed,
    "complete": Campaign.Completed,
    "cancel": Campaign.Cancelled,
}
