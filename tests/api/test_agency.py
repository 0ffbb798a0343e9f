"""An agency's admin over HTTP (ADR 0016), on SQLite and PostgreSQL: it sees exactly its
consultants' work across its two clients, and nothing else of them (tests/api/agency_scene.py
builds the world)."""

from __future__ import annotations

from typing import Any

from api.http.routes.queries import encode_cursor
from ledger import commands as c
from ledger.values import AgencyRole
from tests.api.agency_scene import Scene, build
from tests.api.conftest import Api


def get(api: Api, path: str, who: str, **params: Any) -> Any:
    return api.client.get(path, params=params, headers=api.auth(who))


def _ids(items: list[dict[str, Any]], key: str) -> set[str]:
    return {str(i[key]) for i in items}


def test_an_agency_admin_sees_exactly_its_consultants_recommendations_across_two_clients(
    api: Api,
) -> None:
    """The agency's register, each client's register and report, the recommendation reads
    and the handling of each give the admin its consultants' recommendations in A and B, and
    none of the other agency's."""
    s = build(api)
    ours = {str(r) for r in s.ours.values()}
    (theirs,) = s.theirs.values()
    across = get(api, f"/v1/agencies/{s.agency_id}/recommendations", "agency_admin", after=s.after)
    assert across.status_code == 200, across.text
    assert _ids(across.json()["items"], "recommendation_id") == ours
    per_client = set()
    for org in (api.world.org_id, s.client_b):
        page = get(api, f"/v1/organizations/{org}/register", "agency_admin", after=s.after)
        assert page.status_code == 200, page.text
        per_client |= _ids(page.json()["items"], "recommendation_id")
        listed = get(api, f"/v1/organizations/{org}/recommendations", "agency_admin")
        assert _ids(listed.json()["items"], "id") <= ours
    assert per_client == ours
    report = get(
        api, f"/v1/organizations/{api.world.org_id}/reports/handling", "agency_admin", after=s.after
    ).json()
    assert {r["engagement_id"] for r in report["consultants"]} == {str(s.engagement_a)}
    assert {r["consultant_id"] for r in report["by_consultant"]} == {str(s.n1.actor_id)}
    assert all(m["executions_without_recommendation"] is None for m in report["managers"])
    for rec in s.ours.values():
        assert get(api, f"/v1/recommendations/{rec}", "agency_admin").status_code == 200
        handling = f"/v1/recommendations/{rec}/handling"  # a view: it takes after=
        assert get(api, handling, "agency_admin", after=s.after).status_code == 200, handling
    for path in (f"/v1/recommendations/{theirs}", f"/v1/recommendations/{theirs}/handling"):
        assert get(api, path, "agency_admin").status_code == 404, path


def test_an_agency_admin_sees_nothing_else_of_its_clients(api: Api) -> None:
    """No campaign state, campaign, membership, verification or other engagement; the audit
    trail holds only the entries of its agency's engagements; other events and their
    receipts are not found."""
    s = build(api)
    org = api.world.org_id
    base = f"/v1/organizations/{org}"
    assert get(api, f"{base}/campaign-states", "agency_admin").status_code == 403
    assert get(api, f"{base}/campaigns", "agency_admin").json()["items"] == []
    assert get(api, f"/v1/campaigns/{api.world.campaign_id}", "agency_admin").status_code == 404
    assert get(api, f"{base}/integrity/verify", "agency_admin").status_code in (403, 404)
    assert get(api, f"/v1/aggregates/{org}/events", "agency_admin").status_code == 404
    seen = get(api, base, "agency_admin").json()
    assert "memberships" not in seen
    assert [e["engagement_id"] for e in seen["engagements"]] == [str(s.engagement_a)]
    trail = get(api, f"{base}/audit-trail", "agency_admin", after=s.after, limit=500).json()
    assert trail["items"], "the admin reads its agency's part of the trail"
    assert {e["engagement_id"] for e in trail["items"]} == {str(s.engagement_a)}
    ours = {str(r) for r in s.ours.values()}
    everything = get(api, f"{base}/audit-trail", "manager", limit=500).json()["items"]
    for entry in everything:
        code = get(api, "/v1/receipts", "agency_admin", position=entry["position"]).status_code
        visible = entry["aggregate_type"] == "Recommendation" and entry["recommendation_id"] in ours
        assert code == (200 if visible else 404), entry


