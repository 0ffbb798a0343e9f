"""Filters that never lie, over HTTP on SQLite and PostgreSQL: every time parameter read one
way, enumerated filters that refuse what they do not know, repeats that mean OR or are
refused, unknown parameters refused, and ``as_of``/``kind``/``decided_since`` honoured."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

from ledger import commands as c
from ledger.values import KpiTarget, RejectionReason
from tests.api.conftest import Api

Params = list[tuple[str, str]] | dict[str, str]


def get(api: Api, path: str, params: Params, who: str = "auditor") -> tuple[int, Any]:
    query = params if isinstance(params, dict) else tuple(params)  # a tuple: covariant
    r = api.client.get(path, params=query, headers=api.auth(who))
    return r.status_code, r.json()


def refused(api: Api, path: str, params: Params, *words: str) -> str:
    """The detail of a 400 invalid_query, checked to hold every one of ``words``."""
    status, body = get(api, path, params)
    assert status == 400, (path, params, body)
    assert body["code"] == "invalid_query", body
    assert body["type"].endswith("/invalid_query")
    for word in words:
        assert word in body["detail"], (word, body["detail"])
    return str(body["detail"])


def time_reads(api: Api) -> list[tuple[str, str]]:
    """Every read that takes a time parameter, with the parameter."""
    w, org = api.world, f"/v1/organizations/{api.world.org_id}"
    rec = w.recommend()
    return [
        (f"{org}/audit-trail", "since"),
        (f"{org}/audit-trail", "until"),
        (f"{org}/register", "since"),
        (f"{org}/register", "until"),
        (f"{org}/register", "decided_since"),
        (f"{org}/register", "decided_until"),
        (f"{org}/reports/handling", "since"),
        (f"{org}/reports/handling", "until"),
        (f"{org}/exceptions", "since"),
        (f"{org}/exceptions", "until"),
        (f"{org}/decisions", "recommended_since"),
        (f"{org}/decisions", "decided_until"),
        (f"{org}/decisions", "executed_since"),
        (f"{org}/campaign-states", "as_of"),
        (f"/v1/campaigns/{w.campaign_id}/state", "as_of"),
        (f"/v1/campaigns/{w.campaign_id}", "as_of"),
        (f"/v1/recommendations/{rec}", "as_of"),
        (f"{org}/integrity/bundle", "from"),
        (f"{org}/integrity/bundle", "to"),
    ]


def test_a_time_parameter_in_any_other_form_is_400_invalid_query_on_every_read(
    api: Api,
) -> None:
    """An epoch (``0.5``, which FastAPI read as 1970), a zoneless time, an impossible date,
    a word: 400 invalid_query naming the parameter and the accepted forms, never 500, never
    an answer for another moment; no event is appended."""
    before = len(api.world.events())
    for path, name in time_reads(api):
        for value in ("0.5", "1700000000", "2026-03-01T00:00:00", "2026-02-30", "now"):
            detail = refused(api, path, {name: value}, f"{name}={value!r}", "RFC 3339")
            assert "plain date" in detail
    assert len(api.world.events()) == before + 1  # the one recommendation time_reads made


def test_a_plain_date_means_that_day_at_00_00_utc_on_every_read(api: Api) -> None:
    """``2026-03-01`` is accepted wherever a time is; tomorrow's date as ``since`` leaves
    out what was recorded today, today's date keeps it."""
    for path, name in time_reads(api):
        r = api.client.get(path, params={name: "2026-03-01"}, headers=api.auth("auditor"))
        assert r.status_code in (200, 404), (path, name, r.text)  # 404: as_of before it existed
    position = api.world.launch().position
    today = datetime.now(UTC).date()
    path = f"/v1/organizations/{api.world.org_id}/audit-trail"
    _, kept = get(api, path, {"since": today.isoformat(), "after": str(position)})
    assert kept["items"]
    _, later = get(api, path, {"since": (today + timedelta(days=1)).isoformat()})
    assert later["items"] == []
    _, earlier = get(api, path, {"until": today.isoformat()})
    assert earlier["items"] == []


