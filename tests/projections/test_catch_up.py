"""Catching up fast changes how batches are sized and indexes built, never which rows result.

A runner takes big batches only while it is behind; views caught up in bulk batches equal
views built one event per transaction; a rebuild adds its indexes before anything can read
the new tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import projections.rebuild as rebuilding
from ledger.application.service import Ledger
from projections.catalog import Projection
from projections.db import Database
from projections.rebuild import checksum, rebuild
from projections.runner import Runner, catch_up
from projections.service import ReadSide
from projections.source import EventSource, Positioned
from projections.views import ALL, audit
from tests.projections.checks import audited, logged
from tests.projections.workload import mixed
from tests.support import World


class Counting:
    """A source that records every read it serves."""

    def __init__(self, source: EventSource) -> None:
        self.source = source
        self.reads: list[tuple[int, int]] = []

    def read(self, after: int, limit: int) -> Sequence[Positioned]:
        self.reads.append((after, limit))
        return self.source.read(after, limit)

    def head(self) -> int:
        return self.source.head()

    def wait(self, timeout: float) -> None:
        self.source.wait(timeout)

    def nudge(self) -> None:
        self.source.nudge()

    def close(self) -> None:
        self.source.close()


def test_a_runner_reads_big_batches_only_while_it_is_behind(
    world: World, read_side: ReadSide
) -> None:
    """From position 0 the first batch is small; once one came back full the runner asks
    for bulk batches, and back at the head it asks for small ones again."""
    mixed(world, 60, seed=8)
    counting = Counting(read_side.source)
    runner = Runner(read_side.db, counting, audit.PROJECTION, batch_size=5, bulk_size=50)
    try:
        runner.run_until_caught_up()
        limits = [limit for _, limit in counting.reads]
        mixed(world, 1, seed=9)
        runner.step()
    finally:
        runner.close()
    assert limits[0] == 5
    assert 50 in limits
    assert limits[-1] == 5
    assert counting.reads[-1][1] == 5
    assert audited(read_side.db) == logged(world.ledger)


def test_views_caught_up_in_bulk_batches_equal_views_built_event_by_event(
    world: World, read_side: ReadSide, ledger: Ledger
) -> None:
    """Runners that start with small batches and go on in bulk ones end with the checksum
    of a rebuild one event per transaction, and the trail holds every position once."""
    mixed(world, 200, seed=10)
    runners = [Runner(read_side.db, read_side.source, p, batch_size=5, bulk_size=64) for p in ALL]
    try:
        applied = catch_up(runners)
    finally:
        for r in runners:
            r.close()
    stored = ledger.recorder.select_notifications(0, 100_000, inclusive_of_start=False)
    assert applied == len(ALL) * len(stored)
    assert audited(read_side.db) == logged(ledger)
    for projection in ALL:
        built = checksum(read_side.db, projection)
        rebuild(read_side.db, read_side.source, projection, batch_size=1)
        assert checksum(read_side.db, projection) == built, projection.name


def indexes(db: Database, table: str) -> set[str]:
    with db.transaction() as tx:
        if db.dialect == "postgres":
            rows = tx.all(
                "SELECT indexname AS name FROM pg_indexes WHERE tablename = ? "
                "AND schemaname = current_schema()",
                (table,),
            )
        else:
            rows = tx.all(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL",
                (table,),
            )
    names = {str(r["name"]).removeprefix(table + "_") for r in rows}
    return names - {"pkey"}


def test_a_rebuilt_generation_has_every_index_of_the_live_one_before_the_switch(
    world: World, read_side: ReadSide, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new tables are bulk-loaded without secondary indexes, which are all there when
    queries start reading them; the rows equal the live ones."""
    mixed(world, 60, seed=11)
    read_side.run_until_caught_up()
    live = checksum(read_side.db, audit.PROJECTION)
    seen: list[set[str]] = []
    switch = rebuilding._switch

    def checking(db: Database, projection: Projection, generation: int) -> object:
        seen.append(indexes(db, f"audit_g{generation}"))
        return switch(db, projection, generation)

    monkeypatch.setattr(rebuilding, "_switch", checking)
    loaded: list[set[str]] = []
    index = rebuilding._index

    def before_index(db: Database, projection: Projection, generation: int) -> None:
        loaded.append(indexes(db, f"audit_g{generation}"))
        index(db, projection, generation)

    monkeypatch.setattr(rebuilding, "_index", before_index)
    result = rebuild(read_side.db, read_side.source, audit.PROJECTION, batch_size=25)
    expected = indexes(read_side.db, f"audit_g{result.previous}")
    assert len(expected) == len(audit.AUDIT.indexes)
    assert loaded == [set()]
    assert seen
    assert all(s == expected for s in seen)
    assert checksum(read_side.db, audit.PROJECTION) == live
