"""Commands over HTTP: status codes, Location, ETag, positions, refusals that change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from ledger import commands as c
from ledger.values import MemberRole
from tests.api.conftest import Api

BUDGET = {"amount": "5500", "currency": "EUR", "period": "monthly"}


def count(api: Api) -> int:
    return len(api.world.events())


def recommend_body(api: Api, **over: Any) -> dict[str, Any]:
    body = {
        "engagement_id": str(api.world.engagement_id),
        "campaign_id": str(api.world.campaign_id),
        "kind": "adjust_budget",
        "change": {"budget": BUDGET},
        "rationale": "CPA fell",
        "evidence": ["r-1"],
        "expected_impact": "+10%",
        "expires_at": "2099-01-01T00:00:00Z",
    }
    body.update(over)
    return body


def test_planning_a_campaign_answers_201_with_location_version_and_position(api: Api) -> None:
    """A create answers 201, Location of the new campaign, ETag "1" and its log position."""
    r = api.post(
        f"/v1/organizations/{api.world.org_id}/campaigns",
        "manager",
        {
            "name": "Autumn",
            "objective": "Sales",
            "channels": ["ppc"],
            "budget": {"amount": "100.50", "currency": "EUR", "period": "daily"},
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/v1/campaigns/{body['aggregate_id']}"
    assert r.headers["etag"] == '"1"'
    assert body["version"] == 1
    assert body["position"] == body["events"][0]["position"]
    got = api.client.get(r.headers["location"], headers=api.auth("manager"))
    assert got.json()["budget"] == {"amount": "100.50", "currency": "EUR", "period": "daily"}


def test_the_recommend_approve_launch_cycle_runs_over_http(api: Api) -> None:
    """A consultant recommends, a manager approves and executes it; the execution cites it."""
    w = api.world
    r = api.post(f"/v1/organizations/{w.org_id}/recommendations", "consultant", recommend_body(api))
    assert r.status_code == 201, r.text
    rec = r.json()["aggregate_id"]
    r = api.post(f"/v1/recommendations/{rec}/approve", "manager", {"revision": 1})
    assert r.status_code == 200, r.text
    r = api.post(
        f"/v1/campaigns/{w.campaign_id}/budget", "manager", {"budget": BUDGET, "implements": rec}
    )
    assert r.status_code == 200, r.text
    assert [e["type"] for e in r.json()["events"]] == [
        "Campaign.BudgetAdjusted",
        "Recommendation.Implemented",
    ]
    got = api.client.get(f"/v1/recommendations/{rec}", headers=api.auth("auditor")).json()
    assert got["status"] == "implemented"


@pytest.mark.parametrize(
    "field",
    [
        "actor_id",
        "role",
        "party",
        "organization_id",
        "timestamp",
        "recorded_at",
        "version",
        "expected_version",
        "position",
    ],
)
def test_a_body_that_sets_envelope_versions_or_positions_is_refused_with_422(
    api: Api, field: str
) -> None:
    """Clients never set who acted, for whom, when, or at which version: 422, nothing appended."""
    before = count(api)
    r = api.post(f"/v1/campaigns/{api.world.campaign_id}/launch", "executive", {field: "1"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_request"
    assert count(api) == before


def test_a_float_amount_is_refused_and_nothing_is_appended(api: Api) -> None:
    """Money as a JSON number with a fraction is refused with float_money_refused."""
    before = count(api)
    r = api.client.post(
        f"/v1/campaigns/{api.world.campaign_id}/budget",
        content=b'{"budget": {"amount": 5500.5, "currency": "EUR", "period": "monthly"}}',
        headers={**api.auth("manager"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["code"] == "float_money_refused"
    assert count(api) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "budget",
            {"budget": {"amount": "5500.123", "currency": "EUR", "period": "monthly"}},
        ),
        (
            "performance",
            {
                "period_start": "2026-03-01T00:00:00Z",
                "period_end": "2026-03-02T00:00:00Z",
                "spend": {"amount": "10.005", "currency": "EUR"},
                "impressions": 10,
                "clicks": 1,
                "conversions": 0,
                "revenue": {"amount": "0", "currency": "EUR"},
            },
        ),
    ],
)
def test_an_amount_finer_than_its_currency_is_refused_with_422_naming_it(
    api: Api, path: str, body: dict[str, Any]
) -> None:
    """A budget or a spend with three decimals in EUR is 422 invalid_command naming EUR and
    its two decimals; nothing is appended."""
    before = count(api)
    r = api.post(f"/v1/campaigns/{api.world.campaign_id}/{path}", "manager", body)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "invalid_command"
    assert problem["context"]["currency"] == "EUR"
    assert problem["context"]["decimals"] == 2
    assert "EUR has: 2" in problem["detail"]
    assert count(api) == before


def test_a_consultant_launching_is_forbidden_with_the_rule_named(api: Api) -> None:
    """Decision rights map to 403 with a code naming the rule; nothing is appended."""
    before = count(api)
    r = api.post(f"/v1/campaigns/{api.world.campaign_id}/launch", "consultant")
    assert r.status_code == 403
    assert r.json()["code"] == "role_required"
    assert count(api) == before


def test_the_author_approving_is_refused_for_segregation_of_duties(api: Api) -> None:
    """An author holding the manager role still cannot approve its own recommendation."""
    w = api.world
    w.run(
        w.operator,
        c.GrantMembership(
            organization_id=w.org_id,
            member_id=w.consultant.actor_id,
            member_role=MemberRole.MANAGER,
        ),
    )
    rec = w.recommend()
    before = count(api)
    r = api.post(f"/v1/recommendations/{rec}/approve", "consultant", {"revision": 1})
    assert r.status_code == 403
    assert r.json()["code"] == "segregation_of_duties"
    assert count(api) == before


def test_a_stale_revision_is_a_409_naming_the_current_revision(api: Api) -> None:
    """Deciding on revision 1 after the author amended to 2 answers 409 revision_conflict."""
    w = api.world
    rec = w.recommend()
    r = api.post(
        f"/v1/recommendations/{rec}/amend",
        "consultant",
        {
            "revision": 1,
            "change": {"budget": BUDGET | {"amount": "5600"}},
            "rationale": "more",
            "expected_impact": "+11%",
            "expires_at": "2099-01-01T00:00:00Z",
        },
    )
    assert r.status_code == 200, r.text
    before = count(api)
    r = api.post(f"/v1/recommendations/{rec}/approve", "manager", {"revision": 1})
    assert r.status_code == 409
    assert r.json()["code"] == "revision_conflict"
    assert r.json()["context"]["current_revision"] == 2
    assert count(api) == before


def test_a_rule_violation_is_a_409_and_an_unknown_id_a_404(api: Api) -> None:
    """Launching twice breaks the status machine (409); a random campaign id is 404."""
    assert api.post(f"/v1/campaigns/{api.world.campaign_id}/launch", "executive").status_code == 200
    r = api.post(f"/v1/campaigns/{api.world.campaign_id}/launch", "executive")
    assert r.status_code == 409
    assert r.json()["code"] == "invalid_transition"
    r = api.post("/v1/campaigns/00000000-0000-4000-8000-000000000000/launch", "executive")
    assert r.status_code == 404


def test_the_request_id_is_returned_and_stored_as_the_correlation_id(api: Api) -> None:
    """X-Request-ID comes back on the response and is the events' correlation id."""
    r = api.post(
        f"/v1/campaigns/{api.world.campaign_id}/launch",
        "executive",
        **{"X-Request-ID": "req-abc.123"},
    )
    assert r.headers["x-request-id"] == "req-abc.123"
    history = api.client.get(
        f"/v1/aggregates/{api.world.campaign_id}/events", headers=api.auth("auditor")
    ).json()["events"]
    assert history[-1]["envelope"]["correlation_id"] == "req-abc.123"
    assert history[-1]["envelope"]["role"] == "executive"
    assert history[-1]["envelope"]["party"] == "client"