ENUMERATED = [
    ("register", "status", "Pending", "'pending'"),
    ("register", "status", "open", "'awaiting_executive'"),
    ("register", "kind", "budget", "'adjust_budget'"),
    ("campaign-states", "status", "running", "'active'"),
    ("audit-trail", "role", "boss", "'manager'"),
    ("audit-trail", "party", "vendor", "'agency'"),
    ("audit-trail", "event_type", "Campaign.Deleted", "'Campaign.Planned'"),
    ("reports/handling", "kind", "budget", "'adjust_budget'"),
    ("reports/handling", "period", "week", "'month'"),
    ("exceptions", "kind", "late", "'deviation'"),
    ("audit-trail", "format", "xml", "'csv'"),
]


def test_an_enumerated_filter_refuses_an_unknown_value_listing_the_allowed_ones(
    api: Api,
) -> None:
    """``status=Pending``, ``status=open``, ``kind=budget`` (200 with an empty list before)
    and every other enumerated filter: 400 invalid_query naming the parameter, the value
    and the values allowed."""
    org = f"/v1/organizations/{api.world.org_id}"
    for read, name, value, allowed in ENUMERATED:
        refused(api, f"{org}/{read}", {name: value}, f"{name}={value!r}", allowed)
    allowed_kinds = "'launch', 'pause'"
    refused(api, f"{org}/register", [("kind", "seo"), ("kind", "x")], "kind", allowed_kinds)


def test_a_repeated_enumerated_filter_means_any_of_its_values(api: Api) -> None:
    """``status=pending&status=rejected`` lists both (the last one alone was kept before);
    the same for the kinds, the campaign states' status, the trail's types and roles."""
    w, org = api.world, f"/v1/organizations/{api.world.org_id}"
    pending, rejected, seo = w.recommend(), w.recommend(), w.recommend(kind="seo")
    w.approve(w.recommend())
    done = w.run(
        w.manager,
        c.Reject(
            recommendation_id=rejected,
            revision=1,
            reason_code=RejectionReason.TIMING,
            reason_text="not now",
        ),
    )
    after = str(done.position)

    def ids(read: str, params: list[tuple[str, str]], key: str) -> set[str]:
        status, body = get(api, f"{org}/{read}", [*params, ("after", after)])
        assert status == 200, body
        return {item[key] for item in body["items"]}

    both = ids("register", [("status", "pending"), ("status", "rejected")], "recommendation_id")
    assert both == {str(pending), str(rejected), str(seo)}
    assert ids("register", [("status", "rejected")], "recommendation_id") == {str(rejected)}
    kinds = [("kind", "seo"), ("kind", "strategy")]
    assert ids("register", kinds, "recommendation_id") == {str(seo)}
    mixed = [("status", "pending"), ("kind", "adjust_budget")]
    assert ids("register", mixed, "recommendation_id") == {str(pending)}
    w.plan()
    launched = w.launch()
    after = str(launched.position)
    states = [("status", "draft"), ("status", "active")]
    assert len(ids("campaign-states", states, "campaign_id")) == 2
    assert len(ids("campaign-states", states[1:], "campaign_id")) == 1
    types = [("event_type", "Recommendation.Rejected"), ("event_type", "Campaign.Launched")]
    assert ids("audit-trail", types, "event_type") == {
        "Recommendation.Rejected",
        "Campaign.Launched",
    }
    roles = [("role", "executive"), ("role", "consultant")]
    assert ids("audit-trail", roles, "role") == {"executive", "consultant"}


def test_a_single_valued_parameter_given_twice_is_400_invalid_query(api: Api) -> None:
    """Two ``since``, two ``cursor``, two ``campaign_id``, two exception kinds: refused,
    naming the parameter (the last one silently won before)."""
    w, org = api.world, f"/v1/organizations/{api.world.org_id}"
    twice = [
        (f"{org}/audit-trail", "since", "2026-03-01"),
        (f"{org}/register", "cursor", "1"),
        (f"{org}/register", "campaign_id", str(w.campaign_id)),
        (f"{org}/exceptions", "kind", "deviation"),
        (f"{org}/reports/handling", "period", "month"),
        (f"/v1/campaigns/{w.campaign_id}", "as_of", "2026-03-01"),
    ]
    for path, name, value in twice:
        refused(api, path, [(name, value), (name, value)], f"{name} (2 times)", "one value")


