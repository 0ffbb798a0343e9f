"""Authentication: every route but health and the OpenAPI document needs a valid key."""

from __future__ import annotations

from tests.api.conftest import Api


def test_a_request_without_a_key_is_refused_with_401_and_a_bearer_challenge(api: Api) -> None:
    """A missing Authorization header answers 401 problem+json with WWW-Authenticate."""
    r = api.client.get(f"/v1/campaigns/{api.world.campaign_id}")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["code"] == "unauthorized"


def test_malformed_unknown_and_revoked_keys_are_refused_with_401(api: Api) -> None:
    """Wrong scheme, garbage, a well-formed unknown key and a revoked key all get 401."""
    path = f"/v1/campaigns/{api.world.campaign_id}"
    unknown = "cdl_000000000000_" + "A" * 43
    for header in ("Basic abc", "Bearer", "Bearer not-a-key", f"Bearer {unknown}"):
        assert api.client.get(path, headers={"Authorization": header}).status_code == 401
    token = api.tokens["manager"]
    assert api.client.get(path, headers=api.auth("manager")).status_code == 200
    key_id = token.split("_")[1]
    r = api.post(f"/v1/admin/api-keys/{key_id}/revoke", "operator")
    assert r.status_code == 200
    assert api.client.get(path, headers=api.auth("manager")).status_code == 401


def test_health_and_the_openapi_document_need_no_key(api: Api) -> None:
    """/healthz, /readyz and /openapi.json answer without authentication."""
    assert api.client.get("/healthz").status_code == 200
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["store_reachable"] is True
    assert api.client.get("/openapi.json").status_code == 200


def test_only_an_operator_issues_keys_and_a_new_key_is_shown_once(api: Api) -> None:
    """A manager cannot issue keys; an operator's new key works and is not stored in clear."""
    body = {"actor_id": str(api.world.manager.actor_id), "label": "second key"}
    assert api.post("/v1/admin/api-keys", "manager", body).status_code == 403
    r = api.post("/v1/admin/api-keys", "operator", body)
    assert r.status_code == 201
    token = r.json()["api_key"]
    path = f"/v1/campaigns/{api.world.campaign_id}"
    assert api.client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    info = api.app.state.keys._row(r.json()["key_id"])
    assert token not in str(info)
    assert token.split("_", 2)[2] not in str(info)
