"""Idempotency-Key: one event per key, replayed responses, reuse and in-flight refusals."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.api.conftest import Api

BUDGET = {"budget": {"amount": "5600", "currency": "EUR", "period": "monthly"}}


def test_the_same_key_sent_ten_times_records_one_event_and_replays_the_response(api: Api) -> None:
    """Ten sequential retries: identical status and body, one event appended."""
    path = f"/v1/campaigns/{api.world.campaign_id}/budget"
    before = len(api.world.events())
    answers = [
        api.post(path, "manager", BUDGET, **{"Idempotency-Key": "retry-1"}) for _ in range(10)
    ]
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert all(a.headers.get("idempotent-replayed") == "true" for a in answers[1:])
    assert len(api.world.events()) == before + 2  # the change and the key's record
    types = [t for _, _, t in api.world.events()[before:]]
    assert sum(t.endswith("Campaign.BudgetAdjusted") for t in types) == 1


def test_the_same_key_sent_sixteen_times_at_once_records_one_event(api: Api) -> None:
    """Sixteen concurrent requests: one BudgetAdjusted; answers identical or 409 in flight."""
    path = f"/v1/campaigns/{api.world.campaign_id}/budget"
    before = len(api.world.events())

    def send(_: int) -> tuple[int, str]:
        r = api.post(path, "manager", BUDGET, **{"Idempotency-Key": "storm-1"})
        return r.status_code, r.text

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, range(16)))
    ok = {text for status, text in answers if status == 200}
    assert len(ok) == 1, answers
    assert {status for status, _ in answers} <= {200, 409}
    conflicts = [text for status, text in answers if status == 409]
    assert all("idempotency_key_in_flight" in text for text in conflicts)
    types = [t for _, _, t in api.world.events()[before:]]
    assert sum(t.endswith("Campaign.BudgetAdjusted") for t in types) == 1


def test_the_same_key_with_another_body_is_refused_with_422(api: Api) -> None:
    """Reusing a key for a different request is an error, and appends nothing."""
    path = f"/v1/campaigns/{api.world.campaign_id}/budget"
    assert api.post(path, "manager", BUDGET, **{"Idempotency-Key": "k-2"}).status_code == 200
    before = len(api.world.events())
    other = {"budget": {"amount": "5700", "currency": "EUR", "period": "monthly"}}
    r = api.post(path, "manager", other, **{"Idempotency-Key": "k-2"})
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"
    assert len(api.world.events()) == before


def test_keys_are_scoped_per_actor(api: Api) -> None:
    """Two actors using the same key string each get their own command recorded."""
    path = f"/v1/campaigns/{api.world.campaign_id}/budget"
    r1 = api.post(path, "manager", BUDGET, **{"Idempotency-Key": "shared"})
    r2 = api.post(
        path,
        "executive",
        {"budget": {"amount": "5800", "currency": "EUR", "period": "monthly"}},
        **{"Idempotency-Key": "shared"},
    )
    assert r1.status_code == r2.status_code == 200
    assert r1.json()["events"] != r2.json()["events"]


def test_a_refused_command_is_not_remembered_under_its_key(api: Api) -> None:
    """A refusal stores nothing: the same key can carry the corrected request later."""
    path = f"/v1/campaigns/{api.world.campaign_id}/pause"
    r = api.post(path, "manager", {}, **{"Idempotency-Key": "k-3"})
    assert r.status_code == 409  # a draft campaign cannot be paused
    api.post(f"/v1/campaigns/{api.world.campaign_id}/launch", "executive")
    assert api.post(path, "manager", {}, **{"Idempotency-Key": "k-3"}).status_code == 200


def test_a_malformed_key_is_refused_with_400(api: Api) -> None:
    """Keys are 1 to 255 characters of a safe alphabet."""
    r = api.post(
        f"/v1/campaigns/{api.world.campaign_id}/launch",
        "manager",
        **{"Idempotency-Key": "bad key with spaces"},
    )
    assert r.status_code == 400
    assert r.json()["code"] == "malformed_idempotency_key"
