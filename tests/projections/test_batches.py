"""Batches fold their events in memory and write set-wise: the rows must not depend on it.

A view applied one event per transaction and the same view applied thousands of events per
transaction must leave byte-for-byte the same tables; the set-wise statements of
``projections.db`` must read and write the same rows on SQLite and PostgreSQL, through
every path (a few rows, many rows, chunked lists).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.application.service import Ledger
from projections import catalog
from projections.catalog import Projection, Table
from projections.db import COPY_FROM, SQLITE_CHUNK, Tx
from projections.rebuild import checksum, rebuild
from projections.rows import Keyed
from projections.runner import Runner, catch_up
from projections.service import ReadSide
from projections.views import ALL
from tests.projections.checks import audited, logged
from tests.projections.workload import mixed
from tests.support import World

THINGS = Table(
    "things",
    "kind TEXT NOT NULL, n BIGINT NOT NULL, label TEXT, PRIMARY KEY (kind, n)",
    key="kind, n",
)
SCRATCH = Projection("scratch", (THINGS,), lambda tx, batch: None)


def test_one_event_per_batch_and_one_big_batch_build_the_same_views(
    world: World, read_side: ReadSide, ledger: Ledger
) -> None:
    """Every view rebuilt one event per transaction equals the live view built in batches
    of thousands, and the trail holds each position once."""
    mixed(world, 400, seed=5)
    runners = [Runner(read_side.db, read_side.source, p, batch_size=5000) for p in ALL]
    try:
        applied = catch_up(runners)
    finally:
        for r in runners:
            r.close()
    head = logged(ledger)
    assert applied >= len(ALL) * len(head)
    assert audited(read_side.db) == head
    for projection in ALL:
        big = checksum(read_side.db, projection)
        result = rebuild(read_side.db, read_side.source, projection, batch_size=1)
        assert result.events >= len(head)
        assert checksum(read_side.db, projection) == big, projection.name


def test_catch_up_reads_each_batch_once_for_every_view(
    world: World, read_side: ReadSide, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Side by side, the views share the decoded batch: one log read per batch, not one
    per view."""
    mixed(world, 60, seed=2)
    reads: list[tuple[int, int]] = []
    recorder = ledger.recorder
    original = recorder.select_notifications

    def counting(start: int, limit: int, *args: object, **kw: object) -> object:
        reads.append((start, limit))
        return original(start, limit, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(recorder, "select_notifications", counting)
    runners = [Runner(read_side.db, read_side.source, p, batch_size=10) for p in ALL]
    try:
        catch_up(runners)
    finally:
        for r in runners:
            r.close()
    stored = int(recorder.max_notification_id() or 0)
    assert stored > 30
    # Full batches are read once; the last, partial one and the final empty read, by each.
    assert len(reads) <= stored // 10 + 2 * len(ALL) < len(ALL) * (stored // 10)
    assert audited(read_side.db) == logged(ledger)


@pytest.fixture
def tx(read_side: ReadSide) -> Iterator[Tx]:
    session = read_side.db.session()
    try:
        catalog.install(session, SCRATCH, read_side.db.target.schema)
        with session.transaction(write=True) as t:
            yield t.with_names(SCRATCH.names(1))
    finally:
        session.close()


def _all(tx: Tx) -> list[tuple[str, int, str | None]]:
    rows = tx.all("SELECT kind, n, label FROM {things} ORDER BY kind, n")
    return [(r["kind"], int(r["n"]), r["label"]) for r in rows]


@pytest.mark.parametrize("count", [1, COPY_FROM - 1, COPY_FROM, SQLITE_CHUNK + 3])
def test_set_wise_statements_read_and_write_the_same_rows(tx: Tx, count: int) -> None:
    """Insert (INSERT or COPY), select by a list, upsert, delete by a list: on both
    databases, with NULLs, quotes and tabs in text, and more values than one SQLite list."""
    types = THINGS.types
    assert list(types) == ["kind", "n", "label"]
    rows = [
        ["a" if i % 2 else "b", i, None if i % 3 == 0 else f"it's\t{i}\\"] for i in range(count)
    ]
    tx.insert_rows("things", types, rows)
    assert _all(tx) == sorted((k, n, label) for k, n, label in rows)
    assert len(tx.select_in("things", "n", list(range(count)))) == count
    assert {r["kind"] for r in tx.select_in("things", "kind", ["a", "zz"])} <= {"a"}
    changed = [[k, n, "changed"] for k, n, _ in rows] + [["c", 10**12, None]]
    tx.upsert_rows("things", types, ("kind", "n"), changed)
    assert _all(tx) == sorted((k, n, label) for k, n, label in changed)
    tx.delete_in("things", "kind", ["b", "c"])
    assert _all(tx) == sorted((k, n, "changed") for k, n, _ in rows if k == "a")


def test_keyed_rows_write_only_what_changed_and_refuse_a_taken_key(tx: Tx) -> None:
    """Loaded rows changed in memory are upserted, new rows inserted, a deleted group
    replaced; a second ``add`` of a key in the batch is refused."""
    tx.insert_rows("things", THINGS.types, [["a", 1, "x"], ["a", 2, "y"], ["b", 1, "z"]])
    things = Keyed(THINGS, ("kind", "n"))
    things.load(tx, ["a", "b"])
    row = things.get(tx, "a", 1)
    assert row is not None
    row["label"] = "x2"
    things.add(kind="a", n=3, label="new")
    with pytest.raises(KeyError):
        things.add(kind="a", n=3, label="again")
    things.delete_all(tx, "b")
    things.add(kind="b", n=7, label="back")
    assert things.get(tx, "b", 1) is None
    assert things.get(tx, "c", 1) is None  # not loaded: read on the spot, and absent
    things.flush(tx)
    assert _all(tx) == [("a", 1, "x2"), ("a", 2, "y"), ("a", 3, "new"), ("b", 7, "back")]
