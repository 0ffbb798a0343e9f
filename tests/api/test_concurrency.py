"""Optimistic concurrency: ETag on reads, If-Match on writes."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.api.conftest import Api


def test_a_stale_if_match_is_refused_with_409_naming_the_current_version(api: Api) -> None:
    """If-Match with an old ETag answers 409 version_conflict and the current version."""
    path = f"/v1/campaigns/{api.world.campaign_id}"
    etag = api.client.get(path, headers=api.auth("manager")).headers["etag"]
    assert etag == '"1"'
    assert api.post(f"{path}/launch", "executive", **{"If-Match": etag}).status_code == 200
    before = len(api.world.events())
    r = api.post(f"{path}/pause", "manager", **{"If-Match": etag})
    assert r.status_code == 409
    assert r.json()["code"] == "version_conflict"
    assert r.json()["context"]["current_version"] == 2
    assert len(api.world.events()) == before


def test_a_malformed_if_match_is_refused_with_400(api: Api) -> None:
    """If-Match must be an ETag this API returned."""
    r = api.post(
        f"/v1/campaigns/{api.world.campaign_id}/launch", "executive", **{"If-Match": "yesterday"}
    )
    assert r.status_code == 400


@pytest.mark.parametrize(
    "value",
    [
        '"\u00b2"',
        '"1\u00b2"',
        "\u00b9",
        '"' + "9" * 5000 + '"',
        '"99999999999999999999"',
        '"1000000000001"',
        '"0"',
        "1",
        '"1',
        'W/"1"',
    ],
    ids=[
        "superscript",
        "digit-superscript",
        "bare-superscript",
        "5000-digits",
        "20-digits",
        "past-10^12",
        "0",
        "unquoted",
        "half-quoted",
        "weak",
    ],
)
def test_an_if_match_that_is_no_etag_of_this_api_is_400_and_records_nothing(
    api: Api, value: str
) -> None:
    """Digits that are not ASCII, versions beyond any a command may expect, zero, an
    unquoted or weak tag: each is a malformed If-Match (400), never an unhandled error."""
    before = api.world.events()
    r = api.post(
        f"/v1/campaigns/{api.world.campaign_id}/launch",
        "manager",
        **{"If-Match": value.encode("latin-1")},
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "malformed_if_match"
    assert api.world.events() == before


def test_thirty_two_clients_with_if_match_on_one_campaign_never_overwrite(api: Api) -> None:
    """Every 2xx is in the store, every loser got 409, no 5xx, versions stay contiguous."""
    path = f"/v1/campaigns/{api.world.campaign_id}"
    etag = api.client.get(path, headers=api.auth("manager")).headers["etag"]

    def send(i: int) -> tuple[int, dict[str, object]]:
        body = {
            "budget": {"amount": str(5000 + 10 * (i + 1)), "currency": "EUR", "period": "monthly"}
        }
        r = api.post(f"{path}/budget", "manager", body, **{"If-Match": etag})
        return r.status_code, r.json()

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(send, range(32)))
    statuses = [s for s, _ in answers]
    assert all(s in (200, 409) for s in statuses), statuses
    winners = [b for s, b in answers if s == 200]
    assert len(winners) == 1
    assert all(b["code"] == "version_conflict" for s, b in answers if s == 409)
    state = api.client.get(path, headers=api.auth("manager")).json()
    assert state["version"] == 2
    history = api.client.get(
        f"/v1/aggregates/{api.world.campaign_id}/events", headers=api.auth("auditor")
    ).json()["events"]
    assert [e["version"] for e in history] == [1, 2]
    assert history[1]["event_id"] == winners[0]["events"][0]["event_id"]  # type: ignore[index]


def test_the_documented_if_match_pattern_is_the_one_enforced(api: Api) -> None:
    """The OpenAPI pattern takes exactly what the server takes: 10^12 and "*" pass both,
    10^12 + 1 and an unquoted tag neither."""
    doc = api.client.get("/openapi.json").json()
    params = doc["paths"]["/v1/campaigns/{campaign_id}/launch"]["post"]["parameters"]
    pattern = re.compile(next(p for p in params if p["name"] == "If-Match")["schema"]["pattern"])
    path = f"/v1/campaigns/{api.world.campaign_id}/launch"
    for value in ('"1000000000000"', "*", '"1000000000001"', "1"):
        r = api.post(path, "manager", **{"If-Match": value})
        served = r.json().get("code") != "malformed_if_match"
        assert served == bool(pattern.fullmatch(value)), (value, r.status_code, r.text)
