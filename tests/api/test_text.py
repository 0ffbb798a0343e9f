"""Text over HTTP: control characters and blank reasons refused with 422 naming the field,
nothing appended."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

PLAN = {
    "name": "Autumn",
    "objective": "Sales",
    "channels": ["ppc"],
    "budget": {"amount": "100.50", "currency": "EUR", "period": "daily"},
}


def count(api: Api) -> int:
    return len(api.world.events())


@pytest.mark.parametrize("field", ["name", "objective"])
@pytest.mark.parametrize("char", ["\u0000", "\u001b", "\u0085"])
def test_a_campaign_name_or_objective_with_a_control_character_is_refused(
    api: Api, field: str, char: str
) -> None:
    """The "poison\\u0000" campaign of issue 11 answers 422 naming the field; no event."""
    before = count(api)
    r = api.post(
        f"/v1/organizations/{api.world.org_id}/campaigns",
        "manager",
        {**PLAN, field: f"poi{char}son"},
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "invalid_request"
    (error,) = problem["errors"]
    assert error["loc"] == ["body", field]
    assert error["type"] == "text_control_character"
    assert f"U+{ord(char):04X}" in error["msg"]
    assert count(api) == before


def test_a_lone_surrogate_in_json_text_is_refused_not_a_500(api: Api) -> None:
    """A JSON escape of half a surrogate pair cannot be stored as UTF-8: 422, no event."""
    before = count(api)
    r = api.client.post(
        f"/v1/organizations/{api.world.org_id}/campaigns",
        content=b'{"name": "x\\ud800", "objective": "o", "channels": ["ppc"], '
        b'"budget": {"amount": "1", "currency": "EUR", "period": "daily"}}',
        headers={**api.auth("manager"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "name"]
    assert count(api) == before


@pytest.mark.parametrize("blank", ["   ", "\t\n"])
def test_a_deviation_reason_of_only_whitespace_is_refused(api: Api, blank: str) -> None:
    """Issue 11, point 3: spaces are not a justified deviation; 422 naming it, no event."""
    before = count(api)
    r = api.post(
        f"/v1/campaigns/{api.world.campaign_id}/launch", "manager", {"deviation_reason": blank}
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "deviation_reason"]
    assert count(api) == before


@pytest.mark.parametrize("blank", ["\u200b", "\u2800", "\u3164", "\ufeff", "\u115f \u1160\uffa0"])
def test_a_deviation_reason_of_only_invisible_characters_is_refused(api: Api, blank: str) -> None:
    """A zero-width space, a Braille blank or a Hangul filler is no justified deviation:
    422 text_blank naming the field, no event."""
    before = count(api)
    r = api.post(
        f"/v1/campaigns/{api.world.campaign_id}/launch", "manager", {"deviation_reason": blank}
    )
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert (error["loc"], error["type"]) == (["body", "deviation_reason"], "text_blank")
    assert count(api) == before


def test_tabs_and_new_lines_in_text_are_accepted_and_kept(api: Api) -> None:
    """Ordinary multi-line text in any script is accepted and read back as sent."""
    objective = "Line 1\r\n\tĐợt 2 — 広告"
    r = api.post(
        f"/v1/organizations/{api.world.org_id}/campaigns",
        "manager",
        {**PLAN, "objective": objective},
    )
    assert r.status_code == 201, r.text
    got = api.client.get(r.headers["location"], headers=api.auth("manager")).json()
    assert got["objective"] == objective


TARGET = {"metric": "roi", "target": "2", "unit": "%"}


@pytest.mark.parametrize(
    ("path", "who", "body", "loc"),
    [
        ("/v1/organizations/{org}/campaigns", "manager", {**PLAN, "name": " "}, ["name"]),
        (
            "/v1/organizations/{org}/campaigns",
            "manager",
            {**PLAN, "kpi_targets": [{**TARGET, "unit": "   "}]},
            ["kpi_targets", "0", "unit"],
        ),
        ("/v1/organizations/{org}/settings", "admin", {"name": "   "}, ["name"]),
        (
            "/v1/organizations",
            "operator",
            {"name": "\u200b", "default_currency": "EUR", "approval_limit": "1"},
            ["name"],
        ),
        (
            "/v1/organizations/{org}/recommendations",
            "consultant",
            {
                "engagement_id": "{engagement}",
                "kind": "strategy",
                "rationale": "CPA fell",
                "evidence": [" "],
                "expected_impact": "+10%",
                "expires_at": "2099-01-01T00:00:00Z",
            },
            ["evidence", "0"],
        ),
    ],
)
def test_a_blank_name_kpi_unit_or_evidence_item_is_refused_naming_the_field(
    api: Api, path: str, who: str, body: dict[str, object], loc: list[object]
) -> None:
    """Campaign name " ", organization name "   ", KPI unit "   ", evidence [" "]: 422
    text_blank naming the field, no event."""
    w = api.world
    body = {k: str(w.engagement_id) if v == "{engagement}" else v for k, v in body.items()}
    before = count(api)
    r = api.post(path.format(org=w.org_id), who, body)
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert (error["loc"], error["type"]) == (["body", *loc], "text_blank")
    assert count(api) == before


@pytest.mark.parametrize("zone", ["localtime", "Factory"])
def test_a_time_zone_that_names_no_place_is_refused_in_the_settings(api: Api, zone: str) -> None:
    """ "localtime" (the host's link) and "Factory" are no IANA place: 422 naming
    time_zone, no event; "Europe/Paris" passes."""
    path = f"/v1/organizations/{api.world.org_id}/settings"
    before = count(api)
    r = api.post(path, "admin", {"time_zone": zone})
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["loc"] == ["body", "time_zone"]
    assert count(api) == before
    assert api.post(path, "admin", {"time_zone": "Europe/Paris"}).status_code == 200


@pytest.mark.parametrize("name", ["a\u202eb", "Mia\u2067Lee", "Mia\u200fLee", "\u200b"])
def test_a_directory_name_with_a_bidirectional_control_or_nothing_visible_is_refused(
    api: Api, name: str
) -> None:
    """A right-to-left override (or isolate, or mark) could show one person's name as
    another's; a zero-width name shows none: 422 naming the field, nothing stored."""
    subject = api.world.manager.actor_id
    r = api.client.put(
        f"/v1/names/{subject}",
        json={"kind": "actor", "name": name},
        headers=api.auth("operator"),
    )
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["loc"] == ["body", "name"]
    assert error["type"] in ("name_bidi_control", "text_blank")
    assert api.app.state.names.get(subject) is None


def test_a_spend_authority_refusal_shows_the_amount_asked_normalised(api: Api) -> None:
    """A manager's launch of 33 a day asks 1003.75 a month of a 1000 limit: 403 whose
    context and detail say "1003.75", not a 28-digit decimal; no event."""
    w = api.world
    daily = {**PLAN, "budget": {"amount": "33", "currency": "EUR", "period": "daily"}}
    planned = api.post(f"/v1/organizations/{w.org_id}/campaigns", "manager", daily)
    assert planned.status_code == 201, planned.text
    before = count(api)
    r = api.post(f"/v1/campaigns/{planned.json()['aggregate_id']}/launch", "manager")
    assert r.status_code == 403, r.text
    problem = r.json()
    assert problem["code"] == "role_required"
    assert (problem["context"]["asked"], problem["context"]["used"]) == ("1003.75", "0")
    assert "1003.75 more needs an executive" in problem["detail"]
    assert count(api) == before
