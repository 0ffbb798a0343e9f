"""Any Unicode through every text field of plan, recommend and reject over HTTP on
PostgreSQL: refused naming the field, or accepted and read back equal in all three views."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Api

NO_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
TEXT = st.text(st.characters(exclude_categories=NO_SURROGATES), max_size=40)
PLAN_FIELDS = {"name": ("name",), "objective": ("objective",), "unit": ("kpi_targets", 0, "unit")}
RECOMMEND_FIELDS = {
    "rationale": ("rationale",),
    "expected_impact": ("expected_impact",),
    "evidence": ("evidence", 0),
}
FIELDS = [("plan", f) for f in PLAN_FIELDS] + [("recommend", f) for f in RECOMMEND_FIELDS]
FIELDS += [("reject", "reason_text")]


def leaves(value: Any) -> set[str]:
    """Every string anywhere in a JSON value."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(leaves(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(leaves(v) for v in value))
    return set()


def view(api: Api, path: str, position: int, **params: Any) -> set[str]:
    r = api.client.get(
        f"/v1/organizations/{api.world.org_id}/{path}",
        params={"after": position, "limit": 500, **params},
        headers=api.auth("auditor"),
    )
    assert r.status_code == 200, r.text
    assert int(r.headers["x-ledger-position"]) >= position
    return leaves(r.json()["items"])


def plan_body(field: str, text: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "n",
        "objective": "o",
        "channels": ["ppc"],
        "budget": {"amount": "10", "currency": "EUR", "period": "daily"},
        "kpi_targets": [{"metric": "ctr", "target": "1", "unit": "%"}],
    }
    if field == "unit":
        body["kpi_targets"][0]["unit"] = text
    else:
        body[field] = text
    return body


def recommend_body(api: Api, field: str, text: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "engagement_id": str(api.world.engagement_id),
        "kind": "strategy",
        "rationale": "r",
        "evidence": ["e"],
        "expected_impact": "i",
        "expires_at": "2099-01-01T00:00:00Z",
    }
    body[field] = [text] if field == "evidence" else text
    return body


def send(api: Api, command: str, field: str, text: str) -> tuple[Any, tuple[Any, ...]]:
    org = api.world.org_id
    if command == "plan":
        r = api.post(f"/v1/organizations/{org}/campaigns", "manager", plan_body(field, text))
        return r, PLAN_FIELDS[field]
    if command == "recommend":
        body = recommend_body(api, field, text)
        return api.post(f"/v1/organizations/{org}/recommendations", "consultant", body), (
            RECOMMEND_FIELDS[field]
        )
    made = api.post(
        f"/v1/organizations/{org}/recommendations",
        "consultant",
        recommend_body(api, "rationale", "r"),
    )
    rec = made.json()["aggregate_id"]
    body = {"revision": 1, "reason_code": "timing", "reason_text": text}
    return api.post(f"/v1/recommendations/{rec}/reject", "manager", body), ("reason_text",)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=st.sampled_from(FIELDS), text=TEXT)
def test_any_text_is_refused_naming_its_field_or_visible_in_every_view(
    api: Api, case: tuple[str, str], text: str
) -> None:
    """Either 422 whose error names the field sent, or the text (trimmed where the field
    trims) read back in the audit trail and in the campaign states (plan) or the register
    (reject; for recommend, which the register keeps no text of, its row)."""
    command, field = case
    r, loc = send(api, command, field, text)
    if r.status_code == 422:
        named = [tuple(e["loc"][1:]) for e in r.json()["errors"]]
        assert named == [tuple(str(part) for part in loc)], r.text
        return
    assert r.status_code in (200, 201), r.text
    position = r.json()["position"]
    wanted = {text, text.strip()}
    aggregate = r.json()["aggregate_id"]
    key = "campaign_id" if command == "plan" else "recommendation_id"
    assert wanted & view(api, "audit-trail", position, **{key: aggregate})
    if command == "recommend":  # the register keeps no rationale or evidence: the row is there
        assert aggregate in view(api, "register", position)
        return
    other = "campaign-states" if command == "plan" else "register"
    assert wanted & view(api, other, position)
