"""Where each projection stands: position, lag behind the log, generation, rebuild, lease,
the events it set aside; and the bounded wait that gives a query read-your-writes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from projections import catalog, failures
from projections.catalog import Projection, lock_key
from projections.db import Database, Tx
from projections.errors import ProjectionNotReady


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    generation: int
    position: int
    head: int
    lag: int
    """Positions behind the log's head (an upper bound: ids may have gaps)."""
    updated_at: str | None
    building: int | None
    building_position: int | None
    leased: bool | None
    """Whether a runner holds the lease now (None when it cannot be told)."""
    failed: int = 0
    """Events the active generation did not apply (``projections.failures``)."""
    failures: list[dict[str, Any]] = field(default_factory=list)
    """The first of them: position, aggregate id, event type, error and message."""
    in_shape: bool = True
    """False while the active generation's tables are not in this release's shape: queries
    answer 503 until the rebuild (``building``) switches (``projections.catalog``)."""


def _leased(tx: Tx, name: str, schema: str) -> bool | None:
    if tx.dialect == "postgres":
        key = lock_key(schema, "projection", name) & 0xFFFFFFFFFFFFFFFF
        row = tx.one(
            "SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid::bigint = ? AND objid::bigint = ? AND objsubid = 1",
            (key >> 32, key & 0xFFFFFFFF),
        )
        return bool(row and row["n"])
    row = tx.one("SELECT expires_at FROM projection_leases WHERE projection = ?", (name,))
    return bool(row and row["expires_at"] > int(time.time() * 1000))


def status(db: Database, head: int, projections: Sequence[Projection]) -> list[ProjectionStatus]:
    """One line per projection; ``head`` is the log's last position (``source.head()``)."""
    result = []
    with db.transaction() as tx:
        for p in projections:
            generation = catalog.active_generation(tx, p.name)
            if generation is None:
                raise ProjectionNotReady("the projection has no tables yet", projection=p.name)
            position = catalog.tracked(tx, p.name, generation) or 0
            row = tx.one(
                "SELECT updated_at FROM projection_tracking "
                "WHERE projection = ? AND generation = ?",
                (p.name, generation),
            )
            building = catalog.building_generation(tx, p.name)
            failed, first = failures.listed(tx, p.name, generation)
            result.append(
                ProjectionStatus(
                    name=p.name,
                    generation=generation,
                    position=position,
                    head=head,
                    lag=max(head - position, 0),
                    updated_at=row["updated_at"] if row else None,
                    building=building,
                    building_position=(
                        catalog.tracked(tx, p.name, building) if building is not None else None
                    ),
                    leased=_leased(tx, p.name, db.target.schema),
                    failed=failed,
                    failures=[dataclasses.asdict(f) for f in first],
                    in_shape=catalog.in_shape(tx, p, generation),
                )
            )
    return result


def positions(db: Database, projections: Sequence[Projection]) -> dict[str, int]:
    with db.transaction() as tx:
        return {p.name: catalog.readable(tx, p)[2] for p in projections}


def wait_for(
    db: Database,
    position: int,
    projections: Sequence[Projection],
    *,
    timeout: float = 2.0,
    interval: float = 0.01,
) -> int:
    """Wait, at most ``timeout`` seconds, until every projection named has applied
    ``position``; the lowest position reached (below ``position`` on timeout, when the
    caller answers with the position its data reflects)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            reached = min(positions(db, projections).values(), default=position)
        except ProjectionNotReady:
            reached = 0
        if reached >= position or time.monotonic() >= deadline:
            return reached
        time.sleep(interval)
