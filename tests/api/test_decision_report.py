"""The decision report over HTTP: each recommendation whole, with the reviewer's questions
answered in one call each (SQLite and PostgreSQL, through the ``api`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from ledger import commands as c
from ledger.values import ProposedChange, RejectionReason
from tests.api.conftest import Api
from tests.support import Clock, budget


@pytest.fixture
def clock(api: Api) -> Clock:
    """The ledger's clock, under the test's hand (events are stamped with it)."""
    at = Clock(datetime.now(UTC) + timedelta(hours=1))
    api.app.state.ledger.clock = at
    api.world.clock.now = at.now
    return at


def report(api: Api, who: str = "auditor", **params: Any) -> list[dict[str, Any]]:
    w = api.world
    r = api.client.get(
        f"/v1/organizations/{w.org_id}/decisions", params=params, headers=api.auth(who)
    )
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def adjust(api: Api, amount: str, rec: UUID | None = None, **kw: Any) -> int:
    w = api.world
    command = c.AdjustBudget(campaign_id=w.campaign_id, budget=budget(amount), implements=rec, **kw)
    return w.run(w.manager, command).position


def within_and_above(api: Api) -> tuple[UUID, UUID, int]:
    """Two budget recommendations carried out on the launched 5000 campaign: +500 within the
    manager's allowance, then 8500 (above it) approved by the manager and the executive;
    their ids and the last position."""
    w = api.world
    w.launch()
    small = w.recommend()
    w.approve(small)
    adjust(api, "5500", small)
    big = w.recommend(change=ProposedChange(budget=budget("8500")))
    w.approve(big)
    w.run(w.executive, c.Approve(recommendation_id=big, revision=1))
    return small, big, adjust(api, "8500", big)


def test_one_row_holds_who_recommended_who_decided_and_what_was_executed(
    api: Api, clock: Clock
) -> None:
    """Recommended 5500, approved by the manager, executed at 5500 within the manager's
    allowance: the row has the three values side by side, the decision and the execution."""
    w = api.world
    w.launch()
    rec = w.recommend()
    w.approve(rec)
    position = adjust(api, "5500", rec)
    [row] = report(api, after=position)
    assert row["recommendation_id"] == str(rec)
    assert row["recommended_by"] == str(w.consultant.actor_id)
    assert row["recommended"]["budget"]["amount"] == "5500"
    assert row["approved"]["budget"]["amount"] == "5500"
    assert row["executed"]["budget_to"]["amount"] == "5500"
    assert row["executed"]["budget_from"]["amount"] == "5000"
    [decision] = row["decisions"]
    assert (decision["actor_id"], decision["role"], decision["outcome"]) == (
        str(w.manager.actor_id),
        "manager",
        "approved",
    )
    [execution] = row["executions"]
    assert execution["authority"] == "manager_allowance"
    assert execution["allowance_used"] == "500"
    assert execution["as_approved"] is True
    assert row["status"] == "implemented"
    assert row["deviation"] is False
    assert row["above_limit"] is False
    assert row["ms_to_first_decision"] >= 0
    assert row["ms_to_execution"] >= row["ms_to_first_decision"]


def test_a_budget_change_above_the_limit_shows_both_deciders_and_the_executive_authority(
    api: Api, clock: Clock
) -> None:
    """Recommended 8000 (3000 above a limit of 1000): the manager's approval, then the
    executive's, are both in the row in order; the execution took the executive's
    authority; above_limit=true lists it and above_limit=false does not."""
    small, big, position = within_and_above(api)
    [row] = report(api, above_limit="true", after=position)
    assert row["recommendation_id"] == str(big)
    assert [(d["role"], d["outcome"]) for d in row["decisions"]] == [
        ("manager", "approved"),
        ("executive", "approved"),
    ]
    assert row["executions"][0]["authority"] == "executive"
    assert [r["recommendation_id"] for r in report(api, above_limit="false")] == [str(small)]


def test_a_deviation_carries_the_approved_and_the_executed_amount_and_its_reason(
    api: Api, clock: Clock
) -> None:
    w = api.world
    w.launch()
    rec = w.recommend(change=ProposedChange(budget=budget("5600")))
    w.run(
        w.manager,
        c.ApproveWithChanges(
            recommendation_id=rec,
            revision=1,
            approved_change=ProposedChange(budget=budget("5400")),
            note="a smaller step first",
        ),
    )
    position = adjust(api, "5450", rec, deviation_reason="the platform rounds up")
    [row] = report(api, deviation="true", after=position)
    assert row["recommended"]["budget"]["amount"] == "5600"
    assert row["approved"]["budget"]["amount"] == "5400"
    assert row["executed"]["budget_to"]["amount"] == "5450"
    assert row["decisions"][0]["note"] == "a smaller step first"
    assert row["decisions"][0]["outcome"] == "approved_with_changes"
    assert row["executions"][0]["deviation_reason"] == "the platform rounds up"
    assert report(api, deviation="false") == []


def test_a_december_decision_on_a_november_recommendation_is_in_a_december_review(
    api: Api, clock: Clock
) -> None:
    """decided_since filters on the decision's time, recommended_since on the
    recommendation's: the two questions have different answers (the month boundary is
    ten days after the recommendation, the decision fifteen)."""
    w = api.world
    rec = w.recommend(days=30)
    boundary = (clock.now + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    clock.advance(timedelta(days=15))
    position = w.run(
        w.manager,
        c.Reject(
            recommendation_id=rec,
            revision=1,
            reason_code=RejectionReason.TIMING,
            reason_text="after the holidays",
        ),
    ).position
    [row] = report(api, decided_since=boundary, after=position)
    assert row["decisions"][0]["reason"] == "after the holidays"
    assert row["decisions"][0]["reason_code"] == "timing"
    assert report(api, recommended_since=boundary, after=position) == []
    assert report(api, decided_until=boundary, after=position) == []
    [by_decider] = report(api, decider_id=str(w.manager.actor_id), outcome="rejected")
    assert by_decider["status"] == "rejected"
    assert report(api, outcome="approved") == []


def test_group_by_decision_gives_one_row_per_decision(api: Api, clock: Clock) -> None:
    w = api.world
    w.launch()
    big = w.recommend(change=ProposedChange(budget=budget("8500")))
    w.approve(big)
    w.run(w.executive, c.Approve(recommendation_id=big, revision=1))
    position = adjust(api, "8500", big)
    rows = report(api, group="decision", after=position)
    assert [[d["role"] for d in r["decisions"]] for r in rows] == [["manager"], ["executive"]]
    # each row holds the recommendation's execution too (shown twice, read once)
    assert [r["executed"]["budget_to"]["amount"] for r in rows] == ["8500", "8500"]
    assert {r["recommendation_id"] for r in rows} == {str(big)}
    assert rows[0]["row_position"] < rows[1]["row_position"]
    only = report(api, group="decision", decider_id=str(w.executive.actor_id))
    assert [r["decisions"][0]["role"] for r in only] == ["executive"]


def test_a_recommendation_past_its_expiry_reads_expired_and_filters_as_expired(
    api: Api, clock: Clock
) -> None:
    w = api.world
    rec = w.recommend(days=1)
    position = w.approve(w.recommend()).position
    clock.advance(timedelta(days=2))
    expired = report(api, status="expired", after=position)
    assert [r["recommendation_id"] for r in expired] == [str(rec)]
    assert report(api, status="pending") == []


def test_the_report_pages_by_cursor(api: Api, clock: Clock) -> None:
    w = api.world
    recs = [w.recommend() for _ in range(3)]
    position = w.approve(recs[-1]).position
    path = f"/v1/organizations/{w.org_id}/decisions"
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2, "after": position}
    while True:
        body = api.client.get(path, params=params, headers=api.auth("auditor")).json()
        seen += [r["recommendation_id"] for r in body["items"]]
        if not body["next_cursor"]:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == [str(r) for r in recs]


def test_a_consultant_sees_its_own_engagements_rows_and_an_outsider_nothing(
    api: Api, clock: Clock
) -> None:
    w = api.world
    position = w.approve(w.recommend()).position
    assert len(report(api, "consultant", after=position)) == 1
    r = api.client.get(f"/v1/organizations/{w.org_id}/decisions", headers=api.auth("outsider"))
    assert r.status_code == 404


def test_an_unknown_outcome_or_status_is_refused_with_the_allowed_values(api: Api) -> None:
    w = api.world
    for params in ({"outcome": "accepted"}, {"status": "open"}, {"group": "month"}):
        r = api.client.get(
            f"/v1/organizations/{w.org_id}/decisions", params=params, headers=api.auth("auditor")
        )
        assert r.status_code in (400, 422), r.text
        assert "approved" in r.text or "recommendation" in r.text


def exceptions(api: Api, **params: Any) -> Any:
    w = api.world
    r = api.client.get(
        f"/v1/organizations/{w.org_id}/exceptions", params=params, headers=api.auth("auditor")
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_an_approval_not_carried_out_is_an_exception_from_the_first_day_with_its_age(
    api: Api, clock: Clock
) -> None:
    """Approved an hour ago: listed (no 14-day default hides it), with its age, the
    recommendation's own kind and the approved amount; older_than_days narrows it."""
    w = api.world
    rec = w.recommend()
    position = w.approve(rec).position
    clock.advance(timedelta(hours=1))
    [entry] = exceptions(api, kind="approved_not_implemented", after=position)["items"]
    assert entry["exception"] == "approved_not_implemented"
    assert entry["recommendation"]["kind"] == "adjust_budget"
    assert entry["recommendation"]["approved"]["budget"]["amount"] == "5500"
    assert 0.04 <= entry["age_days"] < 0.05
    assert exceptions(api, kind="approved_not_implemented", older_than_days=1)["items"] == []
    assert exceptions(api)["approved_not_implemented"] == 1


