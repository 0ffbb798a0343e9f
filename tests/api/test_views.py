"""The read side over HTTP: read-your-writes, filters, exports, reports, and who sees what."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ledger import commands as c
from ledger.values import RejectionReason
from tests.api.conftest import Api
from tests.support import World, budget


def get(api: Api, path: str, who: str, **params: Any) -> Any:
    r = api.client.get(path, params=params, headers=api.auth(who))
    assert r.status_code == 200, r.text
    return r


def test_the_audit_trail_shows_who_recommended_and_who_decided_after_the_write(
    api: Api,
) -> None:
    """With after=<position>, the trail already holds the recommendation and its approval,
    with actor, role, party, revision and the link between them."""
    w = api.world
    rec = w.recommend()
    approved = w.approve(rec)
    r = get(
        api,
        f"/v1/organizations/{w.org_id}/audit-trail",
        "auditor",
        recommendation_id=str(rec),
        after=approved.position,
    )
    assert int(r.headers["x-ledger-position"]) >= approved.position
    entries = r.json()["items"]
    assert [e["event_type"] for e in entries] == [
        "Recommendation.Recommended",
        "Recommendation.Approved",
    ]
    recommended, decided = entries
    assert recommended["actor_id"] == str(w.consultant.actor_id)
    assert recommended["party"] == "agency"
    assert decided["actor_id"] == str(w.manager.actor_id)
    assert decided["role"] == "manager"
    assert decided["party"] == "client"
    assert decided["revision"] == 1


def test_the_audit_trail_filters_by_actor_and_type_and_pages_by_cursor(api: Api) -> None:
    """Filtered by the manager and one event type, pages of one walk every entry once."""
    w = api.world
    last = None
    for amount in ("5100", "5200", "5300"):
        last = w.run(w.manager, c.AdjustBudget(campaign_id=w.campaign_id, budget=budget(amount)))
    assert last is not None
    path = f"/v1/organizations/{w.org_id}/audit-trail"
    params = {
        "actor_id": str(w.manager.actor_id),
        "event_type": "Campaign.BudgetAdjusted",
        "limit": 1,
        "after": last.position,
    }
    seen = []
    page = get(api, path, "auditor", **params).json()
    while True:
        seen += [(e["budget_from"], e["budget_to"]) for e in page["items"]]
        if not page["next_cursor"]:
            break
        page = get(api, path, "auditor", **params, cursor=page["next_cursor"]).json()
    assert len(seen) == 3
    assert "5100" in str(seen[0][1])
    assert "5300" in str(seen[2][1])


def test_the_audit_trail_exports_as_csv_and_ndjson(api: Api) -> None:
    """format=csv and Accept: application/x-ndjson stream every matching entry."""
    w = api.world
    result = w.launch()
    path = f"/v1/organizations/{w.org_id}/audit-trail"
    get(api, path, "auditor", after=result.position)
    text = get(api, path, "auditor", format="csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert any(r["event_type"] == "Campaign.Launched" for r in rows)
    r = api.client.get(path, headers={**api.auth("auditor"), "Accept": "application/x-ndjson"})
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert len(lines) == len(rows)


def test_a_consultant_reads_only_its_own_engagements_entries(api: Api) -> None:
    """Another agency's consultant in the same organization sees none of our entries."""
    w = api.world
    rec = w.recommend()
    rival = World(w.ledger, w.clock)
    rival.org_id, rival.admin = w.org_id, w.admin
    rival.engagement_id = rival.start_engagement()
    headers = api.key_for(rival.consultant, "rival")
    position = w.approve(rec).position
    path = f"/v1/organizations/{w.org_id}/register"
    mine = get(api, path, "consultant", after=position).json()["items"]
    assert [r["recommendation_id"] for r in mine] == [str(rec)]
    theirs = api.client.get(path, params={"after": position}, headers=headers).json()
    assert theirs["items"] == []
    trail = api.client.get(
        f"/v1/organizations/{w.org_id}/audit-trail",
        params={"recommendation_id": str(rec)},
        headers=headers,
    ).json()
    assert trail["items"] == []


def test_campaign_state_shows_kpis_against_targets(api: Api) -> None:
    """After performance is recorded, the state carries totals and derived KPIs."""
    w = api.world
    w.launch()
    body = {
        "period_start": "2026-03-01T00:00:00Z",
        "period_end": "2026-03-08T00:00:00Z",
        "spend": {"amount": "1000.00", "currency": "EUR"},
        "impressions": 100000,
        "clicks": 2000,
        "conversions": 50,
        "revenue": {"amount": "4000.00", "currency": "EUR"},
    }
    r = api.post(f"/v1/campaigns/{w.campaign_id}/performance", "integration", body)
    assert r.status_code == 200, r.text
    state = get(
        api, f"/v1/campaigns/{w.campaign_id}/state", "manager", after=r.json()["position"]
    ).json()
    assert state["status"] == "active"
    assert state["derived"]["ctr"] is not None
    assert state["performance"]["impressions"] == 100000


def test_the_handling_report_and_exceptions_answer_for_an_organization(api: Api) -> None:
    """A rejection shows in the consultant's outcomes; an execution without a
    recommendation is an exception."""
    w = api.world
    rec = w.recommend()
    w.run(
        w.manager,
        c.Reject(
            recommendation_id=rec,
            revision=1,
            reason_code=RejectionReason.TIMING,
            reason_text="not now",
        ),
    )
    position = w.launch().position
    report = get(
        api, f"/v1/organizations/{w.org_id}/reports/handling", "auditor", after=position
    ).json()
    assert report["consultants"][0]["consultant_id"] == str(w.consultant.actor_id)
    counts = get(api, f"/v1/organizations/{w.org_id}/exceptions", "auditor", after=position).json()
    assert counts["execution_without_recommendation"] >= 1
    listed = get(
        api,
        f"/v1/organizations/{w.org_id}/exceptions",
        "auditor",
        kind="execution_without_recommendation",
    ).json()["items"]
    assert listed


def test_projection_lag_is_in_metrics(api: Api) -> None:
    """/metrics reports each projection's lag and position."""
    text = api.client.get("/metrics").text
    assert 'ledger_projection_lag_events{projection="audit"}' in text
    assert 'ledger_projection_position{projection="register"}' in text
