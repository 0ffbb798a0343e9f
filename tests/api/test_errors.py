"""Edge errors: each is problem+json with a stable code, and the server stays healthy."""

from __future__ import annotations

from tests.api.conftest import Api


def post_raw(api: Api, path: str, content: bytes, ctype: str = "application/json") -> object:
    return api.client.post(
        path, content=content, headers={**api.auth("manager"), "Content-Type": ctype}
    )


def test_malformed_json_is_a_400(api: Api) -> None:
    """A body that is not JSON answers 400 malformed_json."""
    r = post_raw(api, f"/v1/campaigns/{api.world.campaign_id}/launch", b'{"note": ')
    assert r.status_code == 400  # type: ignore[attr-defined]
    assert r.json()["code"] == "malformed_json"  # type: ignore[attr-defined]


def test_a_body_over_the_limit_is_a_413(api: Api) -> None:
    """Bodies over 64 KiB are refused before parsing."""
    big = b'{"note": "' + b"x" * 70_000 + b'"}'
    r = post_raw(api, f"/v1/campaigns/{api.world.campaign_id}/launch", big)
    assert r.status_code == 413  # type: ignore[attr-defined]
    assert r.json()["code"] == "payload_too_large"  # type: ignore[attr-defined]


def test_a_body_that_is_not_json_is_a_415(api: Api) -> None:
    """Only application/json bodies are accepted."""
    r = post_raw(api, f"/v1/campaigns/{api.world.campaign_id}/launch", b"note=x", "text/plain")
    assert r.status_code == 415  # type: ignore[attr-defined]


def test_deeply_nested_json_is_refused_without_a_500(api: Api) -> None:
    """A pathological nesting depth is a client error, and the server keeps answering."""
    deep = b'{"note": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    assert len(deep) < 64 * 1024
    r = post_raw(api, f"/v1/campaigns/{api.world.campaign_id}/launch", deep)
    assert r.status_code in (400, 422), r.text  # type: ignore[attr-defined]
    assert r.json()["code"] in ("malformed_json", "invalid_request")  # type: ignore[attr-defined]
    assert api.client.get("/healthz").status_code == 200


def test_an_unknown_route_is_a_problem_404(api: Api) -> None:
    """Routing misses are problem documents too."""
    r = api.client.get("/v1/nothing-here", headers=api.auth("manager"))
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_a_malformed_path_id_is_a_422(api: Api) -> None:
    """A path id that is not a UUID is invalid input."""
    r = api.client.get("/v1/campaigns/not-a-uuid", headers=api.auth("manager"))
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_request"


def test_metrics_count_requests_and_commands(api: Api) -> None:
    """/metrics exposes request counts by route and status and commands by outcome."""
    api.post(f"/v1/campaigns/{api.world.campaign_id}/launch", "executive")
    text = api.client.get("/metrics").text
    assert 'ledger_commands_total{command="LaunchCampaign",outcome="accepted"}' in text
    assert 'route="/v1/campaigns/{campaign_id}/launch"' in text


def test_an_unexpected_exception_is_a_500_problem_with_the_request_id_only(api: Api) -> None:
    """A crash answers 500 problem+json naming the request id, and nothing of the failure."""

    def crash() -> None:
        raise RuntimeError("secret-internals at /srv/ledger/db.py line 7")

    api.app.router.add_api_route("/v1/test-crash", crash)
    r = api.client.get("/v1/test-crash", headers={"X-Request-Id": "req-crash-1"})
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-request-id"] == "req-crash-1"
    assert r.json() == {
        "type": "https://campaign-decision-ledger.dev/problems/internal_error",
        "title": "Internal error",
        "status": 500,
        "detail": "an unexpected error occurred; quote the request id when reporting it",
        "code": "internal_error",
        "instance": "/v1/test-crash",
        "request_id": "req-crash-1",
    }
    assert "secret" not in r.text
    assert "RuntimeError" not in r.text
    assert api.client.get("/healthz").status_code == 200
