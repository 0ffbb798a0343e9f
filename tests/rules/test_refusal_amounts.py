"""Amounts in a refusal read as a person writes them (issue 11's review): a monthly
equivalent computed to 28 digits is printed normalised, "1003.75", not
"1003.750000000000000000000000"."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from uuid import uuid4

import pytest

from ledger.errors import RoleRequired
from ledger.policy.limits import commitment, require_spend_authority
from ledger.values import Budget, plain


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("1003.750000000000000000000000"), "1003.75"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1000.0000"), "1000"),
        (Decimal("0.00"), "0"),
        (Decimal(10) * Decimal(365) / 12, "304.1667"),
        (Decimal("0.0001"), "0.0001"),
    ],
)
def test_an_amount_is_printed_without_trailing_zeros_exponent_or_endless_decimals(
    amount: Decimal, shown: str
) -> None:
    """Plain digits, at most the four decimals an amount holds."""
    assert plain(amount) == shown


def test_a_spend_authority_refusal_prints_what_was_asked_normalised() -> None:
    """33 a day asks 1003.75 a month of a 1000 limit: the refusal says "1003.75"."""
    org = SimpleNamespace(
        approval_limit=Decimal("1000.0000"), limit_period="calendar_month", time_zone="UTC"
    )
    asked = commitment(Budget(amount=Decimal(33), currency="EUR", period="daily"))
    assert str(asked) == "1003.750000000000000000000000"  # what it printed before
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with pytest.raises(RoleRequired) as refused:
        require_spend_authority(org, [], asked, at, uuid4())
    context = refused.value.context
    assert (context["asked"], context["used"], context["approval_limit"]) == (
        "1003.75",
        "0",
        "1000",
    )
    assert "1003.75 more needs an executive" in refused.value.detail
    assert "limit of 1000 per" in refused.value.detail
