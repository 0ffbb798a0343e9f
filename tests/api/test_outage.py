"""Store outage: PostgreSQL unreachable under a running server gives a quick 503 with
Retry-After, and the server recovers by itself when the store returns.

PostgreSQL is made unreachable through a TCP proxy that resets every connection and refuses
new ones, so the shared server keeps serving other tests. (The fault suite in bench/ stops
the real server in immediate mode.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from ledger.settings import Settings
from tests.conftest import PG_URL
from tests.proxy import Proxy
from tests.support import Clock, World


@pytest.fixture
def proxied(pg_schema_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Proxy, World, str]]:
    parts = urlsplit(PG_URL)
    proxy = Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    url = pg_schema_url.replace(
        parts.netloc, f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}", 1
    )
    app = create_app(
        Settings(database_url=url, log_format="json", signing_key_path=tmp_path / "signing-key.pem")
    )
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            world = World(app.state.ledger, Clock(datetime.now(UTC))).setup()
            token = app.state.keys.issue(world.executive.actor_id).token
            yield client, proxy, world, token
    finally:
        proxy.close()


def test_an_unreachable_store_answers_503_quickly_and_recovers_without_restart(
    proxied: tuple[TestClient, Proxy, World, str],
) -> None:
    """While the store is away: 503 + Retry-After within a second; back: 2xx within seconds."""
    client, proxy, world, token = proxied
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/v1/campaigns/{world.campaign_id}"
    assert client.post(f"{path}/launch", json={}, headers=headers).status_code == 200
    proxy.cut()
    for method in ("post", "get", "post", "get"):
        started = time.monotonic()
        if method == "post":
            r = client.post(f"{path}/pause", json={}, headers=headers)
        else:
            r = client.get(path, headers=headers)
        elapsed = time.monotonic() - started
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "1"
        assert r.json()["code"] == "store_unavailable"
        assert elapsed < 1.0, f"{method} took {elapsed:.2f}s to answer 503"
    proxy.restore()
    deadline = time.monotonic() + 5
    status = None
    while time.monotonic() < deadline:
        status = client.post(f"{path}/pause", json={}, headers=headers).status_code
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200, "the server did not recover within 5 seconds of the store's return"
    assert client.get(path, headers=headers).json()["status"] == "paused"


def test_the_first_requests_after_an_outage_spent_idle_are_served(
    proxied: tuple[TestClient, Proxy, World, str],
) -> None:
    """Connections that died in an outage nobody noticed (no request while the store was away)
    are not handed to the first requests afterwards: they answer 200, not 503."""
    client, proxy, world, token = proxied
    app: Any = client.app  # the FastAPI app the TestClient runs (typed as a bare ASGI callable)
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/v1/campaigns/{world.campaign_id}"
    assert client.post(f"{path}/launch", json={}, headers=headers).status_code == 200
    assert client.get(path, headers=headers).status_code == 200
    fill_the_pools(app.state.ledger)  # several idle connections, all about to die
    proxy.cut()  # every pooled connection is reset, and no request comes while it is cut
    time.sleep(0.5)
    proxy.restore()
    time.sleep(1.0)  # idle after the return
    statuses = [client.get(path, headers=headers).status_code for _ in range(5)]
    statuses.append(client.post(f"{path}/pause", json={}, headers=headers).status_code)
    assert statuses == [200] * 6, statuses


def fill_the_pools(ledger: Any) -> None:
    """Check out several of the event store's pooled connections at once and give them back,
    so the pool holds more idle connections than one retry could get past."""
    pool = ledger.recorder.datastore.pool
    held = [pool.getconn() for _ in range(4)]
    for conn in held:
        pool.putconn(conn)
