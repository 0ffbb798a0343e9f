"""What a projection is, where its tables live, and the bookkeeping tables beside them.

A projection owns a few tables; each is created once per *generation* under the physical
name ``<slot>_g<generation>`` (``audit_g1``, ``audit_g2``...). Three shared tables hold the
bookkeeping:

``projection_generations``  projection -> the active generation (queries read it) and the
                            one being rebuilt, if any
``projection_tracking``     (projection, generation) -> the last position applied; updated
                            in the same transaction as the rows, only forwards
``projection_leases``       projection -> owner and expiry (SQLite; PostgreSQL uses
                            advisory locks instead)
``projection_failures``     (projection, generation, position) -> an event the view did
                            not apply, and why (``projections.failures``)
``projection_shapes``       (projection, generation) -> the shape of its tables (a digest
                            of their columns) when they were created

A release that changes a view's columns changes its shape: the tables of the active
generation no longer have the shape the code reads and writes. Queries of that view then
answer ProjectionNotReady (503) instead of failing on a missing column, and the live runner
rebuilds the view into a new generation before it applies anything (ADR 0014).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from projections.codec import ts
from projections.db import Session, Tx
from projections.errors import PositionNotAdvanced, ProjectionNotReady
from projections.source import Positioned

META = (
    "CREATE TABLE IF NOT EXISTS projection_generations ("
    "projection TEXT PRIMARY KEY, active BIGINT NOT NULL, building BIGINT)",
    "CREATE TABLE IF NOT EXISTS projection_tracking ("
    "projection TEXT NOT NULL, generation BIGINT NOT NULL, position BIGINT NOT NULL, "
    "updated_at TEXT NOT NULL, PRIMARY KEY (projection, generation))",
    "CREATE TABLE IF NOT EXISTS projection_leases ("
    "projection TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS projection_failures ("
    "projection TEXT NOT NULL, generation BIGINT NOT NULL, position BIGINT NOT NULL, "
    "aggregate_id TEXT NOT NULL, topic TEXT NOT NULL, error TEXT NOT NULL, "
    "message TEXT NOT NULL, recorded_at TEXT NOT NULL, "
    "PRIMARY KEY (projection, generation, position))",
    "CREATE TABLE IF NOT EXISTS projection_shapes ("
    "projection TEXT NOT NULL, generation BIGINT NOT NULL, shape TEXT NOT NULL, "
    "PRIMARY KEY (projection, generation))",
)

Apply = Callable[[Tx, Sequence[Positioned]], None]
COLUMN = re.compile(r"(?:^|, )([a-z_]+) (TEXT|BIGINT)\b")


@dataclass(frozen=True)
class Table:
    """One table of a projection: ``columns`` is the DDL body, ``key`` the ORDER BY that
    lists its rows in a stable order (for checksums)."""

    slot: str
    columns: str
    key: str
    indexes: tuple[tuple[str, str], ...] = ()

    @property
    def types(self) -> dict[str, str]:
        """Column name -> SQL type, in table order (for set-wise writes)."""
        return {name: kind.lower() for name, kind in COLUMN.findall(self.columns)}


@dataclass(frozen=True)
class Projection:
    """A name, its tables, and the function that applies a batch of events to them."""

    name: str
    tables: tuple[Table, ...]
    apply: Apply

    def names(self, generation: int) -> dict[str, str]:
        return {t.slot: f"{t.slot}_g{generation}" for t in self.tables}

    @property
    def shape(self) -> str:
        """A digest of the tables' slots and columns: changes when a release changes them."""
        text = "\n".join(f"{t.slot}({t.columns})" for t in self.tables)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock``, from text."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def now_text() -> str:
    return ts(datetime.now(UTC))


def _ddl_lock(tx: Tx, schema: str) -> None:
    """Concurrent ``CREATE TABLE IF NOT EXISTS`` can collide on PostgreSQL's catalog."""
    if tx.dialect == "postgres":
        tx.execute("SELECT pg_advisory_xact_lock(?)", (lock_key(schema, "ddl"),))


