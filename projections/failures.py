"""Events a view could not apply: recorded, skipped with their aggregate's later events,
and reported (see docs/adr/0011-poison-events.md).

``projection_failures`` (created with the bookkeeping, ``catalog.META``) holds one row per
event a generation of a view did not apply: the event that failed (``error`` and
``message`` of the exception) and each later event of the same aggregate, skipped because
it depends on the one that failed (``error`` is ``Skipped``, ``message`` names the position
it follows). The rows ride in the same
transaction as the tracking update that moves past them, so an event is either applied or
recorded here, never neither and never both.

Only errors an event's content can cause are isolated (:data:`EVENT_ERRORS`): a database
that is down, locked or out of connections fails the batch as before and the runner backs
off; it never turns into a list of failed events.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from projections.catalog import now_text
from projections.codec import storable
from projections.db import Tx
from projections.source import Positioned

EVENT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # UnicodeError included
    LookupError,
    TypeError,
    AttributeError,
    ArithmeticError,
    AssertionError,
    psycopg.DataError,
    psycopg.IntegrityError,
    sqlite3.DataError,
    sqlite3.IntegrityError,
)
SKIPPED = "Skipped"
LISTED = 20  # failures listed per view by status (the count covers them all)


@dataclass(frozen=True)
class Failure:
    position: int
    aggregate_id: str
    topic: str
    error: str
    message: str


def held(tx: Tx, projection: str, generation: int) -> dict[str, int]:
    """Aggregate id -> the position of its first failed event, in this generation."""
    rows = tx.all(
        "SELECT aggregate_id, MIN(position) AS position FROM projection_failures "
        "WHERE projection = ? AND generation = ? GROUP BY aggregate_id",
        (projection, generation),
    )
    return {r["aggregate_id"]: int(r["position"]) for r in rows}


def record(
    tx: Tx, projection: str, generation: int, item: Positioned, error: str, message: str
) -> None:
    tx.execute(
        "INSERT INTO projection_failures (projection, generation, position, aggregate_id, "
        "topic, error, message, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            projection,
            generation,
            item.position,
            item.aggregate_key,
            type(item.event).__qualname__,
            error,
            storable(message[:2000]),
            now_text(),
        ),
    )


def record_skipped(
    tx: Tx, projection: str, generation: int, items: Sequence[Positioned], first: dict[str, int]
) -> None:
    for item in items:
        after = first[item.aggregate_key]
        message = f"follows the failed event at position {after} of the same aggregate"
        record(tx, projection, generation, item, SKIPPED, message)


def listed(tx: Tx, projection: str, generation: int) -> tuple[int, list[Failure]]:
    """How many events this generation did not apply, and the first :data:`LISTED`."""
    count = tx.scalar(
        "SELECT COUNT(*) AS n FROM projection_failures WHERE projection = ? AND generation = ?",
        (projection, generation),
    )
    rows = tx.all(
        "SELECT position, aggregate_id, topic, error, message FROM projection_failures "
        "WHERE projection = ? AND generation = ? ORDER BY position LIMIT ?",
        (projection, generation, LISTED),
    )
    return int(count or 0), [Failure(**{k: r[k] for k in Failure.__annotations__}) for r in rows]
