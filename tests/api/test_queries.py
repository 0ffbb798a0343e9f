"""Queries: ETags, as-of reads, histories with the envelope, clamped cursor pages."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tests.api.conftest import Api


def test_a_campaign_can_be_read_as_of_a_past_moment(api: Api) -> None:
    """After a launch, ?as_of= a time before it shows the campaign still in draft."""
    path = f"/v1/campaigns/{api.world.campaign_id}"
    time.sleep(0.01)
    before = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    api.post(f"{path}/launch", "executive")
    now = api.client.get(path, headers=api.auth("auditor"))
    then = api.client.get(path, params={"as_of": before}, headers=api.auth("auditor"))
    assert now.json()["status"] == "active"
    assert then.json()["status"] == "draft"
    assert then.headers["etag"] == '"1"'
    early = api.client.get(
        path, params={"as_of": "2000-01-01T00:00:00Z"}, headers=api.auth("auditor")
    )
    assert early.status_code == 404


def test_a_recommendation_shows_its_revisions_and_decisions(api: Api) -> None:
    """The recommendation read carries every revision and each decision with its revision."""
    rec = api.world.recommend()
    api.post(
        f"/v1/recommendations/{rec}/reject",
        "manager",
        {"revision": 1, "reason_code": "timing", "reason_text": "not this quarter"},
    )
    body = api.client.get(f"/v1/recommendations/{rec}", headers=api.auth("consultant")).json()
    assert body["status"] == "rejected"
    assert body["decisions"][0]["revision"] == 1
    assert body["decisions"][0]["type"] == "Rejected"
    assert len(body["revisions"]) == 1


def test_an_aggregates_history_carries_the_full_envelope(api: Api) -> None:
    """Every event in the history names actor, role, party, organization and correlation."""
    rec = api.world.recommend()
    events = api.client.get(f"/v1/aggregates/{rec}/events", headers=api.auth("auditor")).json()[
        "events"
    ]
    envelope = events[0]["envelope"]
    assert envelope["actor_id"] == str(api.world.consultant.actor_id)
    assert envelope["role"] == "consultant"
    assert envelope["party"] == "agency"
    assert envelope["organization_id"] == str(api.world.org_id)
    assert envelope["engagement_id"] == str(api.world.engagement_id)
    assert envelope["correlation_id"]
    assert events[0]["position"] >= 1
    assert events[0]["recorded_at"].endswith("+00:00")


def test_list_pages_are_clamped_and_follow_a_cursor(api: Api) -> None:
    """A huge page size is clamped; the cursor walks every campaign exactly once."""
    for _ in range(4):
        api.world.plan()
    path = f"/v1/organizations/{api.world.org_id}/campaigns"
    seen: list[str] = []
    page = api.client.get(path, params={"limit": 2}, headers=api.auth("manager")).json()
    while True:
        seen += [c["id"] for c in page["items"]]
        if not page["next_cursor"]:
            break
        page = api.client.get(
            path, params={"limit": 2, "cursor": page["next_cursor"]}, headers=api.auth("manager")
        ).json()
    assert len(seen) == len(set(seen)) == 5
    huge = api.client.get(path, params={"limit": 10**9}, headers=api.auth("manager"))
    assert huge.status_code == 200
    assert len(huge.json()["items"]) == 5
    bad = api.client.get(path, params={"cursor": "!!"}, headers=api.auth("manager"))
    assert bad.status_code == 400
