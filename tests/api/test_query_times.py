"""Time query parameters over HTTP: a time with no UTC equivalent and a reversed period are
precise 400s on every read that takes them, never a 500 or an empty answer."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

BEFORE_YEAR_1 = "0001-01-01T00:00:00+14:00"  # in UTC, the day before year 1
AFTER_YEAR_9999 = "9999-12-31T23:59:59-14:00"  # in UTC, in year 10000
PERIOD_READS = ("audit-trail", "register", "reports/handling")


def get(api: Api, path: str, params: dict[str, str]) -> tuple[int, dict[str, object]]:
    r = api.client.get(path, params=params, headers=api.auth("auditor"))
    return r.status_code, r.json()


@pytest.mark.parametrize("value", [BEFORE_YEAR_1, AFTER_YEAR_9999])
@pytest.mark.parametrize("what", ["campaign", "recommendation"])
def test_an_as_of_with_no_utc_equivalent_is_400_invalid_query(
    api: Api, value: str, what: str
) -> None:
    """``as_of`` outside the years 1..9999 once in UTC is 400 invalid_query naming it."""
    rec_id = api.world.recommend()
    ident = api.world.campaign_id if what == "campaign" else rec_id
    status, body = get(api, f"/v1/{what}s/{ident}", {"as_of": value})
    assert status == 400, body
    assert body["code"] == "invalid_query"
    assert "as_of=" in str(body["detail"])


@pytest.mark.parametrize("value", [BEFORE_YEAR_1, AFTER_YEAR_9999])
@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("read", PERIOD_READS)
def test_a_since_or_until_with_no_utc_equivalent_is_400_invalid_query(
    api: Api, value: str, name: str, read: str
) -> None:
    """``since``/``until`` outside the years 1..9999 in UTC is 400 invalid_query naming it."""
    status, body = get(api, f"/v1/organizations/{api.world.org_id}/{read}", {name: value})
    assert status == 400, body
    assert body["code"] == "invalid_query"
    assert f"{name}=" in str(body["detail"])


@pytest.mark.parametrize("value", [BEFORE_YEAR_1, AFTER_YEAR_9999])
@pytest.mark.parametrize("name", ["from", "to"])
def test_a_bundle_bound_with_no_utc_equivalent_is_400_invalid_query(
    api: Api, value: str, name: str
) -> None:
    """A bundle's ``from``/``to`` outside the years 1..9999 in UTC is 400 invalid_query."""
    path = f"/v1/organizations/{api.world.org_id}/integrity/bundle"
    status, body = get(api, path, {name: value})
    assert status == 400, body
    assert body["code"] == "invalid_query"
    assert f"{name}=" in str(body["detail"])


@pytest.mark.parametrize("read", PERIOD_READS)
def test_a_read_whose_since_is_after_its_until_is_400_reversed_period(api: Api, read: str) -> None:
    """``since`` after ``until`` is 400 reversed_period, not an empty 200; equal bounds
    (an empty period) and a plain date (that day at 00:00 UTC) are still answered."""
    path = f"/v1/organizations/{api.world.org_id}/{read}"
    status, body = get(
        api, path, {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}
    )
    assert status == 400, body
    assert body["code"] == "reversed_period"
    assert "'since' must not be after 'until'" in str(body["detail"])
    same = {"since": "2026-03-01T00:00:00+01:00", "until": "2026-02-28T23:00:00Z"}
    assert get(api, path, same)[0] == 200
    day = {"since": "2026-03-01", "until": "2099-03-01T00:00:00Z"}
    assert get(api, path, day)[0] == 200


def test_a_consistency_proof_whose_from_is_after_its_to_is_400_reversed_period(
    api: Api,
) -> None:
    """``from`` after ``to`` on /v1/integrity/consistency is 400 reversed_period (it was
    422 invalid_request); a ``to`` past the tree is still 422."""
    status, body = get(api, "/v1/integrity/consistency", {"from": "2", "to": "1"})
    assert status == 400, body
    assert body["code"] == "reversed_period"
    assert "'from' must not be after 'to'" in str(body["detail"])
    status, body = get(api, "/v1/integrity/consistency", {"from": "0", "to": str(2**40)})
    assert status == 422, body
    assert body["code"] == "invalid_request"
