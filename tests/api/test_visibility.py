"""One visibility rule: every read route gives the same actor the same campaigns and
recommendations (finding 6 of issue 11), on SQLite and PostgreSQL.

The world: campaign A on ppc/social and campaign B on seo; the world's consultant is engaged
on ppc/seo/social (it covers both), a scoped consultant on seo only (it covers B only).
Each has made one recommendation: the consultant on A, the scoped one on B.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger import commands as c
from ledger.identity import Actor
from ledger.values import Channel, ProposedChange, RecommendationKind
from tests.api.conftest import Api
from tests.support import budget


def _scene(api: Api) -> dict[str, Any]:
    w = api.world
    scoped = Actor(uuid4())
    started = w.run(
        w.admin,
        c.StartEngagement(
            organization_id=w.org_id,
            agency_id=uuid4(),
            consultant_ids=(scoped.actor_id,),
            channels=(Channel.SEO,),
            starts_at=w.clock.now - timedelta(days=1),
            ends_at=w.clock.now + timedelta(days=30),
        ),
    )
    api.key_for(scoped, "scoped")
    seo = w.plan(channels=("seo",))
    on_a = w.recommend()
    assert started.resource_id is not None
    on_b = w.run(
        scoped,
        c.Recommend(
            organization_id=w.org_id,
            engagement_id=started.resource_id,
            campaign_id=seo,
            kind=RecommendationKind.STRATEGY,
            change=ProposedChange(),
            rationale="rank for the brand",
            evidence=(),
            expected_impact="organic leads",
            expires_at=w.clock.now + timedelta(days=14),
        ),
    ).aggregate_id
    last = w.run(w.manager, c.AdjustBudget(campaign_id=seo, budget=budget("900")))
    return {
        "campaigns": {"A": w.campaign_id, "B": seo},
        "recommendations": {"on A": on_a, "on B": on_b},
        "after": last.position,
    }


def _named(ids: dict[str, UUID], found: set[str]) -> set[str]:
    return {name for name, ident in ids.items() if str(ident) in found}


def _waits(path: str) -> bool:
    """Whether ``path`` is a read-side view, which takes ``after`` (reads of the event store
    refuse it: they are never behind)."""
    return path.endswith(("/campaign-states", "/register", "/state", "/handling"))


def _ids(api: Api, who: str, path: str, key: str, after: int) -> set[str]:
    params = {"after": after, "limit": 500} if _waits(path) else {"limit": 500}
    r = api.client.get(path, params=params, headers=api.auth(who))
    assert r.status_code == 200, (path, who, r.text)
    return {str(item[key]) for item in r.json()["items"]}


def _each(api: Api, who: str, paths: list[str], ids: dict[str, UUID], after: int) -> set[str]:
    """The names of the ids every one of ``paths`` (formatted with the id) answers 200 for."""
    seen = set()
    for name, ident in ids.items():
        codes = {
            p: api.client.get(
                p.format(ident), params={"after": after} if _waits(p) else {}, headers=api.auth(who)
            ).status_code
            for p in paths
        }
        assert set(codes.values()) <= {200, 404}, (who, name, codes)
        assert len(set(codes.values())) == 1, f"{who} on {name}: the routes disagree: {codes}"
        if 200 in codes.values():
            seen.add(name)
    return seen


EXPECTED = {
    "manager": ({"A", "B"}, {"on A", "on B"}),
    "auditor": ({"A", "B"}, {"on A", "on B"}),
    "consultant": ({"A", "B"}, {"on A"}),
    "scoped": ({"B"}, {"on B"}),
}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_every_read_route_shows_an_actor_the_same_campaigns_and_recommendations(
    api: Api, who: str
) -> None:
    """Campaign states, campaign lists and reads, the register, the recommendation lists and
    reads, the handling report and the exceptions agree, for each kind of reader."""
    scene = _scene(api)
    org, after = api.world.org_id, scene["after"]
    campaigns, recs = scene["campaigns"], scene["recommendations"]
    base = f"/v1/organizations/{org}"
    by_route = {
        "campaign-states": _named(
            campaigns, _ids(api, who, f"{base}/campaign-states", "campaign_id", after)
        ),
        "campaign list": _named(campaigns, _ids(api, who, f"{base}/campaigns", "id", after)),
        "campaign reads": _each(
            api,
            who,
            ["/v1/campaigns/{}", "/v1/campaigns/{}/state", "/v1/aggregates/{}/events"],
            campaigns,
            after,
        ),
    }
    rec_routes = {
        "register": _named(recs, _ids(api, who, f"{base}/register", "recommendation_id", after)),
        "recommendation list": _named(recs, _ids(api, who, f"{base}/recommendations", "id", after)),
        "recommendation reads": _each(
            api,
            who,
            [
                "/v1/recommendations/{}",
                "/v1/recommendations/{}/handling",
                "/v1/aggregates/{}/events",
            ],
            recs,
            after,
        ),
    }
    want_campaigns, want_recs = EXPECTED[who]
    assert by_route == dict.fromkeys(by_route, want_campaigns)
    assert rec_routes == dict.fromkeys(rec_routes, want_recs)
    report = api.client.get(
        f"{base}/reports/handling", params={"after": after}, headers=api.auth(who)
    )
    assert report.status_code == 200, report.text
    counted = sum(row["recommendations"] for row in report.json()["consultants"])
    assert counted == len(want_recs)