def test_a_deviation_exception_carries_the_approved_and_executed_amounts_and_a_period(
    api: Api, clock: Clock
) -> None:
    w = api.world
    w.launch()
    rec = w.recommend()
    w.approve(rec)
    clock.advance(timedelta(days=3))
    position = adjust(api, "5600", rec, deviation_reason="rounded up by the platform")
    [entry] = exceptions(api, kind="deviation", after=position)["items"]
    assert entry["recommendation"]["approved"]["budget"]["amount"] == "5500"
    assert entry["execution"]["executed"]["budget_to"]["amount"] == "5600"
    assert entry["execution"]["deviation_reason"] == "rounded up by the platform"
    later = (clock.now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert exceptions(api, kind="deviation", since=later)["items"] == []
    assert exceptions(api, since=later)["deviation"] == 0


def test_the_register_and_the_recommendation_agree_while_it_awaits_an_executive(
    api: Api,
) -> None:
    """A manager's approval above the limit: both reads say awaiting_executive with the same
    approved revision and change (the register used to leave the revision out)."""
    w = api.world
    w.launch()
    rec = w.recommend(change=ProposedChange(budget=budget("8500")))
    position = w.approve(rec).position
    own = api.client.get(f"/v1/recommendations/{rec}", headers=api.auth("auditor")).json()
    [row] = api.client.get(
        f"/v1/organizations/{w.org_id}/register",
        params={"after": position},
        headers=api.auth("auditor"),
    ).json()["items"]
    assert (row["status"], own["status"]) == ("awaiting_executive", "awaiting_executive")
    assert row["approved_revision"] == own["approved_revision"] == 1
    assert row["approved_change"] == own["approved_change"]


def test_a_recommendations_handling_lists_its_executions_with_their_spend_authority(
    api: Api, clock: Clock
) -> None:
    """The register's handling read says, per execution, whether it was within the manager's
    allowance (and how much it used) or executive-authorised."""
    small, big, position = within_and_above(api)
    for rec, authority, used in ((small, "manager_allowance", "500"), (big, "executive", "0")):
        body = api.client.get(
            f"/v1/recommendations/{rec}/handling",
            params={"after": position},
            headers=api.auth("auditor"),
        ).json()
        [execution] = body["executions"]
        assert (execution["authority"], execution["allowance_used"]) == (authority, used)


def test_every_decision_of_a_period_shows_the_names_of_who_recommended_and_who_decided(
    api: Api, clock: Clock
) -> None:
    """The reviewer's first question in one call: the period's decisions with the three
    values and, beside every id of a person, the name the directory gives it now."""
    w = api.world
    for actor, name in ((w.consultant, "Chidi Okafor"), (w.manager, "Mia Schulz")):
        r = api.client.put(
            f"/v1/names/{actor.actor_id}",
            json={"kind": "actor", "name": name},
            headers=api.auth("operator"),
        )
        assert r.status_code == 200, r.text
    w.launch()
    rec = w.recommend()
    since = clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    w.approve(rec)
    position = adjust(api, "5500", rec)
    [row] = report(api, decided_since=since, after=position)
    assert row["recommended_by_name"] == "Chidi Okafor"
    assert row["decisions"][0]["actor_name"] == "Mia Schulz"
    assert row["executions"][0]["actor_name"] == "Mia Schulz"
    assert row["recommended"]["budget"] == row["approved"]["budget"]
    assert row["executed"]["budget_to"] == row["approved"]["budget"]


def test_a_lapsed_recommendation_is_neither_a_pending_escalation_nor_open_on_its_campaign(
    api: Api, clock: Clock
) -> None:
    """Escalated, then past its expiry before any Expired event: the exceptions list it as
    expired, not as a pending escalation, and its campaign no longer counts it open."""
    w = api.world
    w.launch()
    rec = w.recommend(days=1)
    position = w.run(w.manager, c.Escalate(recommendation_id=rec, revision=1)).position
    state = api.client.get(
        f"/v1/campaigns/{w.campaign_id}/state",
        params={"after": position},
        headers=api.auth("auditor"),
    ).json()
    assert state["pending_recommendations"] == 1
    clock.advance(timedelta(days=2))
    assert exceptions(api, kind="escalation_pending")["items"] == []
    [expired] = exceptions(api, kind="expired_undecided")["items"]
    assert expired["recommendation_id"] == str(rec)
    assert exceptions(api)["escalation_pending"] == 0
    for path in (f"/v1/campaigns/{w.campaign_id}/state",):
        later = api.client.get(path, headers=api.auth("auditor")).json()
        assert later["pending_recommendations"] == 0
    [listed] = [
        s
        for s in api.client.get(
            f"/v1/organizations/{w.org_id}/campaign-states", headers=api.auth("auditor")
        ).json()["items"]
        if s["campaign_id"] == str(w.campaign_id)
    ]
    assert listed["pending_recommendations"] == 0


def test_the_register_shows_per_execution_whether_it_was_within_the_allowance_or_executive(
    api: Api, clock: Clock
) -> None:
    """Issue 11: the register (not only the audit trail) shows, per execution, its spend
    authority and what it took from the manager's allowance."""
    small, big, position = within_and_above(api)
    rows = api.client.get(
        f"/v1/organizations/{api.world.org_id}/register",
        params={"after": position},
        headers=api.auth("auditor"),
    ).json()["items"]
    authority = {
        r["recommendation_id"]: [(x["authority"], x["allowance_used"]) for x in r["executions"]]
        for r in rows
    }
    assert authority == {str(small): [("manager_allowance", "500")], str(big): [("executive", "0")]}


def test_a_consultant_reads_only_its_engagements_part_of_the_organizations_history(
    api: Api,
) -> None:
    """Not the memberships (which the organization read hides from it too), settings or
    other engagements: only the events of its own engagement, as in the audit trail."""
    w = api.world
    headers = api.auth("consultant")
    body = api.client.get(f"/v1/aggregates/{w.org_id}/events", headers=headers)
    assert body.status_code == 200, body.text
    events = body.json()["events"]
    assert events
    assert {e["type"] for e in events} == {"Organization.EngagementStarted"}
    assert {e["envelope"]["engagement_id"] for e in events} == {str(w.engagement_id)}
    full = api.client.get(f"/v1/aggregates/{w.org_id}/events", headers=api.auth("auditor"))
    types = {e["type"] for e in full.json()["events"]}
    assert "Organization.MembershipGranted" in types


def test_a_launch_row_says_the_budget_it_put_in_force_and_its_executive(
    api: Api, clock: Clock
) -> None:
    """The campaign's 5000 is above the manager's limit of 1000: the launch recommendation,
    approved by the manager then the executive, and launched by the manager, has the
    launched budget among its executed values and the executive's authority."""
    w = api.world
    rec = w.recommend(kind="launch")
    w.approve(rec)
    w.run(w.executive, c.Approve(recommendation_id=rec, revision=1))
    launched = w.run(w.manager, c.LaunchCampaign(campaign_id=w.campaign_id, implements=rec))
    [row] = report(api, above_limit="true", after=launched.position)
    assert row["executed"]["status_to"] == "active"
    assert row["executed"]["budget"]["amount"] == "5000"
    assert [d["role"] for d in row["decisions"]] == ["manager", "executive"]
    assert row["executions"][0]["authority"] == "executive"


def test_the_organization_read_names_the_period_and_zone_of_its_approval_limit(api: Api) -> None:
    """A reviewer reads which period the limit bounds without waiting for a refusal."""
    w = api.world
    body = api.client.get(f"/v1/organizations/{w.org_id}", headers=api.auth("auditor")).json()
    assert (body["approval_limit"], body["limit_period"], body["time_zone"]) == (
        "1000",
        "calendar_month",
        "UTC",
    )
