"""A small world to run commands in: one organization with every role, an engagement, a
campaign; built through the ledger's own commands, so the set-up obeys the rules it tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from ledger import commands as c
from ledger.application.results import CommandResult
from ledger.application.service import Ledger
from ledger.identity import Actor
from ledger.values import (
    AgencyRole,
    Budget,
    BudgetPeriod,
    Channel,
    MemberRole,
    ProposedChange,
    RecommendationKind,
)


class Clock:
    """A controllable UTC clock that moves forward one millisecond per reading."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self.now += timedelta(milliseconds=1)
            return self.now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self.now += delta


def budget(amount: str, period: str = "monthly", currency: str = "EUR") -> Budget:
    return Budget(amount=Decimal(amount), currency=currency, period=BudgetPeriod(period))


@dataclass
class World:
    ledger: Ledger
    clock: Clock
    operator: Actor = field(default_factory=lambda: Actor(uuid4(), operator=True))
    admin: Actor = field(default_factory=lambda: Actor(uuid4()))
    manager: Actor = field(default_factory=lambda: Actor(uuid4()))
    executive: Actor = field(default_factory=lambda: Actor(uuid4()))
    auditor: Actor = field(default_factory=lambda: Actor(uuid4()))
    integration: Actor = field(default_factory=lambda: Actor(uuid4()))
    consultant: Actor = field(default_factory=lambda: Actor(uuid4()))
    outsider: Actor = field(default_factory=lambda: Actor(uuid4()))
    agency_admin: Actor = field(default_factory=lambda: Actor(uuid4()))
    agency_id: UUID = field(default_factory=uuid4)
    registered_agency_id: UUID | None = None
    org_id: UUID = field(init=False)
    engagement_id: UUID = field(init=False)
    campaign_id: UUID = field(init=False)

    def run(self, actor: Actor, command: c.Command, **kw: Any) -> CommandResult:
        return self.ledger.execute(command, actor, **kw)

    def setup(self, approval_limit: str = "1000") -> World:
        org = self.run(
            self.operator,
            c.CreateOrganization(
                name="Client A", default_currency="EUR", approval_limit=Decimal(approval_limit)
            ),
        )
        self.org_id = org.aggregate_id
        for actor, role in [
            (self.admin, "admin"),
            (self.manager, "manager"),
            (self.executive, "executive"),
            (self.auditor, "auditor"),
            (self.integration, "integration"),
        ]:
            self.run(
                self.operator,
                c.GrantMembership(
                    organization_id=self.org_id,
                    member_id=actor.actor_id,
                    member_role=MemberRole(role),
                ),
            )
        self.engagement_id = self.start_engagement()
        self.campaign_id = self.plan()
        return self

    def agency(self) -> UUID:
        """A registered agency (ADR 0016), made once: ``agency_admin`` leads it and the
        world's consultant is on its roster. The world's own engagement names
        ``agency_id``, an agency never registered, as engagements before ADR 0016 did."""
        if self.registered_agency_id is None:
            made = self.run(self.operator, c.RegisterAgency(name="Agency North"))
            self.registered_agency_id = made.aggregate_id
            for actor, role in [
                (self.agency_admin, AgencyRole.AGENCY_ADMIN),
                (self.consultant, AgencyRole.CONSULTANT),
            ]:
                self.run(
                    self.operator,
                    c.AddAgencyMember(
                        agency_id=made.aggregate_id, member_id=actor.actor_id, member_role=role
                    ),
                )
        return self.registered_agency_id

    def start_engagement(
        self, channels: tuple[str, ...] = ("ppc", "seo", "social"), days: int = 90, **kw: Any
    ) -> UUID:
        now = self.clock.now
        result = self.run(
            self.admin,
            c.StartEngagement(
                organization_id=self.org_id,
                agency_id=self.agency_id,
                consultant_ids=(self.consultant.actor_id,),
                channels=tuple(Channel(ch) for ch in channels),
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=days),
                **kw,
            ),
        )
        assert result.resource_id is not None
        return result.resource_id

    def plan(self, channels: tuple[str, ...] = ("ppc", "social"), amount: str = "5000") -> UUID:
        result = self.run(
            self.manager,
            c.PlanCampaign(
                organization_id=self.org_id,
                name="Spring sale",
                objective="Grow online sales",
                channels=tuple(Channel(ch) for ch in channels),
                budget=budget(amount),
            ),
        )
        return result.aggregate_id

    def recommend(
        self,
        kind: str = "adjust_budget",
        change: ProposedChange | None = None,
        campaign_id: UUID | None = None,
        days: int = 14,
        author: Actor | None = None,
    ) -> UUID:
        if change is None:
            change = (
                ProposedChange(budget=budget("5500"))
                if kind == "adjust_budget"
                else ProposedChange()
            )
        result = self.run(
            author or self.consultant,
            c.Recommend(
                organization_id=self.org_id,
                engagement_id=self.engagement_id,
                campaign_id=campaign_id or self.campaign_id,
                kind=RecommendationKind(kind),
                change=change,
                rationale="CPA is falling on PPC",
                evidence=("report-2026-02",),
                expected_impact="+12% conversions",
                expires_at=self.clock.now + timedelta(days=days),
            ),
        )
        return result.aggregate_id

    def approve(self, rec_id: UUID, revision: int = 1, actor: Actor | None = None) -> CommandResult:
        return self.run(
            actor or self.manager, c.Approve(recommendation_id=rec_id, revision=revision)
        )

    def launch(self) -> CommandResult:
        """The executive launches: the campaign's 5000 is above the manager's limit."""
        return self.run(self.executive, c.LaunchCampaign(campaign_id=self.campaign_id))

    def events(self) -> list[tuple[str, int, str]]:
        """Every stored event, in log order, as (aggregate id, version, topic)."""
        rows = self.ledger.recorder.select_notifications(1, 1_000_000)
        return [(str(n.originator_id), n.originator_version, n.topic) for n in rows]
