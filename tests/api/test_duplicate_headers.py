"""Headers that must be single: sent twice, the request is refused before any route runs."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api


@pytest.mark.parametrize(
    "name", ["Authorization", "Idempotency-Key", "If-Match", "Content-Type", "content-type"]
)
def test_a_command_that_repeats_a_single_header_is_400_and_appends_nothing(
    api: Api, name: str
) -> None:
    """Two Authorization, Idempotency-Key, If-Match or Content-Type lines (in any case) are
    400 duplicate_header naming the header, not resolved by taking the first."""
    given = {
        "authorization": api.auth("manager")["Authorization"],
        "idempotency-key": "k-1",
        "if-match": '"1"',
        "content-type": "application/json",
    }
    second = {
        "authorization": api.auth("executive")["Authorization"],
        "idempotency-key": "k-2",
        "if-match": '"2"',
        "content-type": "application/json",
    }
    headers = [*given.items(), (name, second[name.lower()])]
    before = len(api.world.events())
    r = api.client.post(
        f"/v1/campaigns/{api.world.campaign_id}/launch", content=b"{}", headers=headers
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "duplicate_header"
    assert name.lower() in r.json()["detail"]
    assert len(api.world.events()) == before


def test_a_read_that_repeats_authorization_is_400(api: Api) -> None:
    """A GET with two Authorization lines is refused too, before authentication runs."""
    token = api.auth("manager")["Authorization"]
    r = api.client.get(
        f"/v1/campaigns/{api.world.campaign_id}",
        headers=[("Authorization", token), ("Authorization", "Bearer nonsense")],
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "duplicate_header"


def test_a_command_with_each_single_header_once_is_served(api: Api) -> None:
    """The same headers, each once, launch the campaign: the check refuses only repeats."""
    r = api.client.post(
        f"/v1/campaigns/{api.world.campaign_id}/launch",
        content=b"{}",
        headers={**api.auth("executive"), "Content-Type": "application/json"},
    )
    assert r.status_code in (200, 201), r.text
