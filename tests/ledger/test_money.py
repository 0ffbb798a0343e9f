"""Money never passes through a float.

DOMAIN.md: money is a decimal amount with an ISO 4217 currency, never a float. A float is
refused where the command is built, from JSON or from Python, before it can lose a cent;
decimal strings and integers are kept exactly, through the store and back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from ledger import commands as c
from ledger.domain.organization import Organization
from ledger.errors import FloatMoneyRefused, InvalidCommand
from ledger.values import Budget, KpiTarget, Money
from tests.ledger.checks import assert_refused, campaign, store_state
from tests.support import World, budget

FLOAT = 1000.5
ID = str(uuid4())
BUDGET = {"amount": FLOAT, "currency": "EUR", "period": "monthly"}
MONEY = {"amount": FLOAT, "currency": "EUR"}

# Each JSON body carries one float where money (or a KPI target) belongs.
JSON_BODIES: dict[str, tuple[type[c.Command], dict[str, Any]]] = {
    "approval limit": (
        c.CreateOrganization,
        {"name": "A", "default_currency": "EUR", "approval_limit": FLOAT},
    ),
    "planned budget": (
        c.PlanCampaign,
        {
            "organization_id": ID,
            "name": "A",
            "objective": "B",
            "channels": ["seo"],
            "budget": BUDGET,
        },
    ),
    "adjusted budget": (c.AdjustBudget, {"campaign_id": ID, "budget": BUDGET}),
    "kpi target": (
        c.SetKpiTargets,
        {"campaign_id": ID, "kpi_targets": [{"metric": "cpa", "target": FLOAT, "unit": "EUR"}]},
    ),
    "spend": (
        c.RecordPerformance,
        {
            "campaign_id": ID,
            "period_start": "2026-03-01T00:00:00Z",
            "period_end": "2026-03-02T00:00:00Z",
            "spend": MONEY,
            "impressions": 10,
            "clicks": 1,
            "conversions": 0,
            "revenue": {"amount": "0", "currency": "EUR"},
        },
    ),
    "proposed budget": (
        c.Recommend,
        {
            "organization_id": ID,
            "engagement_id": ID,
            "campaign_id": ID,
            "kind": "adjust_budget",
            "change": {"budget": BUDGET},
            "rationale": "r",
            "expected_impact": "i",
            "expires_at": "2026-04-01T00:00:00Z",
        },
    ),
    "approved budget": (
        c.ApproveWithChanges,
        {
            "recommendation_id": ID,
            "revision": 1,
            "approved_change": {"budget": BUDGET},
            "note": "n",
        },
    ),
}

PYTHON_CALLS: dict[str, Callable[[], object]] = {
    "Budget": lambda: Budget(amount=FLOAT, currency="EUR", period="monthly"),
    "Money": lambda: Money(amount=FLOAT, currency="EUR"),
    "KpiTarget": lambda: KpiTarget(metric="cpa", target=FLOAT, unit="EUR"),
    "CreateOrganization": lambda: c.CreateOrganization(
        name="A",
        default_currency="EUR",
        approval_limit=FLOAT,  # type: ignore[arg-type]
    ),
    "AdjustBudget from a dict": lambda: c.AdjustBudget.model_validate(
        {"campaign_id": uuid4(), "budget": BUDGET}
    ),
}


@pytest.mark.parametrize("where", list(JSON_BODIES))
def test_a_float_amount_in_a_json_command_is_refused(where: str) -> None:
    """Given a JSON body with 1000.5 as a number, building the command is refused."""
    command_class, body = JSON_BODIES[where]
    with pytest.raises(FloatMoneyRefused) as caught:
        command_class.model_validate_json(json.dumps(body))
    assert caught.value.context == {"value": "1000.5"}


@pytest.mark.parametrize(
    "where",
    list(JSON_BODIES),
)
def test_the_same_json_command_with_a_decimal_string_is_accepted(where: str) -> None:
    """Given the same bodies with "1000.5" as a string, each builds with an exact Decimal."""
    command_class, body = JSON_BODIES[where]
    text = json.dumps(body).replace("1000.5", '"1000.5"')
    command = command_class.model_validate_json(text)
    assert "1000.5" in command.model_dump_json()


@pytest.mark.parametrize("where", list(PYTHON_CALLS))
def test_a_float_amount_given_in_python_is_refused(where: str) -> None:
    """Given Python code passing 1000.5 as a float, the value object refuses it."""
    with pytest.raises(FloatMoneyRefused):
        PYTHON_CALLS[where]()


def test_a_refused_float_never_reaches_the_store(world: World) -> None:
    """Given a ledger, when a client sends a float budget, nothing is appended."""
    before = store_state(world)
    body = {"campaign_id": str(world.campaign_id), "budget": BUDGET}
    with pytest.raises(FloatMoneyRefused):
        world.run(world.manager, c.AdjustBudget.model_validate_json(json.dumps(body)))
    assert store_state(world) == before


def test_decimal_amounts_keep_every_digit_through_the_store(world: World) -> None:
    """Given a budget of 12345678901234.56 EUR, when stored and reloaded, it is that exact
    decimal (sixteen digits, beyond what a float holds)."""
    world.run(
        world.executive,
        c.AdjustBudget(campaign_id=world.campaign_id, budget=budget("12345678901234.56")),
    )
    stored = campaign(world).state.budget
    assert stored["amount"] == "12345678901234.56"
    assert Budget.model_validate(stored).amount == Decimal("12345678901234.56")


def test_the_approval_limit_is_stored_as_an_exact_decimal(world: World) -> None:
    """Given an approval limit of 1000.55, the reloaded organization holds Decimal 1000.55."""
    world.run(
        world.admin,
        c.ChangeOrganizationSettings(
            organization_id=world.org_id, approval_limit=Decimal("1000.55")
        ),
    )
    org: object = world.ledger.repository.get(world.org_id)
    assert isinstance(org, Organization)
    assert org.state.approval_limit == Decimal("1000.55")
    assert isinstance(org.state.approval_limit, Decimal)


@pytest.mark.parametrize(
    ("amount", "currency", "decimals"),
    [
        ("1000.50", "VND", 0),
        ("1000.50", "JPY", 0),
        ("100.123", "EUR", 2),
        ("0.001", "USD", 2),
        ("12.3456", "KWD", 3),
        ("1.0001", "BHD", 3),
        ("0.0005", "TND", 3),
    ],
)
def test_an_amount_finer_than_its_currency_is_refused_naming_the_currency(
    amount: str, currency: str, decimals: int
) -> None:
    """Given more fraction digits than the ISO 4217 minor unit, Money and Budget refuse it
    with invalid_command, naming the currency and its number of decimals."""
    for build in (
        lambda: Money.model_validate({"amount": amount, "currency": currency}),
        lambda: Budget.model_validate(
            {"amount": amount, "currency": currency, "period": "monthly"}
        ),
    ):
        with pytest.raises(InvalidCommand) as caught:
            build()
        assert caught.value.code == "invalid_command"
        assert caught.value.context["currency"] == currency
        assert caught.value.context["decimals"] == decimals
        assert f"{currency} has: {decimals}" in caught.value.detail


@pytest.mark.parametrize(
    ("amount", "currency", "stored"),
    [
        ("1000.500", "KWD", "1000.500"),
        ("100.10", "EUR", "100.10"),
        ("100", "EUR", "100"),
        ("1000.0", "JPY", "1000"),
        ("1000.00", "VND", "1000"),
        ("100.100", "EUR", "100.10"),
    ],
)
def test_zeros_beyond_the_minor_unit_are_accepted_and_dropped(
    amount: str, currency: str, stored: str
) -> None:
    """Trailing zeros within the minor unit stay; zeros beyond it are dropped, so JPY
    "1000.0" is the integral 1000."""
    money = Money.model_validate({"amount": amount, "currency": currency})
    assert money.to_event() == {"amount": stored, "currency": currency}


def test_stored_amounts_are_read_back_without_the_minor_unit_check() -> None:
    """An amount stored before the rule (EUR 100.123) still loads from its event."""
    stored = {"amount": "100.123", "currency": "EUR", "period": "monthly"}
    assert Budget.from_event(stored).amount == Decimal("100.123")


def test_an_approval_limit_finer_than_the_currency_is_refused_and_appends_nothing(
    world: World,
) -> None:
    """A JPY organization with a limit of 1000.5 is refused, and so is moving an
    organization whose limit is 1000.55 EUR to JPY; nothing is appended."""
    create = c.CreateOrganization(
        name="B", default_currency="JPY", approval_limit=Decimal("1000.5")
    )
    assert_refused(world, world.operator, create, InvalidCommand)
    world.run(
        world.admin,
        c.ChangeOrganizationSettings(
            organization_id=world.org_id, approval_limit=Decimal("1000.55")
        ),
    )
    to_yen = c.ChangeOrganizationSettings(organization_id=world.org_id, default_currency="JPY")
    assert_refused(world, world.admin, to_yen, InvalidCommand)
