"""Edges found by review: every refusal precise, nothing appended, no 500."""

from __future__ import annotations

import pytest

from ledger.persistence.store import StoreConfigError, eventsourcing_env
from ledger.settings import Settings
from tests.api.conftest import Api

BUDGET = {"currency": "EUR", "period": "monthly"}


def events(api: Api) -> int:
    return len(api.world.events())


def test_starting_an_engagement_answers_201_with_its_location(api: Api) -> None:
    """The engagement route answers 201 and a Location naming the organization and the
    new engagement."""
    w = api.world
    r = api.post(
        f"/v1/organizations/{w.org_id}/engagements",
        "admin",
        {
            "agency_id": str(w.agency_id),
            "consultant_ids": [str(w.consultant.actor_id)],
            "channels": ["email"],
            "starts_at": "2026-01-01T00:00:00Z",
            "ends_at": "2099-01-01T00:00:00Z",
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == (
        f"/v1/organizations/{w.org_id}/engagements/{r.json()['resource_id']}"
    )


@pytest.mark.parametrize(
    "amount",
    [
        "1e3",
        "1E+3",
        "+1500",
        " 42",
        "1500 ",
        "1_000",
        ".5",
        "5.",
        "-0",
        "1.23456",
        "\u0661\u0665\u0660\u0660",
    ],
)
def test_an_amount_that_is_not_a_plain_decimal_string_is_refused(api: Api, amount: str) -> None:
    """Only digits with an optional point and up to four decimals are money."""
    before = events(api)
    r = api.post(
        f"/v1/campaigns/{api.world.campaign_id}/budget",
        "manager",
        {"budget": {"amount": amount, **BUDGET}},
    )
    assert r.status_code == 422, (amount, r.text)
    assert events(api) == before


@pytest.mark.parametrize("currency", ["XXX", "ABC", "XAU"])
def test_a_currency_that_is_not_iso_4217_money_is_refused(api: Api, currency: str) -> None:
    """Codes outside ISO 4217, and its non-money codes, are refused."""
    r = api.post(
        "/v1/organizations",
        "operator",
        {"name": "X", "default_currency": currency, "approval_limit": "10"},
    )
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("revision", ["1", True, 1.0])
def test_numbers_and_flags_are_strict_over_http(api: Api, revision: object) -> None:
    """A revision sent as a string, a boolean or a float is refused, not coerced."""
    rec = api.world.recommend()
    r = api.post(f"/v1/recommendations/{rec}/approve", "manager", {"revision": revision})
    assert r.status_code == 422, r.text


def test_a_blank_rejection_reason_is_refused(api: Api) -> None:
    """Whitespace is not a reason."""
    rec = api.world.recommend()
    r = api.post(
        f"/v1/recommendations/{rec}/reject",
        "manager",
        {"revision": 1, "reason_code": "timing", "reason_text": "   "},
    )
    assert r.status_code == 422, r.text


def test_a_command_without_fields_refuses_junk_and_unknown_fields(api: Api) -> None:
    """Expire takes no fields: malformed JSON is 400, an unknown field 422, nothing appended."""
    path = f"/v1/recommendations/{api.world.recommend()}/expire"
    before = events(api)
    bad = api.client.post(
        path,
        content=b"{not json",
        headers={**api.auth("manager"), "Content-Type": "application/json"},
    )
    assert bad.status_code == 400
    assert api.post(path, "manager", {"actor_id": "x"}).status_code == 422
    assert events(api) == before


def test_an_oversized_chunked_body_is_a_413(api: Api) -> None:
    """The body limit holds however the body is sent."""

    def chunks():
        yield b'{"note": "'
        for _ in range(80):
            yield b"x" * 1000
        yield b'"}'

    r = api.client.post(
        f"/v1/campaigns/{api.world.campaign_id}/launch",
        content=chunks(),
        headers={**api.auth("manager"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413


def test_a_refused_command_says_why_in_its_detail(api: Api) -> None:
    """A cross-field refusal names the rule in the problem's detail."""
    w = api.world
    r = api.post(
        f"/v1/organizations/{w.org_id}/engagements",
        "admin",
        {
            "agency_id": str(w.agency_id),
            "consultant_ids": [str(w.consultant.actor_id)],
            "channels": ["email"],
            "starts_at": "2026-01-02T00:00:00Z",
            "ends_at": "2026-01-01T00:00:00Z",
        },
    )
    assert r.status_code == 422
    assert "ends_at must be after starts_at" in r.json()["detail"]


def test_an_events_history_answers_the_same_for_a_foreign_id_and_a_random_one(api: Api) -> None:
    """Another tenant's campaign and an id that names nothing get the same 404."""
    from tests.support import World

    other = World(api.world.ledger, api.world.clock).setup()
    foreign = api.client.get(
        f"/v1/aggregates/{other.campaign_id}/events", headers=api.auth("manager")
    ).json()
    random = api.client.get(
        "/v1/aggregates/00000000-0000-4000-8000-000000000001/events", headers=api.auth("manager")
    ).json()
    assert foreign["detail"] == random["detail"] == "aggregate not found"


@pytest.mark.parametrize(
    "url", ["sqlite:///:memory:", "sqlite:///file::memory:?cache=shared", "memory://"]
)
def test_in_memory_storage_is_refused_outside_tests(url: str) -> None:
    """Every spelling of in-memory storage is refused unless explicitly allowed."""
    with pytest.raises(StoreConfigError):
        eventsourcing_env(Settings(database_url=url))


@pytest.mark.parametrize(
    "body",
    [
        b'{"budget": {"amount": "1", "currency": "EUR", "period": "monthly"},'
        b' "budget": {"amount": "2", "currency": "EUR", "period": "monthly"}}',
        b'{"budget": {"amount": "1", "amount": "2", "currency": "EUR", "period": "monthly"}}',
    ],
    ids=["top-level", "nested"],
)
def test_a_body_that_names_a_key_twice_is_refused_and_records_nothing(
    api: Api, body: bytes
) -> None:
    """Which of two values was meant is ambiguous: 400, not the last one silently."""
    before = api.world.events()
    r = api.client.post(
        f"/v1/campaigns/{api.world.campaign_id}/budget",
        content=body,
        headers={**api.auth("manager"), "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "malformed_json"
    assert "'budget'" in r.json()["detail"] or "'amount'" in r.json()["detail"]
    assert api.world.events() == before


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("{}".encode("utf-16-le"), "NUL bytes"),
        ("{}".encode("utf-16"), "not UTF-8"),
        ("{}".encode("utf-32-be"), "NUL bytes"),
        ("{}".encode("utf-8-sig"), "byte order mark"),
        (b'{"note": "caf\xe9"}', "not UTF-8"),
    ],
)
def test_a_body_that_is_not_utf8_json_is_refused_saying_why(
    api: Api, body: bytes, why: str
) -> None:
    """UTF-16, UTF-32, BOM-prefixed and Latin-1 bodies are 400 malformed_json naming the
    rule (RFC 8259 §8.1), and nothing is appended."""
    before = events(api)
    r = api.client.post(
        f"/v1/campaigns/{api.world.campaign_id}/launch",
        content=body,
        headers={**api.auth("manager"), "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "malformed_json"
    assert why in r.json()["detail"]
    assert "RFC 8259" in r.json()["detail"]
    assert events(api) == before


def test_a_bundle_whose_period_starts_after_it_ends_is_400(api: Api) -> None:
    """``from`` after ``to`` is 400 reversed_period, not an empty bundle; a plain date is
    that day at 00:00 UTC rather than failing to compare."""
    path = f"/v1/organizations/{api.world.org_id}/integrity/bundle"
    reversed_ = {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}
    r = api.client.get(path, params=reversed_, headers=api.auth("auditor"))
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "reversed_period"
    day = {"from": "2026-03-01", "to": "2099-03-01T00:00:00Z"}
    assert api.client.get(path, params=day, headers=api.auth("auditor")).status_code == 200
