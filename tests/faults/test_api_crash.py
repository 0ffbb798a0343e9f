"""``kill -9`` of the API (the uvicorn supervisor and both workers) at a random moment under
load, then a restart: every command that was acknowledged is in the store, at the position
it was acknowledged with, and the projections (run inside the API) catch up to equal a
rebuild from the log, with each position exactly once in the audit trail.

Quick: one crash after 1-2.5 s of load. Full (LEDGER_FAULTS_FULL=1): five crashes, 2-8 s apart.
"""

from __future__ import annotations

import random
import time

import pytest

from tests.faults.conftest import Store
from tests.faults.harness import (
    FULL,
    ApiServer,
    Load,
    ReadSideProbe,
    api_events,
    missing_acks,
    report,
    running,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900 if FULL else 120)]

CRASHES = 5 if FULL else 1
LOAD_BETWEEN = (2.0, 8.0) if FULL else (1.0, 2.5)


def test_kill9_of_the_api_under_load_loses_nothing_acknowledged(store: Store) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    started = time.monotonic()
    server = ApiServer.make("api", store.url, store.workdir, workers=2)
    load = Load(lambda _i: server.base_url, store.demo, clients=4, seed=seed)
    restarts: list[float] = []
    with running(server):
        server.start()
        with load:
            for _ in range(CRASHES):
                time.sleep(rng.uniform(*LOAD_BETWEEN))
                server.kill9()
                down = time.monotonic()
                server.start()
                restarts.append(round(time.monotonic() - down, 2))
            time.sleep(1.0)  # served again after the last restart
        load.stop()

        statuses = load.statuses()
        acked = list(load.acked)
        assert acked, f"no command was acknowledged: {statuses}"
        after_restart = [o for o in load.snapshot() if o.started > down + restarts[-1]]
        assert any(o.status in (200, 201) for o in after_restart), "nothing served after restart"
        assert not [s for s in statuses if s is not None and s >= 500], (
            f"server errors under load: {statuses}"
        )

        lost = missing_acks(store.url, acked)
        assert lost == [], f"acknowledged but not stored ({len(lost)}): {lost[:10]}"

        # the same, through the restarted API, for a sample of aggregates
        token = store.demo.key("auditor_a")
        ids = sorted({a.aggregate_id for a in acked})  # fewer than the acks on a slow machine
        sample = rng.sample(ids, k=min(15, len(ids)))
        for aggregate_id in sample:
            history = api_events(server.base_url, token, aggregate_id)
            for a in (a for a in acked if a.aggregate_id == aggregate_id):
                assert history.get(a.version, (None, None))[1] == a.position, a

        with ReadSideProbe(store.url) as probe:
            catch_up = probe.wait_caught_up(timeout=60 if FULL else 20)
            assert probe.audit_matches_log() == []
            assert probe.rebuild_differences() == {}

    report(
        "api_kill9",
        seed=seed,
        crashes=CRASHES,
        acked_events=len(acked),
        requests=sum(statuses.values()),
        statuses={str(k): v for k, v in statuses.items()},
        restart_s=restarts,
        catch_up_s=round(catch_up, 2),
        lost=0,
        seconds=round(time.monotonic() - started, 1),
    )
