"""Rebuild a projection from the log without stopping anything: build beside, then switch.

1. Under the projection's rebuild lease, drop what an earlier rebuild left (every
   generation but the active one) and create empty tables for generation ``g + 1``.
2. A runner pinned to ``g + 1`` applies the whole log, in large batches, while the live
   runner keeps generation ``g`` current and queries keep reading ``g``. The tables of
   ``g + 1`` are created without their secondary indexes: a bulk load that maintains seven
   indexes row by row costs more than building them once at the end. When the runner has
   reached the head, the indexes are created (one transaction; nothing reads ``g + 1`` yet
   and only this runner writes it), then the runner catches up with what came meanwhile.
   A rebuild that stops before that leaves a generation that is never switched to, and the
   next rebuild drops it.
3. Switch: one transaction locks the pointer row (``FOR UPDATE`` on PostgreSQL; the write
   lock on SQLite), so no live batch is half-way; if ``g + 1`` has reached the position
   of ``g`` the pointer moves to ``g + 1``, otherwise the new generation catches up and
   the switch is tried again. From the next batch on, the live runner follows ``g + 1``
   from its own tracking row; queries read ``g + 1`` from their next transaction.
4. Generation ``g`` stays, frozen, until the next rebuild drops it: a query that had
   already resolved its table names never finds them gone.

:func:`checksum` hashes a generation's rows in key order, so "rebuild equals live" is a
comparison of two hex strings.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass

from projections import catalog
from projections.catalog import Projection
from projections.codec import dumps
from projections.db import Database
from projections.errors import RebuildInProgress
from projections.lease import lease_for
from projections.runner import Runner
from projections.source import EventSource


@dataclass(frozen=True)
class RebuildResult:
    projection: str
    previous: int
    generation: int
    position: int
    events: int
    seconds: float


def rebuild(
    db: Database,
    source: EventSource,
    projection: Projection,
    *,
    batch_size: int = 5000,
    max_rounds: int = 50,
) -> RebuildResult:
    started = time.perf_counter()
    schema = db.target.schema
    session = db.session()
    try:
        catalog.install(session, projection, schema)
        owner = f"rebuild-{uuid.uuid4().hex[:12]}"
        lease = lease_for(session, f"{projection.name}#rebuild", owner, schema=schema, ttl=60)
        if not lease.acquire():
            raise RebuildInProgress("a rebuild is already running", projection=projection.name)
        try:
            generation = catalog.new_generation(session, projection, schema, indexes=False)
            runner = Runner(db, source, projection, generation=generation, batch_size=batch_size)
            try:
                events = 0
                if not runner.start():
                    raise RebuildInProgress("the new generation is busy", generation=generation)
                for round_ in range(max_rounds):
                    while applied := runner.step():
                        events += applied
                        lease.renew()
                    if round_ == 0:
                        _index(db, projection, generation)
                        lease.renew()
                        continue
                    switched = _switch(db, projection, generation)
                    if switched is not None:
                        previous, position = switched
                        return RebuildResult(
                            projection.name,
                            previous,
                            generation,
                            position,
                            events,
                            round(time.perf_counter() - started, 3),
                        )
            finally:
                runner.close()
            raise RebuildInProgress(
                "the new generation could not catch up with the live one",
                projection=projection.name,
                rounds=max_rounds,
            )
        finally:
            lease.release()
    finally:
        session.close()


def _index(db: Database, projection: Projection, generation: int) -> None:
    """Create the secondary indexes of ``generation``, before any query can read it."""
    with db.transaction(write=True) as tx:
        catalog.create_indexes(tx, projection, generation)


def _switch(db: Database, projection: Projection, generation: int) -> tuple[int, int] | None:
    """Point queries at ``generation`` if it is at least as far as the active one:
    (previous generation, position), or None to catch up first."""
    with db.transaction(write=True) as tx:
        row = tx.one(
            "SELECT active FROM projection_generations WHERE projection = ?" + tx.for_update,  # noqa: S608 - table slots and clauses are constants of this package; values are bound
            (projection.name,),
        )
        assert row is not None
        previous = int(row["active"])
        live = catalog.tracked(tx, projection.name, previous) or 0
        built = catalog.tracked(tx, projection.name, generation) or 0
        if built < live:
            return None
        tx.execute(
            "UPDATE projection_generations SET active = ?, building = NULL WHERE projection = ?",
            (generation, projection.name),
        )
        return previous, built


def checksum(db: Database, projection: Projection, generation: int | None = None) -> str:
    """SHA-256 over every row of every table of a generation (the active one by default),
    each table in its key order: equal checksums mean equal content."""
    if generation is None:
        with db.transaction() as tx:
            _, generation, _ = catalog.readable(tx, projection)
    digest = hashlib.sha256()
    names = projection.names(generation)
    for table in projection.tables:
        digest.update(f"\x1e{table.slot}\n".encode())
        text = "SELECT * FROM {" + table.slot + "} ORDER BY " + table.key  # noqa: S608 - table slots and clauses are constants of this package; values are bound
        for row in db.stream(text, (), names=names):
            digest.update(dumps(row).encode())
            digest.update(b"\n")
    return digest.hexdigest()


def drop_generation(db: Database, projection: Projection, generation: int) -> None:
    """Drop a generation that is not active (a rebuild also drops leftovers itself)."""
    with db.transaction(write=True) as tx:
        active = catalog.active_generation(tx, projection.name, lock=True)
        if active == generation:
            raise RebuildInProgress(
                "the active generation cannot be dropped",
                projection=projection.name,
                generation=generation,
            )
        catalog.drop_tables(tx, projection, generation)
