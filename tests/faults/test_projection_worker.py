"""The projection worker (``ledger projections run``, the API on LEDGER_PROJECTIONS=external)
killed with ``kill -9`` in the middle of a batch, then restarted, again and again under
load: after every kill the audit trail holds exactly the logged positions up to its tracked
position (nothing half-applied), and at the end each logged position is in the audit trail
exactly once, and every projection equals a rebuild from the log.

"Mid-batch" is observed, not hoped for: the worker's connections carry an application name,
and the kill is sent once ``pg_stat_activity`` shows one of them inside a transaction that
has written (INSERT/UPDATE/DELETE), i.e. between a batch's first write and its commit.

Quick: 3 kills. Full (LEDGER_FAULTS_FULL=1): 15 kills.
"""

from __future__ import annotations

import random
import time

import psycopg
import pytest

from tests.faults.conftest import Store
from tests.faults.harness import (
    FULL,
    ApiServer,
    Load,
    ReadSideProbe,
    base_url,
    projection_worker,
    report,
    running,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900 if FULL else 120)]

KILLS = 15 if FULL else 3
BACKLOG_S = 4.0 if FULL else 2.0
WORKER = "fault-projector"
MID_BATCH = """
SELECT pid, state, left(query, 60) AS query FROM pg_stat_activity
WHERE application_name = %s AND xact_start IS NOT NULL
  AND state IN ('active', 'idle in transaction')
  AND (query ILIKE 'INSERT%%' OR query ILIKE 'UPDATE%%' OR query ILIKE 'DELETE%%')
"""


def wait_mid_batch(conn: psycopg.Connection, timeout: float) -> tuple[str, str] | None:
    """Poll until a worker connection is inside a writing transaction: (state, query)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(MID_BATCH, (WORKER,)).fetchone()
        if row is not None:
            return str(row[1]), str(row[2])
        time.sleep(0.002)
    return None


def test_projection_worker_killed_mid_batch_skips_and_repeats_nothing(store: Store) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    started = time.monotonic()
    server = ApiServer.make(
        "api", store.url, store.workdir, workers=1, LEDGER_PROJECTIONS="external"
    )
    worker = projection_worker(WORKER, store.url, store.workdir)
    load = Load(lambda _i: server.base_url, store.demo, clients=4, seed=seed)
    kills: list[dict[str, object]] = []
    with running(server, worker), psycopg.connect(base_url(store.url), autocommit=True) as pg:
        server.start()
        with load, ReadSideProbe(store.url) as probe:
            time.sleep(BACKLOG_S)  # a backlog for the worker to chew on
            for _ in range(KILLS):
                worker.start()
                time.sleep(rng.uniform(0.0, 0.5))
                seen = wait_mid_batch(pg, timeout=20)
                worker.check_alive()
                worker.kill9()
                positions = probe.positions()
                inconsistent = probe.audit_consistent_with_tracking()
                assert inconsistent == [], f"after a kill: {inconsistent}"
                kills.append({"mid_batch": seen is not None, "seen": seen, **positions})
                time.sleep(rng.uniform(0.2, 1.0))  # more backlog while it is down
            worker.start()
            time.sleep(1.0)
            load.stop()
            catch_up = probe.wait_caught_up(timeout=90 if FULL else 40)
            worker.check_alive()
            assert probe.audit_matches_log() == []
            assert probe.rebuild_differences() == {}

    mid = sum(1 for k in kills if k["mid_batch"])
    report(
        "projection_worker_kill9",
        seed=seed,
        kills=len(kills),
        kills_mid_batch=mid,
        acked_events=len(load.acked),
        catch_up_s=round(catch_up, 2),
        skipped=0,
        duplicated=0,
        seconds=round(time.monotonic() - started, 1),
    )
    assert mid >= max(1, KILLS * 2 // 3), f"too few kills landed mid-batch: {kills}"
