"""Resource limits on a real server process: oversized bodies are refused with 413 however
they are sent, huge page sizes are clamped, deeply nested or absurd JSON is refused with a
4xx (never a 500, never a dead worker), a 1 MiB header is refused (a 4xx or the connection
closed), and the server stays healthy throughout: every abusive request is answered within
seconds, /readyz stays 200, a normal command succeeds after each round, and the worker never
logs an unhandled error.

Quick: each abuse once. Full (LEDGER_FAULTS_FULL=1): each abuse 20 times, from 8 clients at
once.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.faults.conftest import Store
from tests.faults.harness import FULL, ApiServer, budget, plan_body, report, running

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900 if FULL else 120)]

ROUNDS = 20 if FULL else 1
PARALLEL = 8 if FULL else 1
MAX_BODY = 64 * 1024
ANSWER_WITHIN = 5.0
CLOSED = 0  # "the server closed the connection" is an acceptable answer to this abuse


def chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    """A JSON body sent with Transfer-Encoding: chunked (no Content-Length)."""
    yield b'{"name": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


def nested_arrays(depth: int) -> bytes:
    return b'{"name": ' + b"[" * depth + b"]" * depth + b"}"


def nested_objects(depth: int) -> bytes:
    return b'{"name": ' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"


def test_oversized_nested_and_huge_requests_are_refused_and_the_server_stays_healthy(
    store: Store,
) -> None:
    started = time.monotonic()
    demo = store.demo
    server = ApiServer.make("api", store.url, store.workdir, workers=1)
    with running(server):
        server.start()
        auth = demo.auth("manager_a")
        post_auth = {**auth, "Content-Type": "application/json"}
        plan = f"/v1/organizations/{demo.org_a}/campaigns"

        # enough rows to see clamping: over 200 campaigns and over 500 audit entries in org A
        with httpx.Client(base_url=server.base_url, timeout=30) as c:

            def plan_one(i: int) -> str:
                r = c.post(plan, json=plan_body(f"limits-{i}"), headers=auth)
                assert r.status_code == 201, r.text
                campaign = str(r.json()["aggregate_id"])
                r = c.post(
                    f"/v1/campaigns/{campaign}/budget", json={"budget": budget(1001)}, headers=auth
                )
                assert r.status_code == 200, r.text
                return campaign

            with ThreadPoolExecutor(16) as pool:
                list(pool.map(plan_one, range(260)))

        def raw(method: str, path: str, **kw: object) -> Callable[[httpx.Client], httpx.Response]:
            return lambda c: c.request(method, path, **kw)  # type: ignore[arg-type]

        big = json.dumps(plan_body("x" * (MAX_BODY + 10))).encode()
        cases: dict[str, tuple[Callable[[httpx.Client], httpx.Response], set[int]]] = {
            "body over 64 KiB, Content-Length": (
                raw("POST", plan, content=big, headers=post_auth),
                {413},
            ),
            "body over 64 KiB, chunked": (
                # a new generator for every request: one is spent by the first
                lambda c: c.post(plan, content=chunks(MAX_BODY + 10), headers=post_auth),
                {413},
            ),
            "10 MiB body, Content-Length": (
                raw(
                    "POST",
                    plan,
                    content=b"[" + b"0," * (5 * 1024 * 1024) + b"0]",
                    headers=post_auth,
                ),
                {413},
            ),
            "arrays nested 30,000 deep": (
                raw("POST", plan, content=nested_arrays(30_000), headers=post_auth),
                {400, 422},
            ),
            "objects nested 10,000 deep": (
                raw("POST", plan, content=nested_objects(10_000), headers=post_auth),
                {400, 422},
            ),
            "integer of 50,000 digits": (
                raw("POST", plan, content=b'{"name": ' + b"9" * 50_000 + b"}", headers=post_auth),
                {400, 422},
            ),
            "amount of 50,000 digits": (
                raw(
                    "POST",
                    plan,
                    json={**plan_body("n"), "budget": budget("9" * 50_000)},
                    headers=auth,
                ),
                {400, 422},
            ),
            "header of 1 MiB": (
                raw(
                    "GET",
                    f"/v1/organizations/{demo.org_a}",
                    headers={**auth, "X-Big": "x" * 1024 * 1024},
                ),
                {400, 413, 431, CLOSED},
            ),
            # 1,000 times is a request line of ~27 KiB: past the 16 KiB head limit (431)
            "event_type given 1,000 times": (
                raw(
                    "GET",
                    f"/v1/organizations/{demo.org_a}/audit-trail",
                    params=[("event_type", "Campaign.Planned")] * 1000,
                    headers=auth,
                ),
                {431},
            ),
            # 300 times fits the head limit: the route refuses the filter itself
            "event_type given 300 times": (
                raw(
                    "GET",
                    f"/v1/organizations/{demo.org_a}/audit-trail",
                    params=[("event_type", "Campaign.Planned")] * 300,
                    headers=auth,
                ),
                {400, 422},
            ),
        }
        pages = {
            # path, query, most items a page may hold
            "campaign list, limit=10**9": (
                f"/v1/organizations/{demo.org_a}/campaigns",
                {"limit": 10**9},
                200,
            ),
            "campaign list, limit=-5": (
                f"/v1/organizations/{demo.org_a}/campaigns",
                {"limit": -5},
                1,
            ),
            "audit trail, limit=10**9": (
                f"/v1/organizations/{demo.org_a}/audit-trail",
                {"limit": 10**9},
                500,
            ),
            "audit trail, limit=10**30": (
                f"/v1/organizations/{demo.org_a}/audit-trail",
                {"limit": 10**30},
                500,
            ),
            "campaign states, limit=10**9": (
                f"/v1/organizations/{demo.org_a}/campaign-states",
                {"limit": 10**9},
                500,
            ),
        }

        outcomes: Counter[tuple[str, int | str]] = Counter()
        wrong: list[str] = []
        slowest = 0.0

        def attempt(
            name: str, send: Callable[[httpx.Client], httpx.Response], allowed: set[int]
        ) -> None:
            nonlocal slowest
            t0 = time.monotonic()
            with httpx.Client(base_url=server.base_url, timeout=30) as c:
                try:
                    r = send(c)
                except httpx.TransportError as e:
                    outcomes[(name, type(e).__name__)] += 1
                    if CLOSED not in allowed:
                        wrong.append(f"{name}: {type(e).__name__}")
                    return
            took = time.monotonic() - t0
            slowest = max(slowest, took)
            outcomes[(name, r.status_code)] += 1
            problem = r.headers.get("content-type", "").startswith("application/problem+json")
            if r.status_code not in allowed:
                wrong.append(f"{name}: {r.status_code} {r.text[:200]}")
            elif problem and "code" not in r.json():
                wrong.append(f"{name}: problem without a code")
            if took > ANSWER_WITHIN:
                wrong.append(f"{name}: answered in {took:.1f}s")

        clamped: dict[str, int] = {}
        for _ in range(ROUNDS):
            with ThreadPoolExecutor(PARALLEL) as pool:
                futures = [
                    pool.submit(attempt, name, send, allowed)
                    for name, (send, allowed) in cases.items()
                    for _ in range(PARALLEL)
                ]
                for f in futures:
                    f.result()
            for name, (path, query, most) in pages.items():
                r = httpx.get(f"{server.base_url}{path}", params=query, headers=auth, timeout=30)
                if r.status_code != 200:
                    wrong.append(f"{name}: {r.status_code} {r.text[:200]}")
                    continue
                items = r.json()["items"]
                clamped[name] = len(items)
                if not 1 <= len(items) <= most or (most > 1 and len(items) < min(most, 200)):
                    wrong.append(f"{name}: {len(items)} items (clamp to {most})")
            # still healthy: ready, and serving a normal command
            server.check_alive()
            assert httpx.get(f"{server.base_url}/readyz", timeout=5).status_code == 200
            r = httpx.post(
                f"{server.base_url}{plan}", json=plan_body("after abuse"), headers=auth, timeout=10
            )
            assert r.status_code == 201, r.text

        unhandled = [line for line in server.log_lines() if "unhandled error" in line]

    report(
        "resource_limits",
        rounds=ROUNDS,
        parallel=PARALLEL,
        outcomes={f"{k[0]} -> {k[1]}": n for k, n in outcomes.items()},
        page_sizes=clamped,
        slowest_s=round(slowest, 2),
        unhandled_errors=len(unhandled),
        seconds=round(time.monotonic() - started, 1),
    )
    assert wrong == [], wrong
    assert unhandled == [], unhandled[:3]
