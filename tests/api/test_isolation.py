"""Tenant isolation: another organization's ids answer 404 on every route, leaking nothing."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from tests.api.conftest import Api
from tests.support import World


def other_org(api: Api) -> tuple[World, UUID]:
    """A second organization in the same store, with a recommendation in it."""
    other = World(api.world.ledger, api.world.clock).setup()
    return other, other.recommend()


def example_body(api: Api, path: str, method: str = "post") -> dict[str, Any]:
    schema = api.app.openapi()["paths"][path][method]
    ref = (
        schema.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("$ref")
    )
    if not ref:
        return {}
    component = api.app.openapi()["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return dict((component.get("examples") or [{}])[0])


@pytest.mark.parametrize("who", ["manager", "auditor", "consultant", "executive"])
def test_every_id_bearing_route_answers_404_for_another_organizations_ids(
    api: Api, who: str
) -> None:
    """Each GET and POST with a path id of organization B, called by A's actors, is 404."""
    other, rec = other_org(api)
    ids = {
        "organization_id": other.org_id,
        "campaign_id": other.campaign_id,
        "recommendation_id": rec,
        "engagement_id": other.engagement_id,
        "subject_id": other.org_id,  # the name directory, asked as a member of B
        "agency_id": other.agency(),  # B's registered agency (ADR 0016)
    }
    before = len(api.world.events())
    checked = 0
    for template, operations in api.app.openapi()["paths"].items():
        if "{" not in template or "key_id" in template:
            continue
        targets = [other.org_id, other.campaign_id, rec] if "{aggregate_id}" in template else [None]
        for target, method in [(t, m) for t in targets for m in operations]:
            path = template.replace("{aggregate_id}", str(target))
            for name, value in ids.items():
                path = path.replace("{" + name + "}", str(value))
            params = {"organization_id": str(other.org_id)} if "{subject_id}" in template else None
            if method == "get":
                r = api.client.get(path, params=params, headers=api.auth(who))
            else:
                body = example_body(api, template, method)
                r = api.client.request(
                    method.upper(), path, params=params, json=body, headers=api.auth(who)
                )
            assert r.status_code == 404, (method, path, r.status_code, r.text)
            text = r.text
            leaked = [str(other.org_id), str(other.campaign_id), str(rec), "Client A"]
            assert not any(s in text and s not in path for s in leaked), text
            checked += 1
    assert checked >= 30
    assert len(api.world.events()) == before


def test_a_consultant_sees_only_its_own_engagements_recommendations(api: Api) -> None:
    """Another agency's consultant in the same organization gets 404 for our recommendation."""
    w = api.world
    rec = w.recommend()
    rival = World(w.ledger, w.clock)
    rival.org_id = w.org_id
    rival.admin = w.admin
    rival.engagement_id = rival.start_engagement()
    headers = api.key_for(rival.consultant, "rival")
    assert api.client.get(f"/v1/recommendations/{rec}", headers=headers).status_code == 404
    assert (
        api.client.get(f"/v1/recommendations/{rec}", headers=api.auth("consultant")).status_code
        == 200
    )
    listed = api.client.get(
        f"/v1/organizations/{w.org_id}/recommendations", headers=headers
    ).json()["items"]
    assert listed == []
