"""What a launch or a budget change asks of the manager's spend authority (ADR 0012).

The rule itself lives in :mod:`ledger.policy.limits`; this module reads what it needs from
the campaign's history and the recommendation an execution cites.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ledger import commands as c
from ledger.domain.campaign import Campaign
from ledger.domain.organization import Organization
from ledger.domain.recommendation import APPROVED, Recommendation
from ledger.handlers.context import Context
from ledger.policy.limits import (
    EXECUTIVE,
    MANAGER_ALLOWANCE,
    commitment,
    raised_by,
    require_spend_authority,
)
from ledger.policy.rights import limit_applies
from ledger.values import ProposedChange, Role


@dataclass(frozen=True)
class Ask:
    """Who authorised an execution, and what it takes from the manager's allowance."""

    authority: str
    used: Decimal = Decimal(0)

    def fields(self) -> dict[str, Any]:
        return {"authority": self.authority, "allowance_used": str(self.used)}


BY_EXECUTIVE = Ask(EXECUTIVE)


def executive_approval(rec: Recommendation) -> datetime | None:
    """When an executive gave the approval in force, or None when a manager gave it."""
    approvals = [d for d in rec.state.decisions if d["status"] in APPROVED]
    if not approvals or approvals[-1]["role"] != Role.EXECUTIVE.value:
        return None
    return datetime.fromisoformat(approvals[-1]["at"])


def _cited(ctx: Context, cmd: c.Execution) -> Recommendation | None:
    if cmd.implements is None:
        return None
    return ctx.load(Recommendation, cmd.implements, "recommendation")


def budget_change(ctx: Context, campaign: Campaign, role: Role, cmd: c.AdjustBudget) -> Ask:
    """A launched campaign's increase, beyond what an executive approved; a draft's change
    asks nothing (its launch counts the whole budget)."""
    if not limit_applies(role):
        return BY_EXECUTIVE
    if campaign.state.status == "draft":
        return Ask(MANAGER_ALLOWANCE)
    authorised: Any = campaign.state.budget
    rec = _cited(ctx, cmd)
    granted = ProposedChange.from_event(rec.state.approved_change).budget if rec else None
    if rec is not None and granted is not None and executive_approval(rec) is not None:
        asked = raised_by(granted, cmd.budget)
        return BY_EXECUTIVE if asked == 0 else Ask(MANAGER_ALLOWANCE, asked)
    return Ask(MANAGER_ALLOWANCE, raised_by(authorised, cmd.budget))


def launch(ctx: Context, campaign: Campaign, role: Role, cmd: c.Execution) -> Ask:
    """The whole budget, unless an executive launches or approved the launch (and the
    budget has not changed since)."""
    if not limit_applies(role):
        return BY_EXECUTIVE
    rec = _cited(ctx, cmd)
    approved_at = executive_approval(rec) if rec else None
    changes = [e["at"] for e in campaign.state.commitments if e["from"] is not None]
    if approved_at is not None and all(at <= approved_at for at in changes):
        return BY_EXECUTIVE
    return Ask(MANAGER_ALLOWANCE, commitment(campaign.state.budget))


def require(
    ctx: Context, org: Organization, campaign: Campaign, ask: Ask, before: list[dict[str, Any]]
) -> None:
    """Refuse when the manager's allowance of this period, as it stood ``before`` the
    execution was recorded, cannot hold what is asked."""
    if ask.authority == MANAGER_ALLOWANCE:
        require_spend_authority(org.state, before, ask.used, ctx.now, campaign.id)