def create_tables(tx: Tx, projection: Projection, generation: int, *, indexes: bool = True) -> None:
    """The generation's tables, with their secondary indexes unless ``indexes`` is False (a
    rebuild adds them with :func:`create_indexes` once the bulk of the log is in)."""
    names = projection.names(generation)
    for table in projection.tables:
        physical = names[table.slot]
        tx.execute("CREATE TABLE IF NOT EXISTS " + physical + " (" + table.columns + ")")
    _record_shape(tx, projection, generation, projection.shape)
    if indexes:
        create_indexes(tx, projection, generation)
    tx.execute(
        "INSERT INTO projection_tracking (projection, generation, position, updated_at) "
        "VALUES (?, ?, 0, ?) ON CONFLICT (projection, generation) DO NOTHING",
        (projection.name, generation, now_text()),
    )


def _record_shape(tx: Tx, projection: Projection, generation: int, shape: str) -> None:
    tx.execute(
        "INSERT INTO projection_shapes (projection, generation, shape) VALUES (?, ?, ?) "
        "ON CONFLICT (projection, generation) DO NOTHING",
        (projection.name, generation, shape),
    )


def shape_of(tx: Tx, name: str, generation: int) -> str | None:
    """The shape a generation's tables were created with (None: not recorded)."""
    value = tx.scalar(
        "SELECT shape FROM projection_shapes WHERE projection = ? AND generation = ?",
        (name, generation),
    )
    return None if value is None else str(value)


def in_shape(tx: Tx, projection: Projection, generation: int) -> bool:
    """True when ``generation``'s tables have the shape this release reads and writes."""
    return shape_of(tx, projection.name, generation) == projection.shape


def _record_found_shape(tx: Tx, projection: Projection, generation: int) -> None:
    """For tables created before shapes were recorded: record the code's shape when their
    columns are exactly the declared ones, and an ``unknown`` shape (rebuilt) otherwise."""
    if shape_of(tx, projection.name, generation) is not None:
        return
    names = projection.names(generation)
    matches = all(tx.columns(names[t.slot]) == tuple(t.types) for t in projection.tables)
    _record_shape(tx, projection, generation, projection.shape if matches else "unknown")


def _installed(tx: Tx, name: str) -> int | None:
    tx.one("SELECT 1 FROM projection_shapes LIMIT 1")  # the newest bookkeeping table
    generation = active_generation(tx, name)
    if generation is None or tracked(tx, name, generation) is None:
        return None
    return generation


def install(session: Session, projection: Projection, schema: str = "") -> int:
    """Create the bookkeeping and the active generation's tables; the active generation.

    Runs DDL only when something is missing, and then re-checks under the DDL lock: on
    PostgreSQL ``CREATE INDEX IF NOT EXISTS`` locks the table even when the index exists,
    and a live batch waiting on that lock while holding the tracking row would deadlock
    with an installer that goes on to touch the tracking row."""
    try:
        with session.transaction() as tx:
            found = _installed(tx, projection.name)
            if found is not None and shape_of(tx, projection.name, found) is not None:
                return found
    except (sqlite3.OperationalError, psycopg.errors.UndefinedTable):
        found = None
    with session.transaction(write=True) as tx:
        _ddl_lock(tx, schema)
        for statement in META:
            tx.execute(statement)
        found = _installed(tx, projection.name)
        if found is not None:
            _record_found_shape(tx, projection, found)
            return found
        tx.execute(
            "INSERT INTO projection_generations (projection, active, building) "
            "VALUES (?, 1, NULL) ON CONFLICT (projection) DO NOTHING",
            (projection.name,),
        )
        generation = active_generation(tx, projection.name)
        assert generation is not None
        create_tables(tx, projection, generation)
        return generation


def create_indexes(tx: Tx, projection: Projection, generation: int) -> None:
    """The secondary indexes of a generation's tables (idempotent)."""
    names = projection.names(generation)
    for table in projection.tables:
        physical = names[table.slot]
        for suffix, columns in table.indexes:
            tx.execute(
                "CREATE INDEX IF NOT EXISTS " + f"{physical}_{suffix} ON {physical} ({columns})"
            )


