"""The manager's spend authority: the approval limit, over the limit's period.

Budgets are compared as monthly equivalents (a year of 365 days, 52 weeks): 800 a day is
about 24,333 a month. A change to or from a lifetime budget cannot be compared per month, so
the whole new amount counts as the increase. Currencies are never mixed: a campaign's budget
is in its organization's currency.

What a campaign commits without an executive in one period (a calendar month, week or
quarter in the organization's time zone), plus what a new execution asks, must stay within
the limit (``within_spend_authority``, ADR 0012). A launch asks the whole budget; a budget
increase of a launched campaign asks its increase; an execution of an executive's approval
asks only what it goes beyond it; an executive asks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from ledger.domain.recommendation import APPROVED, RecommendationState
from ledger.errors import RoleRequired
from ledger.policy.rights import limit_applies
from ledger.values import Budget, CampaignStatus, ProposedChange, Role, plain

PER_MONTH = {"daily": Decimal(365) / 12, "weekly": Decimal(52) / 12, "monthly": Decimal(1)}
MANAGER_ALLOWANCE = "manager_allowance"
EXECUTIVE = "executive"


def _amount_and_period(budget: Any) -> tuple[Decimal, str]:
    if isinstance(budget, dict):
        return Decimal(str(budget["amount"])), str(budget["period"])
    return Decimal(budget.amount), str(budget.period.value)


def increase(current: Any, new: Any) -> Decimal:
    """How much ``new`` raises ``current``, per month (or in full, for lifetime budgets)."""
    old_amount, old_period = _amount_and_period(current)
    new_amount, new_period = _amount_and_period(new)
    if old_period == new_period:
        return new_amount - old_amount
    if "lifetime" in (old_period, new_period):
        return new_amount
    return new_amount * PER_MONTH[new_period] - old_amount * PER_MONTH[old_period]


def raised_by(current: Any, new: Any) -> Decimal:
    """What raising ``current`` to ``new`` asks of an allowance: a decrease asks nothing."""
    return max(Decimal(0), increase(current, new))


def commitment(budget: Any) -> Decimal:
    """What a whole budget commits: its monthly equivalent, or a lifetime budget in full."""
    amount, period = _amount_and_period(budget)
    return amount if period == "lifetime" else amount * PER_MONTH[period]


def period_start(at: datetime, period: str, zone: str) -> datetime:
    """The start (local midnight, as UTC) of the calendar period that contains ``at``."""
    local = at.astimezone(ZoneInfo(zone)).date()
    if period == "calendar_week":
        first = local - timedelta(days=local.weekday())
    elif period == "calendar_quarter":
        first = date(local.year, 3 * ((local.month - 1) // 3) + 1, 1)
    else:
        first = date(local.year, local.month, 1)
    return datetime.combine(first, time(), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def used_by(entry: dict[str, Any]) -> Decimal:
    """What one launch or budget change took from the manager's allowance. Events recorded
    before ADR 0012 carry no ``used``: they are reckoned from their role and budgets."""
    if entry["used"] is not None:
        return Decimal(entry["used"])
    if entry["role"] == EXECUTIVE or entry["draft"]:
        return Decimal(0)
    if entry["from"] is None:
        return commitment(entry["to"])
    return raised_by(entry["from"], entry["to"])


def used_since(entries: list[dict[str, Any]], start: datetime) -> Decimal:
    return sum((used_by(e) for e in entries if e["at"] >= start), Decimal(0))


def within_spend_authority(limit: Decimal, used: Decimal, asked: Decimal) -> bool:
    """True when what a manager already committed in the period, plus ``asked``, fits."""
    return asked <= 0 or used + asked <= limit


def require_spend_authority(
    org_state: Any, entries: list[dict[str, Any]], asked: Decimal, at: datetime, campaign_id: UUID
) -> None:
    """Refuse, naming the limit, the period, what was used and what was asked, when the
    manager's allowance for this campaign and period cannot hold ``asked``."""
    start = period_start(at, org_state.limit_period, org_state.time_zone)
    used = used_since(entries, start)
    limit = org_state.approval_limit
    if within_spend_authority(limit, used, asked):
        return
    raise RoleRequired(
        f"the manager's approval limit of {plain(limit)} per {org_state.limit_period} from "
        f"{start.isoformat()} has {plain(used)} used; {plain(asked)} more needs an executive",
        campaign_id=campaign_id,
        approval_limit=plain(limit),
        limit_period=org_state.limit_period,
        period_start=start.isoformat(),
        used=plain(used),
        asked=plain(asked),
    )


@dataclass(frozen=True)
class Ask:
    """Who authorised an execution, and what it takes from the manager's allowance."""

    authority: str
    used: Decimal = Decimal(0)

    def fields(self) -> dict[str, Any]:
        return {"authority": self.authority, "allowance_used": str(self.used)}


BY_EXECUTIVE = Ask(EXECUTIVE)


def executive_approval(rec: RecommendationState) -> datetime | None:
    """When an executive gave the approval in force, or None when a manager gave it."""
    approvals = [d for d in rec.decisions if d["status"] in APPROVED]
    if not approvals or approvals[-1]["role"] != Role.EXECUTIVE.value:
        return None
    return datetime.fromisoformat(approvals[-1]["at"])


def budget_change_asks(
    campaign: Any, role: Role, cited: RecommendationState | None, new: Budget
) -> Ask:
    """A launched campaign's increase, beyond what an executive approved; a draft's change
    asks nothing (its launch counts the whole budget)."""
    if not limit_applies(role):
        return BY_EXECUTIVE
    if campaign.status == CampaignStatus.DRAFT:
        return Ask(MANAGER_ALLOWANCE)
    granted = ProposedChange.from_event(cited.approved_change).budget if cited else None
    if cited is not None and granted is not None and executive_approval(cited) is not None:
        asked = raised_by(granted, new)
        return BY_EXECUTIVE if asked == 0 else Ask(MANAGER_ALLOWANCE, asked)
    return Ask(MANAGER_ALLOWANCE, raised_by(campaign.budget, new))


def launch_asks(campaign: Any, role: Role, cited: RecommendationState | None) -> Ask:
    """The whole budget, unless an executive launches or approved the launch (and the
    budget has not changed since)."""
    if not limit_applies(role):
        return BY_EXECUTIVE
    approved_at = executive_approval(cited) if cited else None
    changes = [e["at"] for e in campaign.commitments if e["from"] is not None]
    if approved_at is not None and all(at <= approved_at for at in changes):
        return BY_EXECUTIVE
    return Ask(MANAGER_ALLOWANCE, commitment(campaign.budget))
