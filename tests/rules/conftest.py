"""The rules tier: handlers and decision rights over an in-memory aggregate source.

Every test here is marked ``rules`` and runs with no database and no ledger application:
``pytest -m rules`` runs this tier alone, in well under two seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from ledger import commands as c
from ledger.identity import Actor
from ledger.values import Budget, BudgetPeriod, Channel, MemberRole, ProposedChange
from ledger.values import RecommendationKind as Kind
from tests.rules.memory import Rules

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.rules)


def budget(amount: str) -> Budget:
    return Budget(amount=Decimal(amount), currency="EUR", period=BudgetPeriod.MONTHLY)


@dataclass
class Org:
    """An organization with a manager, an executive, an auditor and a consultant's
    engagement, and one planned campaign, all made by commands through the handlers."""

    rules: Rules = field(default_factory=Rules)
    operator: Actor = field(default_factory=lambda: Actor(uuid4(), operator=True))
    manager: Actor = field(default_factory=lambda: Actor(uuid4()))
    executive: Actor = field(default_factory=lambda: Actor(uuid4()))
    auditor: Actor = field(default_factory=lambda: Actor(uuid4()))
    consultant: Actor = field(default_factory=lambda: Actor(uuid4()))
    org_id: UUID = field(init=False)
    engagement_id: UUID = field(init=False)
    campaign_id: UUID = field(init=False)

    def setup(self) -> Org:
        created = self.rules.run(
            self.operator,
            c.CreateOrganization(
                name="Client A", default_currency="EUR", approval_limit=Decimal("1000")
            ),
        )
        self.org_id = created.primary.id
        for actor, role in [
            (self.manager, MemberRole.MANAGER),
            (self.executive, MemberRole.EXECUTIVE),
            (self.auditor, MemberRole.AUDITOR),
        ]:
            self.grant(actor, role)
        started = self.rules.run(
            self.operator,
            c.StartEngagement(
                organization_id=self.org_id,
                agency_id=uuid4(),
                consultant_ids=(self.consultant.actor_id,),
                channels=(Channel.PPC, Channel.SOCIAL),
                starts_at=self.rules.now - timedelta(days=1),
                ends_at=self.rules.now + timedelta(days=90),
            ),
        )
        assert started.resource_id is not None
        self.engagement_id = started.resource_id
        planned = self.rules.run(
            self.manager,
            c.PlanCampaign(
                organization_id=self.org_id,
                name="Spring sale",
                objective="Grow online sales",
                channels=(Channel.PPC,),
                budget=budget("5000"),
            ),
        )
        self.campaign_id = planned.primary.id
        return self

    def grant(self, actor: Actor, role: MemberRole) -> None:
        self.rules.run(
            self.operator,
            c.GrantMembership(
                organization_id=self.org_id, member_id=actor.actor_id, member_role=role
            ),
        )

    def recommend(self, author: Actor | None = None, amount: str = "5500") -> UUID:
        outcome = self.rules.run(
            author or self.consultant,
            c.Recommend(
                organization_id=self.org_id,
                engagement_id=self.engagement_id,
                campaign_id=self.campaign_id,
                kind=Kind.ADJUST_BUDGET,
                change=ProposedChange(budget=budget(amount)),
                rationale="CPA is falling on PPC",
                evidence=("report-2026-02",),
                expected_impact="+12% conversions",
                expires_at=self.rules.now + timedelta(days=14),
            ),
        )
        return outcome.primary.id


@pytest.fixture
def org() -> Org:
    return Org().setup()
