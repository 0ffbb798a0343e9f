"""A multi-process deployment on one PostgreSQL schema: two API servers on different ports
(standing in for two hosts; ``--workers 1`` each, LEDGER_PROJECTIONS=external) and one
``ledger projections run`` worker. Commands go through both servers at once; a command
posted to one server is visible through the other's views as soon as the view is asked
with ``after=<the command's position>`` (read-your-writes across hosts); and both servers
answer every view identically. Every acknowledged event is in the store, and the audit
trail holds each logged position exactly once.

Runs on the shared server named by LEDGER_TEST_POSTGRES_URL (a schema of its own, dropped
afterwards); skips, saying why, without it, and fails under LEDGER_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.harness import (
    FULL,
    ApiServer,
    Demo,
    Load,
    ReadSideProbe,
    budget,
    missing_acks,
    plan_body,
    projection_worker,
    report,
    running,
    seed_demo,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(600 if FULL else 120)]

LOAD_S = 20.0 if FULL else 3.0
ROUND_TRIPS = 100 if FULL else 12


def pages(
    client: httpx.Client, path: str, params: dict[str, Any], headers: dict[str, str]
) -> list[Any]:
    """Every item of a paged view, following next_cursor."""
    items: list[Any] = []
    cursor = None
    while True:
        query = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
        r = client.get(path, params=query, headers=headers)
        assert r.status_code == 200, r.text
        assert "x-ledger-stale" not in r.headers, r.headers
        body = r.json()
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return items


def test_two_api_servers_and_a_projection_worker_share_one_store(
    pg_schema_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    rng = random.Random()
    demo = Demo(seed_demo(pg_schema_url, tmp_path / "demo"))
    host_a = ApiServer.make(
        "host-a", pg_schema_url, tmp_path / "a", workers=1, LEDGER_PROJECTIONS="external"
    )
    host_b = ApiServer.make(
        "host-b", pg_schema_url, tmp_path / "b", workers=1, LEDGER_PROJECTIONS="external"
    )
    # both hosts sign checkpoints with the same key, as operations.md requires
    host_b.env = {**host_b.env, "LEDGER_SIGNING_KEY_PATH": host_a.env["LEDGER_SIGNING_KEY_PATH"]}
    worker = projection_worker("projector", pg_schema_url, tmp_path / "w")
    hosts = (host_a, host_b)
    with running(host_a, host_b, worker):
        host_a.start()
        host_b.start()
        worker.start()
        auth = demo.auth("manager_a")
        reader = demo.auth("auditor_a")

        # commands through both hosts at once
        load = Load(lambda i: hosts[i % 2].base_url, demo, clients=4)
        with load:
            time.sleep(LOAD_S)
        load.stop()
        statuses = load.statuses()
        assert statuses[None] == 0, statuses
        assert not [s for s in statuses if s is not None and s >= 500], statuses

        # read-your-writes: post on one host, read the view on the other with after=
        with (
            httpx.Client(base_url=host_a.base_url, timeout=10) as a,
            httpx.Client(base_url=host_b.base_url, timeout=10) as b,
        ):
            r = a.post(
                f"/v1/organizations/{demo.org_a}/campaigns", json=plan_body("ryw"), headers=auth
            )
            assert r.status_code == 201, r.text
            campaign = r.json()["aggregate_id"]
            waits = []
            for n in range(ROUND_TRIPS):
                writer, other = (a, b) if n % 2 else (b, a)
                r = writer.post(
                    f"/v1/campaigns/{campaign}/budget",
                    json={"budget": budget(1001 + n)},
                    headers={**auth, "Idempotency-Key": f"ryw-{n}"},
                )
                assert r.status_code == 200, r.text
                position, version = r.json()["position"], r.json()["version"]
                t0 = time.monotonic()
                seen = other.get(
                    f"/v1/campaigns/{campaign}/state", params={"after": position}, headers=reader
                )
                waits.append(time.monotonic() - t0)
                assert seen.status_code == 200, seen.text
                assert "x-ledger-stale" not in seen.headers, seen.headers
                assert int(seen.headers["x-ledger-position"]) >= position
                assert seen.json()["version"] == version
                assert seen.json()["budget"]["amount"].startswith(str(1001 + n))
                trail = other.get(
                    f"/v1/organizations/{demo.org_a}/audit-trail",
                    params={"after": position, "campaign_id": campaign, "limit": 500},
                    headers=reader,
                )
                assert trail.status_code == 200, trail.text
                assert position in [e["position"] for e in trail.json()["items"]]

            # identical views from both hosts, at the same position
            head = max(a.position for a in load.acked) if load.acked else 0
            head = max(head, position)
            views = {
                "audit-trail": f"/v1/organizations/{demo.org_a}/audit-trail",
                "campaign-states": f"/v1/organizations/{demo.org_a}/campaign-states",
                "register": f"/v1/organizations/{demo.org_a}/register",
            }
            for name, path in views.items():
                from_a = pages(a, path, {"after": head}, reader)
                from_b = pages(b, path, {"after": head}, reader)
                assert from_a == from_b, f"{name} differs between the hosts"
                assert from_a, f"{name} is empty"
            sample = rng.sample(sorted({x.aggregate_id for x in load.acked}), k=10)
            for aggregate_id in sample:
                ra = a.get(f"/v1/aggregates/{aggregate_id}/events", headers=reader)
                rb = b.get(f"/v1/aggregates/{aggregate_id}/events", headers=reader)
                assert ra.status_code == rb.status_code == 200
                assert ra.json() == rb.json()

        lost = missing_acks(pg_schema_url, list(load.acked))
        assert lost == [], lost[:10]
        with ReadSideProbe(pg_schema_url) as probe:
            probe.wait_caught_up(timeout=30)
            assert probe.audit_matches_log() == []
        for p in (*hosts, worker):
            p.check_alive()

    report(
        "deployment_two_hosts",
        acked_events=len(load.acked),
        statuses={str(k): v for k, v in statuses.items()},
        read_your_writes=ROUND_TRIPS,
        ryw_wait_p50_ms=round(sorted(waits)[len(waits) // 2] * 1000, 1),
        ryw_wait_max_ms=round(max(waits) * 1000, 1),
        seconds=round(time.monotonic() - started, 1),
    )
