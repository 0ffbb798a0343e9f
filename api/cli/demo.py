"""A realistic demo dataset: one registered agency with its admin and two consultants, two
client organizations with managers, executives and auditors, campaigns across channels, and
recommendations in every lifecycle state. The history is laid out over the past weeks by a
simulated clock, so the audit trail reads like a real one; every command still passes the
ledger's rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from api.keys import KeyStore
from ledger import commands as c
from ledger.application.names import Directory
from ledger.application.service import Ledger
from ledger.identity import Actor
from ledger.names import NameKind, SetName
from ledger.persistence.names import NameStore
from ledger.settings import Settings
from ledger.values import (
    AgencyRole,
    Budget,
    BudgetPeriod,
    Channel,
    KpiTarget,
    MemberRole,
    Money,
    ProposedChange,
    RecommendationKind,
    RejectionReason,
)


class SimClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=7)
        return self.now

    def hours(self, n: float) -> None:
        self.now += timedelta(hours=n)


def eur(amount: str, period: str = "monthly") -> Budget:
    return Budget(amount=Decimal(amount), currency="EUR", period=BudgetPeriod(period))


@dataclass
class Demo:
    ledger: Ledger
    clock: SimClock
    actors: dict[str, Actor] = field(default_factory=dict)
    out: dict[str, Any] = field(
        default_factory=lambda: {
            "organizations": {},
            "engagements": {},
            "campaigns": {},
            "recommendations": {},
        }
    )

    def actor(self, name: str, operator: bool = False) -> Actor:
        self.actors[name] = Actor(uuid4(), operator=operator)
        return self.actors[name]

    def run(self, who: str, cmd: c.Command) -> UUID:
        self.clock.hours(3)
        result = self.ledger.execute(cmd, self.actors[who])
        return result.resource_id or result.aggregate_id

    def org(self, key: str, name: str, limit: str, people: dict[str, MemberRole]) -> UUID:
        org_id = self.run(
            "operator",
            c.CreateOrganization(name=name, default_currency="EUR", approval_limit=Decimal(limit)),
        )
        for who, role in people.items():
            self.actor(who)
            self.run(
                "operator",
                c.GrantMembership(
                    organization_id=org_id, member_id=self.actors[who].actor_id, member_role=role
                ),
            )
        self.out["organizations"][key] = str(org_id)
        return org_id

    def recommend(
        self,
        key: str,
        who: str,
        org: UUID,
        eng: UUID,
        campaign: UUID | None,
        kind: str,
        change: ProposedChange | None = None,
        days: int = 90,
    ) -> UUID:
        rec = self.run(
            who,
            c.Recommend(
                organization_id=org,
                engagement_id=eng,
                campaign_id=campaign,
                kind=RecommendationKind(kind),
                change=change or ProposedChange(),
                rationale=f"Analysis supports: {kind.replace('_', ' ')}",
                evidence=("analytics-export-q1",),
                expected_impact="better cost per acquisition",
                expires_at=self.clock.now + timedelta(days=days),
            ),
        )
        self.out["recommendations"][key] = str(rec)
        return rec


def seed(ledger: Ledger, keys: KeyStore, clock: SimClock) -> dict[str, Any]:
    """Seed the dataset and issue one API key per actor; returns ids and keys (shown once).
    ``ledger`` must read time from ``clock``."""
    d = Demo(ledger, clock)
    d.actor("operator", operator=True)
    d.actor("consultant_1")
    d.actor("consultant_2")
    d.actor("agency_admin")
    agency = d.run("operator", c.RegisterAgency(name=AGENCY))
    for name, role in [
        ("agency_admin", AgencyRole.AGENCY_ADMIN),
        ("consultant_1", AgencyRole.CONSULTANT),
        ("consultant_2", AgencyRole.CONSULTANT),
    ]:
        d.run(
            "operator",
            c.AddAgencyMember(
                agency_id=agency, member_id=d.actors[name].actor_id, member_role=role
            ),
        )
    a = d.org(
        "client_a",
        "Client A (retail)",
        "1000",
        {
            "manager_a": MemberRole.MANAGER,
            "executive_a": MemberRole.EXECUTIVE,
            "auditor_a": MemberRole.AUDITOR,
        },
    )
    b = d.org(
        "client_b",
        "Client B (travel)",
        "500",
        {
            "manager_b": MemberRole.MANAGER,
            "executive_b": MemberRole.EXECUTIVE,
            "auditor_b": MemberRole.AUDITOR,
        },
    )
    now = d.clock.now
    consultants = (d.actors["consultant_1"].actor_id, d.actors["consultant_2"].actor_id)
    eng_a = d.run(
        "manager_a",
        c.StartEngagement(
            organization_id=a,
            agency_id=agency,
            consultant_ids=consultants,
            channels=(Channel.PPC, Channel.SEO, Channel.SOCIAL, Channel.CONTENT),
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=365),
        ),
    )
    eng_b = d.run(
        "manager_b",
        c.StartEngagement(
            organization_id=b,
            agency_id=agency,
            consultant_ids=consultants[:1],
            channels=(Channel.EMAIL, Channel.SEO, Channel.DISPLAY),
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=365),
        ),
    )
    d.out["engagements"] = {"client_a": str(eng_a), "client_b": str(eng_b)}
    d.out["agency_id"] = str(agency)

    def plan(
        who: str, org: UUID, key: str, name: str, channels: tuple[Channel, ...], amount: str
    ) -> UUID:
        cid = d.run(
            who,
            c.PlanCampaign(
                organization_id=org,
                name=name,
                objective=f"{name}: grow qualified sales",
                channels=channels,
                budget=eur(amount),
                kpi_targets=(KpiTarget(metric="roas", target=Decimal(4), unit="ratio"),),
            ),
        )
        d.out["campaigns"][key] = str(cid)
        return cid

    spring = plan(
        "manager_a", a, "spring_sale", "Spring sale", (Channel.PPC, Channel.SOCIAL), "5000"
    )
    seo = plan("manager_a", a, "seo_revamp", "SEO revamp", (Channel.SEO, Channel.CONTENT), "2000")
    news = plan("manager_b", b, "newsletter", "Newsletter", (Channel.EMAIL,), "800")
    # Both budgets are above their manager's approval limit: the executives launch them.
    d.run("executive_a", c.LaunchCampaign(campaign_id=spring))
    d.run("executive_b", c.LaunchCampaign(campaign_id=news))

    def budget(amount: str) -> ProposedChange:
        return ProposedChange(budget=eur(amount))

    # implemented as recommended: launch the SEO revamp
    r = d.recommend("implemented", "consultant_1", a, eng_a, seo, "launch")
    d.run("manager_a", c.Approve(recommendation_id=r, revision=1, note="agreed"))
    d.run("executive_a", c.Approve(recommendation_id=r, revision=1, note="2000 a month: agreed"))
    d.run("manager_a", c.LaunchCampaign(campaign_id=seo, implements=r))
    # approved with changes, implemented with those changes
    r = d.recommend(
        "approved_with_changes", "consultant_2", a, eng_a, spring, "adjust_budget", budget("5800")
    )
    d.run(
        "manager_a",
        c.ApproveWithChanges(
            recommendation_id=r, revision=1, approved_change=budget("5400"), note="half now"
        ),
    )
    d.run("manager_a", c.AdjustBudget(campaign_id=spring, budget=eur("5400"), implements=r))
    # approved, then carried out with a recorded deviation
    r = d.recommend(
        "implemented_with_deviation",
        "consultant_1",
        a,
        eng_a,
        spring,
        "adjust_budget",
        budget("5900"),
    )
    d.run("manager_a", c.Approve(recommendation_id=r, revision=1))
    d.run(
        "manager_a",
        c.AdjustBudget(
            campaign_id=spring,
            budget=eur("5700"),
            implements=r,
            deviation_reason="supplier invoice came in lower",
        ),
    )
    # pending, and amended to a second revision
    d.recommend(
        "pending",
        "consultant_1",
        a,
        eng_a,
        spring,
        "set_kpi_targets",
        ProposedChange(kpi_targets=(KpiTarget(metric="cpa", target=Decimal("11.5"), unit="EUR"),)),
    )
    r = d.recommend(
        "amended_pending", "consultant_2", a, eng_a, spring, "adjust_budget", budget("6000")
    )
    d.run(
        "consultant_2",
        c.AmendRecommendation(
            recommendation_id=r,
            revision=1,
            change=budget("6100"),
            rationale="new data",
            evidence=("analytics-export-q1", "competitor-scan"),
            expected_impact="+8% sales",
            expires_at=d.clock.now + timedelta(days=90),
        ),
    )
    # rejected, withdrawn
    r = d.recommend("rejected", "consultant_1", a, eng_a, spring, "pause")
    d.run(
        "manager_a",
        c.Reject(
            recommendation_id=r,
            revision=1,
            reason_code=RejectionReason.TIMING,
            reason_text="peak season; pausing now would cost sales",
        ),
    )
    r = d.recommend("withdrawn", "consultant_2", a, eng_a, None, "strategy")
    d.run(
        "consultant_2",
        c.WithdrawRecommendation(
            recommendation_id=r, revision=1, reason="superseded by the Q2 plan"
        ),
    )
    # above the approval limit: awaiting an executive; and one the executive approved
    r = d.recommend(
        "awaiting_executive", "consultant_1", a, eng_a, spring, "adjust_budget", budget("9000")
    )
    d.run("manager_a", c.Approve(recommendation_id=r, revision=1))
    r = d.recommend(
        "approved_not_implemented", "consultant_1", a, eng_a, seo, "adjust_budget", budget("4000")
    )
    d.run("manager_a", c.Escalate(recommendation_id=r, revision=1, note="large increase"))
    d.run("executive_a", c.Approve(recommendation_id=r, revision=1, note="approved for Q2"))
    # advisory, approved and marked implemented
    r = d.recommend("advisory_implemented", "consultant_2", a, eng_a, None, "training")
    d.run("manager_a", c.Approve(recommendation_id=r, revision=1))
    d.run("manager_a", c.MarkImplemented(recommendation_id=r, note="workshop held"))
    # expired undecided, in client B
    r = d.recommend(
        "expired", "consultant_1", b, eng_b, news, "adjust_budget", budget("900"), days=2
    )
    d.clock.hours(72)
    d.run("manager_b", c.ExpireRecommendation(recommendation_id=r))
    # executions without a recommendation, and performance
    d.run("manager_b", c.PauseCampaign(campaign_id=news, note="list clean-up"))
    d.run(
        "manager_a",
        c.RecordPerformance(
            campaign_id=spring,
            period_start=d.clock.now - timedelta(days=7),
            period_end=d.clock.now,
            spend=Money(amount=Decimal("1180.40"), currency="EUR"),
            impressions=130_000,
            clicks=2_600,
            conversions=104,
            revenue=Money(amount=Decimal("5200.00"), currency="EUR"),
        ),
    )

    people: dict[str, Any] = {}
    for name, actor in d.actors.items():
        issued = keys.issue(actor.actor_id, operator=actor.operator, label=f"demo {name}")
        people[name] = {"actor_id": str(actor.actor_id), "api_key": issued.token}
    return {"actors": people, **d.out}


# The demo's display names (ADR 0015): in the name directory, never in the events.
PEOPLE = {
    "operator": "Olga Operator",
    "consultant_1": "Chidi Okafor",
    "consultant_2": "Ines Duarte",
    "agency_admin": "Nadia Brandt",
    "manager_a": "Mia Schulz",
    "executive_a": "Erik Lund",
    "auditor_a": "Ana Costa",
    "manager_b": "Marc Petit",
    "executive_b": "Elena Rossi",
    "auditor_b": "Aiko Tanaka",
}
ORGANIZATIONS = {"client_a": "Client A Retail GmbH", "client_b": "Client B Travel SA"}
AGENCY = "Northwind Digital"


def name_people(directory: Directory, data: dict[str, Any]) -> None:
    """Give the demo's people, organizations and agency their names, as its operator."""
    actors = data["actors"]
    by = Actor(UUID(actors["operator"]["actor_id"]), operator=True)
    named = [(actors[k]["actor_id"], NameKind.ACTOR, v) for k, v in PEOPLE.items()]
    named += [
        (data["organizations"][k], NameKind.ORGANIZATION, v) for k, v in ORGANIZATIONS.items()
    ]
    named.append((data["agency_id"], NameKind.AGENCY, AGENCY))
    for ident, kind, name in named:
        directory.set(by, SetName(subject_id=UUID(ident), kind=kind, name=name), None, "cli")


def seed_store(settings: Settings) -> dict[str, Any]:
    clock = SimClock(datetime.now(UTC) - timedelta(days=30))
    ledger = Ledger(settings, clock=clock)
    keys = KeyStore(settings)
    names = NameStore(settings)
    try:
        data = seed(ledger, keys, clock)
        name_people(Directory(ledger, names), data)
        return data
    finally:
        names.close()
        keys.close()
        ledger.close()
