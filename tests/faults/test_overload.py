"""Overload: the API (2 workers) offered 1.5x the capacity just measured, open loop (each
request leaves at its scheduled time, whatever the answers, so a slow server cannot slow
the load down). What is not served must be shed with 429 or 503, never another 5xx or a
dropped connection, and each shed answer is a problem document with a code and
Retry-After (admission control, ``api.http.admission``; not uvicorn's plain-text 503); latency
(from sending to the answer) stays within the configured timeouts: the queue deadline, the
wait for a pooled connection and for the append's lock; and once the load drops back to
half the capacity, p99 (counted from each request's scheduled time) is normal again within
10 seconds.

Capacity: completed commands per second of 32 closed-loop clients (budget adjustments over
256 campaigns, each with an Idempotency-Key). "Normal" p99: at half that rate, before the
overload. Quick: 5 s of overload. Full (LEDGER_FAULTS_FULL=1): 30 s.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import httpx
import pytest

from api.http.admission import AdmissionSettings
from bench.load import LoadError
from bench.pool import Pool
from ledger.settings import Settings
from tests.faults.conftest import Store
from tests.faults.harness import (
    FULL,
    HOST,
    ApiServer,
    budget,
    percentile,
    plan_body,
    report,
    running,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900 if FULL else 150)]

CAMPAIGNS = 256
CAPACITY_CLIENTS = 32
CAPACITY_S = 4.0 if FULL else 3.0
NORMAL_S = 5.0 if FULL else 2.0
OVERLOAD_S = 30.0 if FULL else 5.0
RECOVER_WITHIN = 10.0
TIMEOUT = 30.0  # client timeout: a request slower than this is a failure to shed
SHED = {429, 503}
ADMISSION = AdmissionSettings()  # the defaults (or LEDGER_* of this run), given to the server
# no request may take longer, however long the overload lasts: its wait for a running slot,
# then at most one wait for a pooled connection and one for the append's lock
LATENCY_BOUND = ADMISSION.queue_deadline + Settings().pg_pool_timeout + Settings().pg_lock_timeout


@dataclass
class Sent:
    scheduled: float
    lag: float  # seconds the client was late sending it (the machine is shared)
    latency: float  # from sending to the answer
    status: int | None
    code: str | None = None
    error: str | None = None
    problem: bool = False  # an application/problem+json answer with Retry-After


class Driver:
    """Budget adjustments spread over the campaigns, one new Idempotency-Key each, sent with
    the lean asyncio client (``bench.load.Pool``: the client shares two cores with the server)."""

    def __init__(self, port: int, token: str, campaigns: list[str]) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}"}
        self.campaigns = campaigns
        self.counter = itertools.count()

    async def one(self, client: Pool, scheduled: float) -> Sent:
        n = next(self.counter)
        campaign = self.campaigns[n % len(self.campaigns)]
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        # the k-th change of each campaign: 1001 + k % 900, never the budget in force (900
        # changes apart at least) and never more than 900 above it (the approval limit is
        # 1000), however late a request is served
        body = {"budget": budget(1001 + (n // len(self.campaigns)) % 900)}
        sent = time.monotonic()
        try:
            r = await asyncio.wait_for(
                client.post(f"/v1/campaigns/{campaign}/budget", body, headers), TIMEOUT
            )
        except (OSError, LoadError, TimeoutError) as e:
            end = time.monotonic()
            return Sent(scheduled, sent - scheduled, end - sent, None, error=type(e).__name__)
        end = time.monotonic()
        code = None
        if r.status >= 300:
            try:
                code = r.json().get("code")
            except ValueError:
                code = None
        problem = (
            r.headers.get("content-type") == "application/problem+json"
            and "retry-after" in r.headers
        )
        return Sent(scheduled, sent - scheduled, end - sent, r.status, code, problem=problem)

    def closed_loop(self, clients: int, seconds: float) -> list[Sent]:
        async def run() -> list[Sent]:
            out: list[Sent] = []
            end = time.monotonic() + seconds
            client = Pool(HOST, self.port, self.headers)

            async def loop() -> None:
                while time.monotonic() < end:
                    out.append(await self.one(client, time.monotonic()))

            try:
                await asyncio.gather(*(loop() for _ in range(clients)))
            finally:
                await client.close()
            return out

        return asyncio.run(run())

    def open_loop(self, rate: float, seconds: float) -> list[Sent]:
        async def run() -> list[Sent]:
            client = Pool(HOST, self.port, self.headers)
            tasks = []
            try:
                start = time.monotonic()
                for i in itertools.count():
                    at = start + i / rate
                    if at - start >= seconds:
                        break
                    delay = at - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    tasks.append(asyncio.create_task(self.one(client, at)))
                return list(await asyncio.gather(*tasks))
            finally:
                await client.close()

        return asyncio.run(run())


def ok(s: Sent) -> bool:
    return s.status is not None and 200 <= s.status < 300


def projection_lag(base_url: str) -> int:
    """The largest lag of the projections (events not yet applied), from /metrics."""
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    lags = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("ledger_projection_lag_events{")
    ]
    return int(max(lags, default=0))


def windows(sent: list[Sent], start: float, width: float = 1.0) -> list[tuple[float, float]]:
    """(offset of the window from ``start``, p99 of the requests scheduled in it)."""
    by: dict[int, list[float]] = {}
    for s in sent:
        by.setdefault(int((s.scheduled - start) // width), []).append(s.lag + s.latency)
    return [(k * width, percentile(v, 0.99)) for k, v in sorted(by.items())]


def test_overload_at_one_and_a_half_times_capacity_sheds_cleanly_and_recovers(
    store: Store,
) -> None:
    started = time.monotonic()
    demo = store.demo
    server = ApiServer.make(
        "api",
        store.url,
        store.workdir,
        workers=2,
        LEDGER_MAX_IN_FLIGHT=str(ADMISSION.max_in_flight),
        LEDGER_MAX_RUNNING=str(ADMISSION.max_running),
        LEDGER_QUEUE_DEADLINE=str(ADMISSION.queue_deadline),
    )
    with running(server):
        server.start()

        async def plan_all() -> list[str]:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as c:
                sem = asyncio.Semaphore(16)

                async def plan(i: int) -> str:
                    async with sem:
                        r = await c.post(
                            f"/v1/organizations/{demo.org_a}/campaigns",
                            json=plan_body(f"overload-{i}"),
                            headers=demo.auth("manager_a"),
                        )
                    assert r.status_code == 201, r.text
                    return str(r.json()["aggregate_id"])

                return list(await asyncio.gather(*(plan(i) for i in range(CAMPAIGNS))))

        campaigns = asyncio.run(plan_all())
        driver = Driver(server.port, demo.key("manager_a"), campaigns)
        cpu0 = time.process_time()

        driver.closed_loop(CAPACITY_CLIENTS, 1.0)  # warm up
        measured = driver.closed_loop(CAPACITY_CLIENTS, CAPACITY_S)
        capacity = sum(1 for s in measured if ok(s)) / CAPACITY_S
        assert capacity > 0, Counter((s.status, s.code, s.error) for s in measured)

        normal = driver.open_loop(capacity * 0.5, NORMAL_S)
        normal_p99 = percentile([s.lag + s.latency for s in normal if ok(s)], 0.99)
        threshold = max(2 * normal_p99, normal_p99 + 0.05)

        overload_start = time.monotonic()
        overload = driver.open_loop(capacity * 1.5, OVERLOAD_S)
        dropped = overload_start + OVERLOAD_S  # the load drops when the last one is sent
        overload_wall = time.monotonic() - overload_start
        projection_lags = [projection_lag(server.base_url)]  # at the drop, after each window

        # half the capacity again, in 1 s windows, until two good windows in a row
        after: list[Sent] = []
        recovered_at = None
        probe_start = time.monotonic()
        while time.monotonic() - dropped < RECOVER_WITHIN + 3:
            after += driver.open_loop(capacity * 0.5, 1.0)
            projection_lags.append(projection_lag(server.base_url))
            good = [(t, p) for t, p in windows(after, probe_start)]
            for (t1, p1), (_, p2) in itertools.pairwise(good):
                if p1 <= threshold and p2 <= threshold:
                    recovered_at = probe_start + t1 - dropped
                    break
            if recovered_at is not None:
                break
        client_cpu = time.process_time() - cpu0
        server.check_alive()
        healthy = httpx.get(f"{server.base_url}/readyz", timeout=5).status_code

    statuses = Counter((s.status, s.code, s.error) for s in overload)
    bad = {k: n for k, n in statuses.items() if k[0] is None or (k[0] >= 300 and k[0] not in SHED)}
    plain = Counter((s.status, s.code) for s in overload if s.status in SHED and not s.problem)
    served = [s.latency for s in overload if ok(s)]
    latencies = [s.latency for s in overload]
    lags = [s.lag for s in overload]
    figures = {
        "capacity_rps": round(capacity, 1),
        "offered_rps": round(capacity * 1.5, 1),
        "overload_wall_s": round(overload_wall, 2),
        "normal_p99_s": round(normal_p99, 3),
        "overload_ok": sum(1 for s in overload if ok(s)),
        "overload_shed": sum(1 for s in overload if s.status in SHED),
        "overload_other": sum(bad.values()),
        "overload_shed_plain": sum(plain.values()),
        "overload_p50_s": round(percentile(served, 0.5), 3),
        "overload_p99_s": round(percentile(latencies, 0.99), 3),
        "overload_max_s": round(max(latencies, default=0.0), 3),
        "recovered_after_s": None if recovered_at is None else round(max(recovered_at, 0.0), 2),
        "client_lag_p99_s": round(percentile(lags, 0.99), 3),
        "client_cpu_s": round(client_cpu, 1),
        "projection_lag_after_drop": projection_lags,
        "windows_after_drop": [
            (round(t + probe_start - dropped, 1), round(p, 3))
            for t, p in windows(after, probe_start)
        ],
        "latency_bound_s": LATENCY_BOUND,
        "max_in_flight": ADMISSION.max_in_flight,
        "queue_deadline_s": ADMISSION.queue_deadline,
    }
    report(
        "overload_1_5x",
        **figures,
        statuses={repr(k): n for k, n in statuses.items()},
        seconds=round(time.monotonic() - started, 1),
    )
    assert healthy == 200
    assert bad == {}, f"not served and not shed with 429/503: {bad} ({figures})"
    assert not plain, f"shed without a problem document and Retry-After: {plain} ({figures})"
    assert max(latencies, default=0.0) <= LATENCY_BOUND, f"latency unbounded: {figures}"
    late = f"p99 not back under {threshold:.3f}s within {RECOVER_WITHIN}s: {figures}"
    assert recovered_at is not None, f"{late}, windows {windows(after, probe_start)}"
    assert recovered_at <= RECOVER_WITHIN, f"{late}, windows {windows(after, probe_start)}"
