"""A mixed workload: random but valid-looking commands of every kind, through the ledger.

Refused commands (a random pick that breaks a rule) are part of the mix: they must leave
no trace in the log or the views.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger import commands as c
from ledger.errors import LedgerError
from ledger.values import Channel, KpiTarget, Money, ProposedChange, RejectionReason
from tests.support import World, budget


@dataclass
class Mix:
    world: World
    rng: random.Random
    campaigns: list[UUID] = field(default_factory=list)
    pending: list[UUID] = field(default_factory=list)
    approved: list[tuple[UUID, UUID, str | None]] = field(default_factory=list)
    awaiting: list[UUID] = field(default_factory=list)
    accepted: int = 0
    refused: int = 0

    def run(self, actor: object, command: c.Command, **kw: object) -> object | None:
        try:
            result = self.world.run(actor, command, **kw)  # type: ignore[arg-type]
        except LedgerError:
            self.refused += 1
            return None
        self.accepted += 1
        return result

    def amount(self) -> str:
        return str(self.rng.randrange(1000, 9000, 50))

    def one(self, n: int) -> None:
        w, r, m = self.world, self.rng, self.world.manager
        pick = r.random()
        if not self.campaigns or pick < 0.03:
            result = self.run(
                m,
                c.PlanCampaign(
                    organization_id=w.org_id,
                    name=f"campaign {n}",
                    objective="grow",
                    channels=(Channel.PPC, Channel.SOCIAL),
                    budget=budget(self.amount()),
                ),
            )
            if result is not None:
                self.campaigns.append(result.aggregate_id)  # type: ignore[attr-defined]
            return
        cid = r.choice(self.campaigns)
        if pick < 0.30:
            kind = r.choice(["adjust_budget", "adjust_budget", "strategy", "pause", "launch"])
            change = (
                ProposedChange(budget=budget(self.amount()))
                if kind == "adjust_budget"
                else ProposedChange()
            )
            try:
                rid = w.recommend(
                    kind=kind, change=change, campaign_id=cid, days=r.choice([1, 5, 30])
                )
            except LedgerError:
                self.refused += 1
                return
            self.accepted += 1
            self.pending.append(rid)
        elif pick < 0.55 and self.pending:
            rid = self.pending.pop(r.randrange(len(self.pending)))
            way = r.random()
            if way < 0.5:
                done = self.run(m, c.Approve(recommendation_id=rid, revision=1))
            elif way < 0.65:
                done = self.run(
                    m,
                    c.Reject(
                        recommendation_id=rid,
                        revision=1,
                        reason_code=RejectionReason.TIMING,
                        reason_text="no",
                    ),
                )
            elif way < 0.75:
                done = self.run(m, c.Escalate(recommendation_id=rid, revision=1))
                if done is not None:
                    self.awaiting.append(rid)
                return
            elif way < 0.85:
                done = self.run(
                    w.consultant,
                    c.WithdrawRecommendation(
                        recommendation_id=rid, revision=1, reason="changed my mind"
                    ),
                )
                return
            else:
                done = self.run(m, c.ExpireRecommendation(recommendation_id=rid))
                return
            if done is not None and way < 0.5:
                self.approved.append((rid, cid, None))
        elif pick < 0.62 and self.awaiting:
            rid = self.awaiting.pop()
            self.run(w.executive, c.Approve(recommendation_id=rid, revision=1))
        elif pick < 0.75 and self.approved:
            rid, _, _ = self.approved.pop(r.randrange(len(self.approved)))
            self.execute(rid)
        elif pick < 0.85:
            self.run(
                m,
                c.RecordPerformance(
                    campaign_id=cid,
                    period_start=w.clock.now - timedelta(days=1),
                    period_end=w.clock.now,
                    spend=Money(amount=Decimal(r.randrange(1, 500)), currency="EUR"),
                    impressions=1000,
                    clicks=r.randrange(0, 100),
                    conversions=r.randrange(0, 5),
                    revenue=Money(amount=Decimal(r.randrange(0, 900)), currency="EUR"),
                ),
                idempotency_key=f"perf-{n}" if r.random() < 0.3 else None,
            )
        elif pick < 0.93:
            action = r.choice([c.LaunchCampaign, c.PauseCampaign, c.ResumeCampaign])
            self.run(m, action(campaign_id=cid))
        elif pick < 0.97:
            self.run(m, c.AdjustBudget(campaign_id=cid, budget=budget(self.amount())))
        elif pick < 0.985:
            self.run(
                m,
                c.SetKpiTargets(
                    campaign_id=cid,
                    kpi_targets=(
                        KpiTarget(metric="cpa", target=Decimal(r.randrange(5, 50)), unit="EUR"),
                    ),
                ),
            )
        else:
            w.clock.advance(timedelta(days=1))

    def execute(self, rid: UUID) -> None:
        """Carry out an approved recommendation: as approved, with a deviation, or by
        marking an advisory one implemented."""
        w, m = self.world, self.world.manager
        rec: Any = w.ledger.repository.get(rid)
        s = rec.state
        if s.status not in ("approved", "approved_with_changes"):
            return
        change = ProposedChange.from_event(s.approved_change)
        if s.kind == "adjust_budget" and change.budget is not None:
            deviate = self.rng.random() < 0.3
            target = budget(self.amount()) if deviate else change.budget
            self.run(
                m,
                c.AdjustBudget(
                    campaign_id=s.campaign_id,
                    budget=target,
                    implements=rid,
                    deviation_reason="market moved" if deviate else None,
                ),
            )
        elif s.kind == "strategy":
            self.run(m, c.MarkImplemented(recommendation_id=rid, note="done"))
        elif s.kind in ("pause", "launch"):
            action = c.PauseCampaign if s.kind == "pause" else c.LaunchCampaign
            # Launches are the executive's: budgets here are above the manager's limit.
            who = self.world.executive if s.kind == "launch" else m
            self.run(who, action(campaign_id=s.campaign_id, implements=rid))


def mixed(world: World, commands: int, seed: int = 7) -> Mix:
    """``commands`` random commands, under an approval limit of 3000 so that managers'
    budget changes are sometimes within their allowance and sometimes not."""
    if world.ledger.repository.get(world.org_id).state.approval_limit != Decimal(3000):
        world.run(
            world.admin,
            c.ChangeOrganizationSettings(
                organization_id=world.org_id, approval_limit=Decimal(3000)
            ),
        )
    mix = Mix(world, random.Random(seed))
    for n in range(commands):
        mix.one(n)
    return mix
