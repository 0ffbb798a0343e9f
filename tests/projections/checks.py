"""What the projection tests compare: the log's positions against the audit trail's."""

from __future__ import annotations

from collections.abc import Sequence

from ledger.application.service import Ledger
from projections import catalog
from projections.catalog import Projection
from projections.db import Database, Tx
from projections.runner import Runner
from projections.source import EventSource, Positioned
from projections.views import audit


def logged(ledger: Ledger) -> list[int]:
    """Every position the audit trail must hold: all stored events but idempotency records."""
    out, start = [], 0
    while batch := ledger.recorder.select_notifications(start, 5000, inclusive_of_start=False):
        out += [n.id for n in batch if "CommandRecord" not in n.topic]
        start = batch[-1].id
    return out


def audited(db: Database) -> list[int]:
    """The positions in the audit trail, in order, duplicates kept (the key forbids them)."""
    with db.transaction() as tx:
        vtx, _, _ = catalog.readable(tx, audit.PROJECTION)
        return [int(r["position"]) for r in vtx.all("SELECT position FROM {audit} ORDER BY 1")]


def tracked(db: Database, projection: Projection = audit.PROJECTION) -> int:
    with db.transaction() as tx:
        return catalog.readable(tx, projection)[2]


def faulty(projection: Projection, at: int, fault: type[BaseException]) -> Projection:
    """The projection, raising ``fault`` after applying the event at position ``at``."""

    def apply(tx: Tx, batch: Sequence[Positioned]) -> None:
        for item in batch:
            projection.apply(tx, [item])
            if item.position == at:
                raise fault(f"injected at position {at}")

    return Projection(projection.name, projection.tables, apply)


def runner(
    db: Database, source: EventSource, projection: Projection = audit.PROJECTION, **kw: object
) -> Runner:
    return Runner(db, source, projection, **kw)  # type: ignore[arg-type]