def test_a_parameter_a_route_does_not_take_is_400_naming_what_it_takes(api: Api) -> None:
    """A misspelt filter, ``kind`` on the campaign states, anything on a command: 400
    invalid_query naming it and the route's parameters; nothing is appended."""
    w, org = api.world, f"/v1/organizations/{api.world.org_id}"
    refused(
        api,
        f"{org}/register",
        {"statuses": "pending"},
        "unknown parameter statuss"[:-1],
        "this route accepts: after, author_id, campaign_id, cursor, decided_since",
    )
    refused(api, f"{org}/campaign-states", {"kind": "seo"}, "unknown parameter kind", "as_of")
    refused(api, f"/v1/organizations/{w.org_id}", {"as_of": "2026-03-01"}, "accepts: no query")
    refused(api, f"{org}/exceptions", {"days": "14"}, "unknown parameter days", "older_than")
    before = len(w.events())
    r = api.client.post(
        f"/v1/campaigns/{w.campaign_id}/launch",
        params={"dry_run": "1"},
        json={},
        headers=api.auth("executive"),
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_query"
    assert "unknown parameter dry_run" in r.json()["detail"]
    assert len(w.events()) == before


def test_a_malformed_number_or_id_in_the_query_is_400_invalid_query(api: Api) -> None:
    """``limit=ten``, ``after=-1``, ``campaign_id=abc``: 400 invalid_query naming the
    parameter (it was 422 invalid_request, as a body is)."""
    org = f"/v1/organizations/{api.world.org_id}"
    refused(api, f"{org}/register", {"limit": "ten"}, "limit='ten'", "integer")
    refused(api, f"{org}/audit-trail", {"after": "-1"}, "after='-1'")
    refused(api, f"{org}/audit-trail", {"campaign_id": "abc"}, "campaign_id='abc'", "UUID")


def test_every_route_accepts_exactly_the_query_parameters_its_openapi_document_lists(
    api: Api,
) -> None:
    """On every documented operation, an unknown parameter is refused with the list of the
    parameters the route takes, and that list is the one the OpenAPI document gives."""
    checked = 0
    for template, operations in api.app.openapi()["paths"].items():
        path = re.sub(r"\{[^}]+\}", str(uuid4()), template)
        for method, operation in operations.items():
            listed = sorted(
                p["name"] for p in operation.get("parameters", []) if p["in"] == "query"
            )
            r = api.client.request(
                method.upper(),
                path,
                params={"zz_unknown": "1"},
                json={} if method == "post" else None,
                headers=api.auth("operator"),
            )
            assert r.status_code == 400, (method, template, r.text)
            accepts = r.json()["detail"].partition("this route accepts: ")[2]
            assert accepts == (", ".join(listed) or "no query parameters"), (method, template)
            checked += 1
    assert checked > 40


def test_the_handling_report_honours_kind(api: Api) -> None:
    """``kind=seo`` counts only SEO recommendations and the decisions on them (it was
    ignored); executions without a recommendation have no kind, so they are not counted."""
    w = api.world
    seo, budget = w.recommend(kind="seo"), w.recommend()
    w.approve(seo)
    position = w.approve(budget).position
    path = f"/v1/organizations/{w.org_id}/reports/handling"
    _, everything = get(api, path, {"after": str(position)})
    assert everything["consultants"][0]["recommendations"] == 2
    assert everything["managers"][0]["decisions"] == 2
    status, only = get(api, path, [("kind", "seo"), ("after", str(position))])
    assert status == 200, only
    assert only["consultants"][0]["recommendations"] == 1
    assert only["managers"][0]["decisions"] == 1
    assert only["managers"][0]["executions_without_recommendation"] is None
    _, none = get(api, path, {"kind": "training"})
    assert none["consultants"] == []
    assert none["managers"] == []


def test_the_register_filters_on_the_time_of_a_decision(api: Api) -> None:
    """``decided_since``/``decided_until`` keep the recommendations with a decision recorded
    in the period; ``since``/``until`` still bound the time it was recommended."""
    w = api.world
    decided, undecided = w.recommend(), w.recommend()
    position = w.approve(decided).position
    path = f"/v1/organizations/{w.org_id}/register"
    _, body = get(api, path, {"after": str(position)})
    rows = {r["recommendation_id"]: r for r in body["items"]}
    at = datetime.fromisoformat(rows[str(decided)]["decided_at"])
    just = (at + timedelta(microseconds=1)).isoformat()

    def ids(params: dict[str, str]) -> set[str]:
        status, found = get(api, path, params)
        assert status == 200, found
        return {r["recommendation_id"] for r in found["items"]}

    assert ids({"decided_since": at.isoformat()}) == {str(decided)}
    assert ids({"decided_since": just}) == set()
    assert ids({"decided_until": just}) == {str(decided)}
    assert ids({"decided_until": at.isoformat()}) == set()
    assert ids({"since": rows[str(undecided)]["recommended_at"]}) == {str(undecided)}
    status, body = get(api, path, {"decided_since": just, "decided_until": at.isoformat()})
    assert (status, body["code"]) == (400, "reversed_period"), body
    assert "'decided_since' must not be after 'decided_until'" in body["detail"]


def performance(api: Api, spend: str, revenue: str) -> int:
    body = {
        "period_start": "2026-03-01T00:00:00Z",
        "period_end": "2026-03-08T00:00:00Z",
        "spend": {"amount": spend, "currency": "EUR"},
        "impressions": 100000,
        "clicks": 2000,
        "conversions": 50,
        "revenue": {"amount": revenue, "currency": "EUR"},
    }
    r = api.post(f"/v1/campaigns/{api.world.campaign_id}/performance", "integration", body)
    assert r.status_code == 200, r.text
    return int(r.json()["position"])


def targets(api: Api, roi_percent: str) -> int:
    target = KpiTarget(metric="roi", target=Decimal(roi_percent), unit="%")
    w = api.world
    return w.run(
        w.manager, c.SetKpiTargets(campaign_id=w.campaign_id, kpi_targets=(target,))
    ).position


def moment() -> str:
    time.sleep(0.01)
    at = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    return at


def test_a_campaign_state_as_of_a_moment_has_the_kpis_against_the_targets_then(
    api: Api,
) -> None:
    """``as_of`` on a campaign's state and on the campaign states (ignored before): the
    status, the targets in force then, the performance recorded by then and CTR, CPC, CPA,
    ROAS and ROI from it against those targets; before the plan, 404 and not listed."""
    w = api.world
    planned = moment()
    w.launch()
    targets(api, "50")
    performance(api, "1000.00", "4000.00")  # ROI 3 = 300 %: above 50 %
    then = moment()
    targets(api, "500")
    position = performance(api, "1000.00", "1000.00")  # in all: ROI 1.5 = 150 %
    path = f"/v1/campaigns/{w.campaign_id}/state"
    status, now = get(api, path, {"after": str(position)}, "manager")
    assert status == 200, now
    assert now["kpis"] == [
        {"metric": "roi", "actual": "150.0000", "target": "500", "unit": "%", "met": False}
    ]
    status, past = get(api, path, {"as_of": then}, "manager")
    assert status == 200, past
    assert past["status"] == "active"
    assert past["performance"]["records"] == 1
    assert past["kpi_targets"] == [{"metric": "roi", "target": "50", "unit": "%"}]
    assert past["kpis"] == [
        {"metric": "roi", "actual": "300.0000", "target": "50", "unit": "%", "met": True}
    ]
    derived = past["derived"]
    assert (derived["ctr"], derived["cpc"], derived["cpa"]) == ("0.0200", "0.5000", "20.0000")
    assert (derived["roas"], derived["roi"]) == ("4.0000", "3.0000")
    assert past["last_change_type"] == "Campaign.KpiTargetsSet"
    states = f"/v1/organizations/{w.org_id}/campaign-states"
    _, listed = get(api, states, {"as_of": then}, "manager")
    assert listed["items"] == [past]
    _, draft = get(api, states, [("as_of", planned), ("status", "active")], "manager")
    assert draft["items"] == []
    assert get(api, path, {"as_of": "2000-01-01"}, "manager")[0] == 404
    _, before = get(api, states, {"as_of": "2000-01-01"}, "manager")
    assert before["items"] == []
