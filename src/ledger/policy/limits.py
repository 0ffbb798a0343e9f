"""The manager's approval limit, applied to budget increases in comparable terms.

Budgets are compared as monthly equivalents (a year of 365 days, 52 weeks): 800 a day is
about 24,333 a month. A change to or from a lifetime budget cannot be compared per month, so
the whole new amount counts as the increase. Currencies are never mixed: a campaign's budget
is in its organization's currency.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

PER_MONTH = {"daily": Decimal(365) / 12, "weekly": Decimal(52) / 12, "monthly": Decimal(1)}


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


def above_limit(current: Any, new: Any, limit: Decimal) -> bool:
    return increase(current, new) > limit
