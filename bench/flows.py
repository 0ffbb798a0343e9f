"""The stories a dataset is made of: multi-step flows of commands on one campaign.

A flow is a generator that yields the next :class:`Step` (who sends which command, and not
before when) and receives the command's result. The dataset driver interleaves many flows
across organizations, so a recommendation's approval lands among other organizations'
commands, as in a real audit trail. Each flow leaves its recommendation in one of the
lifecycle states (pending, approved, approved with changes, awaiting an executive,
rejected, withdrawn, expired, implemented); the driver counts which.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from ledger import commands as c
from ledger.application.results import CommandResult
from ledger.identity import Actor
from ledger.policy.limits import commitment
from ledger.values import (
    Budget,
    BudgetPeriod,
    Channel,
    KpiTarget,
    Money,
    ProposedChange,
    RecommendationKind,
    RejectionReason,
)

K = RecommendationKind
ADVISORY = (K.STRATEGY, K.CONTENT, K.SEO, K.TRAINING, K.OTHER)
RATIONALES = (
    "CPA fell 18% on PPC over four weeks",
    "Search demand peaks in the coming weeks",
    "Social reach is saturating at the current spend",
    "Conversion rate improved after the landing page test",
    "Competitor bids rose on the core keywords",
    "Email engagement is above benchmark",
)
IMPACTS = ("+12% conversions", "-8% cost per acquisition", "+5% revenue", "steady ROAS")
EVIDENCE = ("analytics-export", "search-console", "ad-platform-report", "crm-extract", "survey")
METRICS = (("roas", "ratio"), ("cpa", "currency"), ("ctr", "percent"), ("conversions", "count"))


@dataclass
class Org:
    id: UUID
    currency: str
    limit: Decimal
    admin: Actor
    manager: Actor
    executive: Actor
    auditor: Actor
    integration: Actor
    consultants: list[Actor]
    engagement_id: UUID
    channels: list[Channel]


@dataclass
class Camp:
    id: UUID
    org: Org
    status: str
    budget: Budget
    channels: list[Channel]
    cap: int  # the campaign is completed or cancelled once it has this many events
    version: int = 1
    busy: bool = False


@dataclass(frozen=True)
class Step:
    actor: Actor
    command: c.Command
    not_before: datetime | None = None


Flow = Generator[Step, CommandResult, None]


@dataclass
class World:
    """Randomness, simulated time, and what the flows left behind."""

    rng: random.Random
    now: Callable[[], datetime]
    statuses: dict[UUID, str] = field(default_factory=dict)

    def consultant(self, org: Org) -> Actor:
        return self.rng.choice(org.consultants)

    def budget(self, camp: Camp, amount: Decimal) -> Budget:
        b = camp.budget
        return Budget(amount=max(Decimal(100), amount), currency=b.currency, period=b.period)

    def raise_within(self, camp: Camp) -> Budget:
        """A new budget a manager may approve alone (the increase is within the limit)."""
        step = max(40, int(camp.org.limit * Decimal("0.8")))
        delta = self.rng.randint(40, step) * self.rng.choice((1, 1, 1, -1))
        return self.budget(camp, camp.budget.amount + delta)

    def recommend(
        self,
        camp: Camp,
        kind: K,
        change: ProposedChange | None = None,
        *,
        on_campaign: bool = True,
        expires_in: timedelta = timedelta(days=45),
    ) -> c.Recommend:
        return c.Recommend(
            organization_id=camp.org.id,
            engagement_id=camp.org.engagement_id,
            campaign_id=camp.id if on_campaign else None,
            kind=kind,
            change=change or ProposedChange(),
            rationale=self.rng.choice(RATIONALES),
            evidence=tuple(self.rng.sample(EVIDENCE, self.rng.randint(0, 2))),
            expected_impact=self.rng.choice(IMPACTS),
            expires_at=self.now() + expires_in,
        )

    def kpis(self) -> tuple[KpiTarget, ...]:
        chosen = self.rng.sample(METRICS, self.rng.randint(1, 2))
        return tuple(
            KpiTarget(metric=m, target=Decimal(self.rng.randint(2, 400)) / 4, unit=u)
            for m, u in chosen
        )


def _rec(w: World, result: CommandResult, status: str = "pending") -> UUID:
    w.statuses[result.aggregate_id] = status
    return result.aggregate_id


def implemented(w: World, camp: Camp) -> Flow:
    """Recommended, approved, carried out as approved (or with changes, or deviating)."""
    org, new = camp.org, w.raise_within(camp)
    rec = _rec(
        w,
        (
            yield Step(
                w.consultant(org), w.recommend(camp, K.ADJUST_BUDGET, ProposedChange(budget=new))
            )
        ),
    )
    style = w.rng.choices(("as_is", "changes", "deviation"), (70, 22, 8))[0]
    if style == "changes":
        approved = w.budget(camp, (camp.budget.amount + new.amount) / 2)
        if approved in (new, camp.budget):
            approved = w.budget(camp, new.amount + 7)
        yield Step(
            org.manager,
            c.ApproveWithChanges(
                recommendation_id=rec,
                revision=1,
                approved_change=ProposedChange(budget=approved),
                note="half the change for now",
            ),
        )
        w.statuses[rec], new = "approved_with_changes", approved
    else:
        yield Step(org.manager, c.Approve(recommendation_id=rec, revision=1, note="agreed"))
        w.statuses[rec] = "approved"
    if style == "deviation":
        actual = w.budget(camp, new.amount - 10)
        if actual == camp.budget:
            actual = w.budget(camp, new.amount + 10)
        cmd = c.AdjustBudget(
            campaign_id=camp.id,
            budget=actual,
            implements=rec,
            deviation_reason="the supplier invoice came in lower",
        )
    else:
        actual = new
        cmd = c.AdjustBudget(campaign_id=camp.id, budget=new, implements=rec)
    yield Step(org.manager, cmd)
    camp.budget, w.statuses[rec] = actual, "implemented"


def decided_against(w: World, camp: Camp) -> Flow:
    """Recommended, then rejected by the manager or withdrawn by its author."""
    org, author = camp.org, w.consultant(camp.org)
    rec = _rec(
        w,
        (
            yield Step(
                author,
                w.recommend(camp, K.ADJUST_BUDGET, ProposedChange(budget=w.raise_within(camp))),
            )
        ),
    )
    if w.rng.random() < 0.7:
        reason = w.rng.choice(list(RejectionReason))
        yield Step(
            org.manager,
            c.Reject(recommendation_id=rec, revision=1, reason_code=reason, reason_text="not now"),
        )
        w.statuses[rec] = "rejected"
    else:
        yield Step(
            author, c.WithdrawRecommendation(recommendation_id=rec, revision=1, reason="superseded")
        )
        w.statuses[rec] = "withdrawn"


def amended(w: World, camp: Camp) -> Flow:
    """Amended to a second revision; left pending or approved and carried out."""
    org, author = camp.org, w.consultant(camp.org)
    first = w.raise_within(camp)
    rec = _rec(
        w, (yield Step(author, w.recommend(camp, K.ADJUST_BUDGET, ProposedChange(budget=first))))
    )
    second = w.raise_within(camp)
    yield Step(
        author,
        c.AmendRecommendation(
            recommendation_id=rec,
            revision=1,
            change=ProposedChange(budget=second),
            rationale="new data from the last week",
            evidence=("analytics-export",),
            expected_impact="+8% sales",
            expires_at=w.now() + timedelta(days=45),
        ),
    )
    if w.rng.random() < 0.5:
        return
    yield Step(org.manager, c.Approve(recommendation_id=rec, revision=2))
    w.statuses[rec] = "approved"
    yield Step(org.manager, c.AdjustBudget(campaign_id=camp.id, budget=second, implements=rec))
    camp.budget, w.statuses[rec] = second, "implemented"


def pending(w: World, camp: Camp) -> Flow:
    """Recommended and left undecided."""
    kind = w.rng.choice((K.ADJUST_BUDGET, K.SET_KPI_TARGETS))
    change = (
        ProposedChange(budget=w.raise_within(camp))
        if kind == K.ADJUST_BUDGET
        else ProposedChange(kpi_targets=w.kpis())
    )
    _rec(w, (yield Step(w.consultant(camp.org), w.recommend(camp, kind, change))))


def expired(w: World, camp: Camp) -> Flow:
    """Recommended with a short expiry, undecided, then recorded as expired."""
    hours = timedelta(hours=w.rng.randint(2, 48))
    change = ProposedChange(budget=w.raise_within(camp))
    rec = _rec(
        w,
        (
            yield Step(
                w.consultant(camp.org), w.recommend(camp, K.ADJUST_BUDGET, change, expires_in=hours)
            )
        ),
    )
    when = w.now() + hours + timedelta(minutes=1)
    yield Step(camp.org.manager, c.ExpireRecommendation(recommendation_id=rec), not_before=when)
    w.statuses[rec] = "expired"


def executive(w: World, camp: Camp) -> Flow:
    """Above the approval limit (or escalated): an executive decides; often carried out."""
    org = camp.org
    new = w.budget(camp, camp.budget.amount + org.limit + w.rng.randint(1, int(org.limit)))
    rec = _rec(
        w,
        (
            yield Step(
                w.consultant(org), w.recommend(camp, K.ADJUST_BUDGET, ProposedChange(budget=new))
            )
        ),
    )
    if w.rng.random() < 0.6:
        yield Step(org.manager, c.Approve(recommendation_id=rec, revision=1))
    else:
        yield Step(org.manager, c.Escalate(recommendation_id=rec, revision=1, note="large"))
    w.statuses[rec] = "awaiting_executive"
    roll = w.rng.random()
    if roll < 0.2:
        return
    if roll < 0.35:
        reason = RejectionReason.BUDGET_CONSTRAINTS
        yield Step(
            org.executive,
            c.Reject(recommendation_id=rec, revision=1, reason_code=reason, reason_text="no"),
        )
        w.statuses[rec] = "rejected"
        return
    yield Step(org.executive, c.Approve(recommendation_id=rec, revision=1, note="for Q2"))
    w.statuses[rec] = "approved"
    if w.rng.random() < 0.7:
        yield Step(org.manager, c.AdjustBudget(campaign_id=camp.id, budget=new, implements=rec))
        camp.budget, w.statuses[rec] = new, "implemented"


def advisory(w: World, camp: Camp) -> Flow:
    """An advisory recommendation (no direct action): approved, often marked implemented."""
    org = camp.org
    kind = w.rng.choice(ADVISORY)
    rec = _rec(w, (yield Step(w.consultant(org), w.recommend(camp, kind, on_campaign=False))))
    yield Step(org.manager, c.Approve(recommendation_id=rec, revision=1))
    w.statuses[rec] = "approved"
    if w.rng.random() < 0.7:
        yield Step(org.manager, c.MarkImplemented(recommendation_id=rec, note="workshop held"))
        w.statuses[rec] = "implemented"


def targets(w: World, camp: Camp) -> Flow:
    """New KPI targets or channels, recommended, approved and set."""
    org = camp.org
    if w.rng.random() < 0.6:
        kpis = w.kpis()
        change = ProposedChange(kpi_targets=kpis)
        cmd: c.Execution = c.SetKpiTargets(campaign_id=camp.id, kpi_targets=kpis)
        kind = K.SET_KPI_TARGETS
    else:
        chosen = sorted(w.rng.sample(org.channels, w.rng.randint(1, len(org.channels))))
        if chosen == sorted(camp.channels):
            return
        change = ProposedChange(channels=tuple(chosen))
        cmd = c.ChangeChannels(campaign_id=camp.id, channels=tuple(chosen))
        kind = K.CHANGE_CHANNELS
    rec = _rec(w, (yield Step(w.consultant(org), w.recommend(camp, kind, change))))
    yield Step(org.manager, c.Approve(recommendation_id=rec, revision=1))
    w.statuses[rec] = "approved"
    yield Step(org.manager, cmd.model_copy(update={"implements": rec}))
    w.statuses[rec] = "implemented"
    if kind == K.CHANGE_CHANNELS:
        camp.channels = list(change.channels or ())


def pause(w: World, camp: Camp) -> Flow:
    """Paused (on a recommendation, or not), resumed some days later."""
    org = camp.org
    if w.rng.random() < 0.5:
        rec = _rec(w, (yield Step(w.consultant(org), w.recommend(camp, K.PAUSE))))
        yield Step(org.manager, c.Approve(recommendation_id=rec, revision=1))
        yield Step(org.manager, c.PauseCampaign(campaign_id=camp.id, implements=rec))
        w.statuses[rec] = "implemented"
    else:
        yield Step(org.manager, c.PauseCampaign(campaign_id=camp.id, note="list clean-up"))
    camp.status = "paused"
    later = w.now() + timedelta(days=w.rng.randint(1, 10))
    yield Step(org.manager, c.ResumeCampaign(campaign_id=camp.id), not_before=later)
    camp.status = "active"


def launch(w: World, camp: Camp) -> Flow:
    """A draft campaign launched, on a recommendation or directly; above the manager's
    approval limit the executive approves or launches it (ADR 0012)."""
    org = camp.org
    decider = org.executive if commitment(camp.budget) > org.limit else org.manager
    if w.rng.random() < 0.5:
        rec = _rec(w, (yield Step(w.consultant(org), w.recommend(camp, K.LAUNCH))))
        yield Step(decider, c.Approve(recommendation_id=rec, revision=1))
        yield Step(org.manager, c.LaunchCampaign(campaign_id=camp.id, implements=rec))
        w.statuses[rec] = "implemented"
    else:
        yield Step(decider, c.LaunchCampaign(campaign_id=camp.id))
    camp.status = "active"


def performance(w: World, camp: Camp) -> Flow:
    """A week of performance, reported by the integration."""
    now = w.now()
    impressions = w.rng.randint(1_000, 500_000)
    clicks = w.rng.randint(0, impressions // 20)
    spend = Decimal(w.rng.randint(100, 500_000)) / 100
    yield Step(
        camp.org.integration,
        c.RecordPerformance(
            campaign_id=camp.id,
            period_start=now - timedelta(days=7),
            period_end=now,
            spend=Money(amount=spend, currency=camp.budget.currency),
            impressions=impressions,
            clicks=clicks,
            conversions=w.rng.randint(0, clicks),
            revenue=Money(amount=spend * w.rng.randint(1, 6), currency=camp.budget.currency),
        ),
    )


def close(w: World, camp: Camp) -> Flow:
    """Completed (mostly) or cancelled; a draft can only be cancelled."""
    if camp.status != "draft" and w.rng.random() < 0.85:
        yield Step(camp.org.manager, c.CompleteCampaign(campaign_id=camp.id, note="period over"))
        camp.status = "completed"
    else:
        yield Step(camp.org.manager, c.CancelCampaign(campaign_id=camp.id, note="budget cut"))
        camp.status = "cancelled"


FlowFactory = Callable[[World, Camp], Flow]
WEIGHTS: dict[str, list[tuple[FlowFactory, int]]] = {
    "active": [
        (implemented, 30),
        (decided_against, 13),
        (amended, 5),
        (pending, 5),
        (expired, 4),
        (executive, 6),
        (advisory, 6),
        (targets, 7),
        (pause, 4),
        (performance, 20),
    ],
    "paused": [(implemented, 30), (decided_against, 20), (performance, 20), (pending, 10)],
    "draft": [(launch, 85), (pending, 10), (close, 5)],
}


def choose(w: World, camp: Camp) -> FlowFactory:
    if camp.version >= camp.cap and camp.status in ("active", "paused"):
        return close
    choices = WEIGHTS[camp.status]
    picked: FlowFactory = w.rng.choices([f for f, _ in choices], [n for _, n in choices])[0]
    return picked


def status_counts(w: World) -> dict[str, int]:
    return dict(sorted(Counter(w.statuses.values()).items()))


def default_budget(rng: random.Random, currency: str) -> Budget:
    period = rng.choices((BudgetPeriod.MONTHLY, BudgetPeriod.WEEKLY), (85, 15))[0]
    return Budget(amount=Decimal(rng.randint(10, 400) * 50), currency=currency, period=period)