def test_the_agency_report_and_reads_are_for_the_agency_admin_alone(api: Api) -> None:
    """A consultant on the roster is refused the agency's work (403); a client's manager and
    an outsider are told the agency does not exist (404); an operator reads the roster but
    not the clients' recommendations."""
    s = build(api)
    report = f"/v1/agencies/{s.agency_id}/reports/handling"
    recs = f"/v1/agencies/{s.agency_id}/recommendations"
    assert get(api, report, "agency_admin").status_code == 200
    for path in (report, recs):
        assert get(api, path, "n1").status_code == 403
        assert get(api, path, "manager").status_code == 404
        assert get(api, path, "outsider").status_code == 404
        assert get(api, path, "operator").status_code == 403
    roster = get(api, f"/v1/agencies/{s.agency_id}", "operator").json()
    assert {m["actor_id"] for m in roster["members"]} == {
        str(api.world.agency_admin.actor_id),
        str(s.n1.actor_id),
        str(s.n2.actor_id),
    }
    as_consultant = get(api, f"/v1/agencies/{s.agency_id}", "n1").json()
    assert as_consultant["your_roles"] == ["consultant"]
    assert "members" not in as_consultant


def _listed(api: Api, who: str) -> set[str]:
    found: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = get(api, "/v1/organizations", who, **params)
        assert page.status_code == 200, page.text
        found |= {f"{i['kind']}:{i['id']}" for i in page.json()["items"]}
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return found


def test_the_organizations_list_shows_each_caller_what_it_may_see(api: Api) -> None:
    """Members see their organizations, consultants the clients they act for and their
    agency, the agency admin its agency and both its clients, operators all; page by page."""
    s = build(api)
    a, b, n = (
        f"client:{api.world.org_id}",
        f"client:{s.client_b}",
        f"agency:{s.agency_id}",
    )
    assert _listed(api, "manager") == {a}
    assert _listed(api, "manager_b") == {b}
    assert _listed(api, "n2") == {b, n}
    assert _listed(api, "consultant") == {a}
    assert _listed(api, "agency_admin") == {a, b, n}
    assert _listed(api, "operator") == {a, b, n}
    assert _listed(api, "outsider") == set()
    bad = get(api, "/v1/organizations", "manager", cursor="nonsense")
    assert bad.status_code == 400
    assert bad.json()["code"] == "malformed_cursor"
    assert get(api, "/v1/organizations", "manager", cursor=encode_cursor(10**9)).json() == {
        "items": [],
        "next_cursor": None,
    }


def test_a_consultant_the_agency_removes_is_refused_at_every_client_and_nothing_is_recorded(
    api: Api,
) -> None:
    """After the admin takes n2 off the roster, n2's recommendation in B is refused 403
    engagement_required, and the log does not grow."""
    s = build(api)
    removed = api.post(
        f"/v1/agencies/{s.agency_id}/members/remove",
        "agency_admin",
        {"member_id": str(s.n2.actor_id), "member_role": "consultant", "reason": "left"},
    )
    assert removed.status_code == 200, removed.text
    before = api.world.events()
    r = api.post(
        f"/v1/organizations/{s.client_b}/recommendations",
        "n2",
        {
            "engagement_id": str(s.engagement_b),
            "campaign_id": str(s.campaign_b),
            "kind": "strategy",
            "change": {},
            "rationale": "still here",
            "evidence": [],
            "expected_impact": "none",
            "expires_at": "2099-01-01T00:00:00Z",
        },
    )
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "engagement_required"
    assert api.world.events() == before


def test_a_client_may_name_only_consultants_its_registered_agency_lists(api: Api) -> None:
    """Naming someone the agency does not list on an engagement is refused 409
    not_on_roster; once the agency lists it, the same amendment is accepted."""
    s = build(api)
    w = api.world
    newcomer = {"consultant_ids": [str(s.n1.actor_id), str(w.outsider.actor_id)]}
    path = f"/v1/organizations/{w.org_id}/engagements/{s.engagement_a}/amend"
    before = w.events()
    refused = api.post(path, "admin", newcomer)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "not_on_roster"
    assert w.events() == before
    w.run(
        w.agency_admin,
        c.AddAgencyMember(
            agency_id=s.agency_id,
            member_id=w.outsider.actor_id,
            member_role=AgencyRole.CONSULTANT,
        ),
    )
    assert api.post(path, "admin", newcomer).status_code == 200


def test_an_agency_admin_cannot_change_a_clients_engagement(api: Api) -> None:
    """The agency's admin issues no client command: amending or ending the engagement that
    names its agency is answered 404 and appends nothing."""
    s: Scene = build(api)
    w = api.world
    before = w.events()
    base = f"/v1/organizations/{w.org_id}/engagements/{s.engagement_a}"
    assert api.post(f"{base}/amend", "agency_admin", {"channels": ["seo"]}).status_code == 404
    assert api.post(f"{base}/end", "agency_admin", {"reason": "ours"}).status_code == 404
    assert w.events() == before
