"""The runner: batches and tracking in one transaction, refusals, crashes, leases."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.application.service import Ledger
from projections.catalog import Projection
from projections.errors import LeaseNotHeld, PositionNotAdvanced
from projections.rebuild import checksum
from projections.runner import Worker
from projections.service import ReadSide
from projections.views import ALL, audit
from tests.projections.checks import audited, faulty, logged, runner, tracked
from tests.projections.scenario import tell
from tests.support import World

ROOT = Path(__file__).resolve().parents[2]


class Crash(Exception):
    """An injected failure."""


@pytest.mark.parametrize("projection", ALL, ids=lambda p: p.name)
def test_a_repeated_batch_is_refused_and_changes_no_row(
    world: World, read_side: ReadSide, projection: Projection
) -> None:
    """Applying a batch again, from its old position or from the current one, is refused
    and leaves every row as it was."""
    tell(world)
    r = runner(read_side.db, read_side.source, projection, batch_size=7)
    r.run_until_caught_up()
    before, position = checksum(read_side.db, projection), r.position()
    first = list(read_side.source.read(0, 7))
    with pytest.raises(PositionNotAdvanced):
        r.apply_batch(first, after=0)
    with pytest.raises(PositionNotAdvanced):
        r.apply_batch(first, after=position)
    last = list(read_side.source.read(position - 3, 7))
    with pytest.raises(PositionNotAdvanced):
        r.apply_batch(last, after=position)
    r.close()
    assert checksum(read_side.db, projection) == before
    assert tracked(read_side.db, projection) == position


def test_a_crash_inside_a_batch_rolls_the_batch_back_and_a_restart_resumes(
    world: World, read_side: ReadSide, ledger: Ledger
) -> None:
    """Rows and tracking of the failing batch are both absent; the restart applies each
    event exactly once."""
    tell(world)
    positions = logged(ledger)
    poison = positions[24]  # inside the third batch of 10
    broken = runner(
        read_side.db, read_side.source, faulty(audit.PROJECTION, poison, Crash), batch_size=10
    )
    with pytest.raises(Crash):
        broken.run_until_caught_up()
    broken.close()
    done = tracked(read_side.db)
    assert done < poison
    assert audited(read_side.db) == [p for p in positions if p <= done]
    healed = runner(read_side.db, read_side.source, batch_size=10)
    healed.run_until_caught_up()
    healed.close()
    assert audited(read_side.db) == positions


def test_a_crash_between_batches_resumes_from_the_tracking_row(
    world: World, read_side: ReadSide, ledger: Ledger
) -> None:
    """A runner that stops after two batches without a word is replaced, once its lease
    is free, by one that goes on from the third."""
    tell(world)
    first = runner(read_side.db, read_side.source, batch_size=10, lease_ttl=0.3)
    assert first.start()
    first.step()
    first.step()
    first.close(release=False)  # dies holding the lease
    second = runner(read_side.db, read_side.source, batch_size=10, lease_ttl=0.3)
    deadline = time.monotonic() + 5
    while not second.start():
        assert time.monotonic() < deadline, "the dead runner's lease never expired"
        time.sleep(0.05)
    assert second.position() == logged(ledger)[19]
    second.run_until_caught_up()
    second.close()
    assert audited(read_side.db) == logged(ledger)


CRASHING_RUNNER = """
import os, sys
from ledger.application.service import Ledger
from ledger.settings import Settings
from projections.catalog import Projection
from projections.db import Database
from projections.runner import Runner
from projections.source import open_source
from projections.views.audit import PROJECTION as P

url, poison = sys.argv[1], int(sys.argv[2])
app = Ledger(Settings(database_url=url))
db = Database.from_settings(app.settings)

def apply(tx, batch):
    for item in batch:
        P.apply(tx, [item])
        if item.position == poison:
            os._exit(3)  # killed mid-transaction: no rollback, no lease release

runner = Runner(db, open_source(app, db), Projection(P.name, P.tables, apply),
                batch_size=10, lease_ttl=0.3)
