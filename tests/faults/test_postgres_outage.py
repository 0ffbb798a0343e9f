"""PostgreSQL stopped in immediate mode under load, then started again, with the API left
running: while the store is down every request is answered 503 with Retry-After within a
second; after it returns the API answers 2xx again within 5 seconds without a restart; no
acknowledged command is lost (crash recovery from the WAL keeps every commit); and the
projections, run inside the API, catch up by themselves to equal a rebuild.

Quick: one outage of 3 s. Full (LEDGER_FAULTS_FULL=1): outages of 3, 7.5, 15.5 and 30 s
(LEDGER_FAULTS_OUTAGES="5,20" chooses others). psycopg_pool retries a lost server after 1,
2, 4, 8... s; without a short ``reconnect_timeout`` on the pools (they give up after 2 s and
try afresh when asked) the API noticed the server's return only at the next retry: 6 s after
the 7.5 s outage and 14 s after the 15.5 s one, which end just after a retry.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest

from tests.faults.conftest import Store
from tests.faults.harness import (
    FULL,
    ApiServer,
    Load,
    Outcome,
    ReadSideProbe,
    missing_acks,
    report,
    running,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900 if FULL else 120)]

OUTAGES = tuple(
    float(s)
    for s in os.environ.get("LEDGER_FAULTS_OUTAGES", "3,7.5,15.5,30" if FULL else "3").split(",")
)
ANSWER_WITHIN = 1.0  # seconds, for a 503 while the store is down
RECOVER_WITHIN = 5.0  # seconds after the store is back, for the first 2xx


def ok(o: Outcome) -> bool:
    return o.status is not None and 200 <= o.status < 300


def test_postgres_stopped_in_immediate_mode_gives_503_then_recovers(store: Store) -> None:
    started = time.monotonic()
    server = ApiServer.make("api", store.url, store.workdir, workers=1)
    load = Load(lambda _i: server.base_url, store.demo, clients=4, think=0.02)
    # (stopping, stopped, restarting, started again)
    windows: list[tuple[float, float, float, float]] = []
    with running(server):
        server.start()
        with load:
            for outage in OUTAGES:
                time.sleep(1.5)
                assert load.statuses(since=time.monotonic() - 1.0)[None] == 0
                stopping = time.monotonic()  # requests may fail from here on
                store.pg.stop("immediate")
                down = time.monotonic()  # pg_ctl -w returned: the server is gone
                time.sleep(outage)
                restarting = time.monotonic()  # it may accept connections from here on
                store.pg.start()
                up = time.monotonic()  # pg_ctl -w returned: it accepts connections
                windows.append((stopping, down, restarting, up))
                # observe at least RECOVER_WITHIN + 2 s, and on until served again (bounded),
                # so that a late recovery is measured rather than only detected
                time.sleep(RECOVER_WITHIN + 2.0)
                deadline = up + outage + 15.0
                while time.monotonic() < deadline and not any(
                    ok(o) for o in load.snapshot() if o.started >= up
                ):
                    time.sleep(0.1)
                time.sleep(1.0)
            server.check_alive()
        load.stop()
        outcomes = load.snapshot()

        findings: list[str] = []
        figures: list[dict[str, float]] = []
        for i, (_, down, restarting, up) in enumerate(windows):
            until = windows[i + 1][0] if i + 1 < len(windows) else float("inf")
            # requests begun once the store was down, answered before it was restarted
            during = [o for o in outcomes if o.started >= down and o.ended <= restarting]
            slow = [o for o in during if o.seconds > ANSWER_WITHIN]
            wrong = [o for o in during if o.status != 503 or o.retry_after is None]
            if not during:
                findings.append(f"no request was answered during the outage at {down:.1f}")
            if wrong:
                kinds = Counter((o.status, o.code, o.error) for o in wrong)
                findings.append(f"not 503 + Retry-After while down: {dict(kinds)}")
            if slow:
                worst = max(o.seconds for o in slow)
                findings.append(
                    f"{len(slow)} of {len(during)} answers took over {ANSWER_WITHIN}s while "
                    f"down (worst {worst:.2f}s)"
                )
            back = [o for o in outcomes if o.started >= up and ok(o)]
            first_ok = min((o.ended for o in back), default=float("inf")) - up
            # begun RECOVER_WITHIN after the return, answered before the next stop began
            late = [
                o
                for o in outcomes
                if o.started >= up + RECOVER_WITHIN and o.ended <= until and not ok(o)
            ]
            if first_ok > RECOVER_WITHIN:
                findings.append(f"first 2xx {first_ok:.2f}s after the store returned")
            if late:
                kinds = Counter((o.status, o.code, o.error) for o in late)
                findings.append(f"still failing {RECOVER_WITHIN}s after return: {dict(kinds)}")
            figures.append(
                {
                    "outage_s": round(up - down, 1),
                    "answered_while_down": len(during),
                    "p99_503_s": round(
                        sorted(o.seconds for o in during)[int(0.99 * (len(during) - 1))], 3
                    )
                    if during
                    else 0.0,
                    "max_503_s": round(max((o.seconds for o in during), default=0.0), 3),
                    "first_2xx_after_s": round(first_ok, 2),
                }
            )
        server_errors = Counter(
            (o.status, o.code) for o in outcomes if o.status is not None and o.status >= 500
        )
        server_errors.pop((503, "store_unavailable"), None)
        if server_errors:
            findings.append(f"5xx other than 503 store_unavailable: {dict(server_errors)}")

        lost = missing_acks(store.url, list(load.acked))
        assert lost == [], f"acknowledged but not stored ({len(lost)}): {lost[:10]}"
        with ReadSideProbe(store.url) as probe:
            catch_up = probe.wait_caught_up(timeout=60)
            assert probe.audit_matches_log() == []
            assert probe.rebuild_differences() == {}

    report(
        "postgres_immediate_stop",
        outages=figures,
        acked_events=len(load.acked),
        requests=len(outcomes),
        statuses={str(k): v for k, v in Counter(o.status for o in outcomes).items()},
        catch_up_s=round(catch_up, 2),
        lost=0,
        findings=findings,
        seconds=round(time.monotonic() - started, 1),
    )
    assert findings == []