def new_generation(
    session: Session, projection: Projection, schema: str = "", *, indexes: bool = True
) -> int:
    """Drop what a previous rebuild left (every generation but the active one) and create
    empty tables for the next generation, marked as being built (without their secondary
    indexes if ``indexes`` is False)."""
    with session.transaction(write=True) as tx:
        _ddl_lock(tx, schema)
        active = active_generation(tx, projection.name, lock=True)
        assert active is not None
        rows = tx.all(
            "SELECT generation FROM projection_tracking WHERE projection = ?",
            (projection.name,),
        )
        known = [int(r["generation"]) for r in rows]
        for old in known:
            if old != active:
                drop_tables(tx, projection, old)
        generation = max([active, *known]) + 1
        create_tables(tx, projection, generation, indexes=indexes)
        tx.execute(
            "UPDATE projection_generations SET building = ? WHERE projection = ?",
            (generation, projection.name),
        )
        return generation


def drop_tables(tx: Tx, projection: Projection, generation: int) -> None:
    for physical in projection.names(generation).values():
        tx.execute("DROP TABLE IF EXISTS " + physical)
    for table in ("projection_tracking", "projection_shapes"):
        tx.execute(
            "DELETE FROM " + table + " WHERE projection = ? AND generation = ?",  # noqa: S608 - constant bookkeeping tables
            (projection.name, generation),
        )


def active_generation(tx: Tx, name: str, *, lock: bool = False) -> int | None:
    """The generation queries read; ``lock`` makes a batch hold off a switch (PostgreSQL)."""
    suffix = tx.for_share if lock else ""
    row = tx.one("SELECT active FROM projection_generations WHERE projection = ?" + suffix, (name,))  # noqa: S608 - table slots and clauses are constants of this package; values are bound
    return None if row is None else int(row["active"])


def building_generation(tx: Tx, name: str) -> int | None:
    value = tx.scalar("SELECT building FROM projection_generations WHERE projection = ?", (name,))
    return None if value is None else int(value)


def tracked(tx: Tx, name: str, generation: int) -> int | None:
    value = tx.scalar(
        "SELECT position FROM projection_tracking WHERE projection = ? AND generation = ?",
        (name, generation),
    )
    return None if value is None else int(value)


def advance(tx: Tx, name: str, generation: int, after: int, to: int) -> None:
    """Move the tracking row from ``after`` to ``to``, or refuse: the update is conditional
    on the row still being at ``after`` and on ``to`` being further. On PostgreSQL a runner
    racing us blocks on the row lock and then finds it moved: it is refused too."""
    changed = tx.execute(
        "UPDATE projection_tracking SET position = ?, updated_at = ? "
        "WHERE projection = ? AND generation = ? AND position = ? AND position < ?",
        (to, now_text(), name, generation, after, to),
    )
    if changed != 1:
        raise PositionNotAdvanced(
            "the tracking position is not where this batch starts: refused",
            projection=name,
            generation=generation,
            after=after,
            to=to,
        )


def readable(tx: Tx, projection: Projection) -> tuple[Tx, int, int]:
    """A transaction bound to the active generation's tables, the generation, and the
    position it reflects; ProjectionNotReady before the first install, and while the active
    generation's tables are not in this release's shape (one query for all three)."""
    try:
        row = tx.one(
            "SELECT g.active AS generation, s.shape AS shape, t.position AS position "
            "FROM projection_generations g "
            "LEFT JOIN projection_shapes s "
            "ON s.projection = g.projection AND s.generation = g.active "
            "LEFT JOIN projection_tracking t "
            "ON t.projection = g.projection AND t.generation = g.active "
            "WHERE g.projection = ?",
            (projection.name,),
        )
    except (sqlite3.OperationalError, psycopg.errors.UndefinedTable) as e:
        raise ProjectionNotReady(
            "the read side has not been installed", projection=projection.name
        ) from e
    if row is None:
        raise ProjectionNotReady("the projection has no tables yet", projection=projection.name)
    if row["shape"] != projection.shape:
        raise ProjectionNotReady(
            "the view is being rebuilt: this release reads it in a new shape "
            "(`ledger projections status` shows how far it is)",
            projection=projection.name,
        )
    generation = int(row["generation"])
    position = int(row["position"] or 0)
    return tx.with_names(projection.names(generation)), generation, position