runner.run_until_caught_up()
"""


def test_a_process_killed_inside_a_batch_leaves_no_trace_of_that_batch(
    world: World, read_side: ReadSide, ledger: Ledger, database_url: str
) -> None:
    """A runner process that dies mid-transaction loses only its open batch, which the
    next runner applies once."""
    tell(world)
    positions = logged(ledger)
    poison = positions[34]
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    done = subprocess.run(  # noqa: S603 - runs this interpreter on a script of this test
        [sys.executable, "-c", CRASHING_RUNNER, database_url, str(poison)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr.decode()[-2000:]
    reached = tracked(read_side.db)
    assert reached == positions[29]
    assert audited(read_side.db) == positions[:30]
    successor = runner(read_side.db, read_side.source, batch_size=10, lease_ttl=0.3)
    deadline = time.monotonic() + 5
    while not successor.start():
        assert time.monotonic() < deadline, "the killed runner's lease never expired"
        time.sleep(0.05)
    successor.run_until_caught_up()
    successor.close()
    assert audited(read_side.db) == positions


def test_only_the_lease_holder_applies_and_another_takes_over_when_it_stops(
    world: World, read_side: ReadSide, ledger: Ledger
) -> None:
    """A second runner cannot apply while the first holds the lease; it can once the first
    has stopped, and goes on where the first left off."""
    first = runner(read_side.db, read_side.source, batch_size=5)
    second = runner(read_side.db, read_side.source, batch_size=5)
    assert first.start()
    assert not second.start()
    with pytest.raises(LeaseNotHeld):
        second.step()
    with pytest.raises(LeaseNotHeld):
        second.run_until_caught_up()
    first.run_until_caught_up()
    tell(world)
    first.close()
    assert second.start()
    second.run_until_caught_up()
    second.close()
    assert audited(read_side.db) == logged(ledger)


def test_a_runner_that_lost_its_lease_cannot_commit_a_batch(
    world: World, read_side: ReadSide, ledger: Ledger
) -> None:
    """Fencing: the stalled first runner's batch is refused once a second has taken over
    (SQLite: the expiry passed; PostgreSQL: its session, and so its lock, ended)."""
    stalled = runner(read_side.db, read_side.source, batch_size=5, lease_ttl=0.2)
    assert stalled.start()
    if read_side.db.dialect == "postgres":
        stalled._open()[0].conn.close()  # its session dies: the server frees the lock
    time.sleep(0.3)
    taker = runner(read_side.db, read_side.source, batch_size=5, lease_ttl=5)
    assert taker.start()
    tell(world)
    with pytest.raises(Exception):  # noqa: B017, PT011 - LeaseNotHeld or a closed connection
        stalled.step()
    assert audited(read_side.db) == []
    taker.run_until_caught_up()
    taker.close()
    stalled.close(release=False)
    assert audited(read_side.db) == logged(ledger)


def test_two_background_workers_on_one_projection_apply_each_event_once(
    world: World, read_side: ReadSide, ledger: Ledger
) -> None:
    """Two workers race for the same projections while commands flow; the views end with
    every event once, and rebuilds equal them."""
    workers = [Worker(read_side.runners(), read_side.source, idle_wait=0.05) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        tell(world)
        reached = read_side.wait_for(logged(ledger)[-1], timeout=20)
        assert reached >= logged(ledger)[-1]
    finally:
        for w in workers:
            w.stop()
    assert audited(read_side.db) == logged(ledger)


def test_the_embedded_worker_follows_commands_and_serves_read_your_writes(
    world: World, read_side: ReadSide, ledger: Ledger
) -> None:
    """Started in-process, the worker catches up with each command; a query waiting for a
    command's position sees it."""
    read_side.start()
    result = world.launch()
    read_side.nudge()
    assert read_side.wait_for(result.position, timeout=10) >= result.position
    assert result.position in audited(read_side.db)
    statuses = {s.name: s for s in read_side.status()}
    assert statuses["audit"].lag == 0
    assert statuses["audit"].leased
    read_side.stop()
    assert not any(s.leased for s in read_side.status())


def test_a_wait_for_an_unreached_position_times_out_with_the_position_reached(
    world: World, read_side: ReadSide
) -> None:
    """Without a runner the wait gives up after its timeout and says how far the views are."""
    started = time.monotonic()
    assert read_side.wait_for(10_000, timeout=0.2) == 0
    assert 0.2 <= time.monotonic() - started < 5


def test_a_worker_whose_store_is_closed_under_it_ends_instead_of_retrying(
    world: World, read_side: ReadSide
) -> None:
    """The ledger closed before its read side was stopped: the worker's thread ends (a
    closed pool never reopens) rather than retrying until the process ends. On PostgreSQL
    the library's closed pool fails as an outage does (OperationalError), which the worker
    rides out by design: this is the SQLite store's case."""
    if read_side.db.target.dialect == "postgres":
        pytest.skip("on PostgreSQL a closed pool cannot be told from an outage")
    worker = read_side.start()
    assert worker.alive
    world.ledger.recorder.datastore.pool.close()  # type: ignore[attr-defined]  # the ledger's SQLite pool, not in its types
    read_side.nudge()
    deadline = time.monotonic() + 10
    while worker.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not worker.alive