def test_every_command_route_runs_through_the_runner_built_in_the_lifespan(api: Api) -> None:
    """A POST is run by the one command runner on app.state (replaced here by a recording
    one), with the request id as correlation id and the Idempotency-Key passed on."""
    real = api.app.state.runner
    seen: list[tuple[str, str, str | None]] = []

    class Recording:
        def run(self, command: c.Command, actor: Any, **kw: Any) -> Any:
            seen.append((type(command).__name__, kw["correlation_id"], kw["idempotency_key"]))
            return real.run(command, actor, **kw)

    api.app.state.runner = Recording()
    r = api.post(
        f"/v1/campaigns/{api.world.campaign_id}/budget",
        "manager",
        {"budget": BUDGET},
        **{"Idempotency-Key": "via-runner"},
    )
    assert r.status_code == 200, r.text
    assert seen == [("AdjustBudget", r.headers["x-request-id"], "via-runner")]


def test_structured_budget_steps_are_refused_over_http_naming_the_allowance(api: Api) -> None:
    """Under a limit of 1000 a month, +1000 passes; the second +1000 is 403 role_required
    naming the limit, period, used and asked, and appends nothing; an executive's passes."""
    path = f"/v1/campaigns/{api.world.campaign_id}"
    assert api.post(f"{path}/launch", "executive").status_code == 200
    step = {"amount": "6000", "currency": "EUR", "period": "monthly"}
    assert api.post(f"{path}/budget", "manager", {"budget": step}).status_code == 200
    before = count(api)
    second = {"budget": {**step, "amount": "7000"}}
    r = api.post(f"{path}/budget", "manager", second)
    assert r.status_code == 403, r.text
    problem = r.json()
    assert problem["code"] == "role_required"
    assert problem["context"]["approval_limit"] == "1000"
    assert problem["context"]["limit_period"] == "calendar_month"
    assert (problem["context"]["used"], problem["context"]["asked"]) == ("1000", "1000")
    assert count(api) == before
    assert api.post(f"{path}/budget", "executive", second).status_code == 200


def test_a_manager_cannot_launch_a_large_campaign_over_http(api: Api) -> None:
    """A 50,000 EUR draft plans (201); the manager's launch is 403 and appends nothing; the
    executive's launch is 200 and its event says it was executive-authorised."""
    w = api.world
    body = {
        "name": "Big",
        "objective": "Sales",
        "channels": ["ppc"],
        "budget": {"amount": "50000", "currency": "EUR", "period": "monthly"},
    }
    planned = api.post(f"/v1/organizations/{w.org_id}/campaigns", "manager", body)
    assert planned.status_code == 201, planned.text
    path = f"/v1/campaigns/{planned.json()['aggregate_id']}"
    before = count(api)
    r = api.post(f"{path}/launch", "manager")
    assert r.status_code == 403
    assert r.json()["context"]["asked"] == "50000"
    assert count(api) == before
    assert api.post(f"{path}/launch", "executive").status_code == 200
    events = api.client.get(
        f"/v1/aggregates/{planned.json()['aggregate_id']}/events", headers=api.auth("auditor")
    ).json()["events"]
    assert events[-1]["payload"]["authority"] == "executive"
