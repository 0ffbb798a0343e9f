"""``ledger verify``: recompute the Merkle log from the stored events and check it.

It reads the events in log order and the stored leaves in leaf order side by side, in
constant memory, and reports the first disagreement at its position:

- a stored record whose bytes changed (its leaf hash no longer matches);
- an event deleted (a leaf names a position that is gone);
- an event inserted (a stored event that no leaf covers);
- two events swapped (the first changed position is named);
- the log cut behind a published checkpoint (fewer events than a checkpoint covers);
- a checkpoint whose root the recomputed tree does not reproduce, or whose signature fails;
- a stored checkpoint row whose columns (``root_hash``, ``tree_size``...) differ from its
  signed body, the only part read otherwise;
- a Merkle leaf row changed, told from a changed event by the stored node above the two;
- a stored tree node (``merkle_nodes``) that differs from the one recomputed from the events.

Every leaf is recomputed from its stored event and every stored node from the leaves.
It checks the tree as it stood when the run began: everything is read in one read-only
snapshot (``ledger.persistence.sql.snapshot``) whose first read is the tree's size and last
position,
so events appended while it runs are not mistaken for tampering; events past that point
are only checked to have a leaf.

Speed: the log is read in chunks of 16,384 leaves (whole subtrees), three queries per
chunk (on PostgreSQL by a background thread a chunk or two ahead of the hashing); each
chunk is checked in bulk and, on any difference, row by row (``ledger.integrity.scan``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from queue import Full, Queue
from typing import Any, TypeVar
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.application.service import Ledger
from ledger.integrity.checkpoint import Checkpoint, EvidenceError, verify_checkpoint
from ledger.integrity.merkle_log import MerkleTables
from ledger.integrity.scan import INSERTED, Chunk, Finding, Scan, upper_nodes
from ledger.integrity.statement import StatementError, organization_of
from ledger.persistence.sql import Snapshot, cursor, events_table, position_column, snapshot

__all__ = ["CHUNK_LEVELS", "Finding", "Report", "stream_leaves", "verify"]
CHUNK_LEVELS = 14  # 16,384 leaves per chunk


@dataclass
class Report:
    events: int = 0  # events of the log verified
    checkpoints: int = 0
    findings: list[Finding] = field(default_factory=list)
    organization_events: int | None = None  # of those, the organization's (when one is asked)

    @property
    def ok(self) -> bool:
        return not self.findings


def stream_leaves(
    ledger: Ledger, merkle: MerkleTables, batch: int = 5000, stop: int | None = None
) -> Iterator[tuple[int, int, bytes]]:
    """Stored leaves in leaf order as (leaf index, position, hash); below ``stop`` if given."""
    bound = f"AND leaf_index < {int(stop)} " if stop is not None else ""
    last = -1
    while True:
        with cursor(ledger.recorder) as cur:
            cur.execute(
                f"SELECT leaf_index, position, leaf_hash FROM {merkle.leaves} "  # noqa: S608 - table and column names are the store's own; values are bound
                f"WHERE leaf_index > {merkle.p} {bound}ORDER BY leaf_index LIMIT {int(batch)}",
                (last,),
            )
            rows = cur.fetchall()
        if not rows:
            return
        for row in rows:
            r = tuple(row.values()) if isinstance(row, dict) else tuple(row)
            yield int(r[0]), int(r[1]), bytes(r[2])
        last = int(rows[-1]["leaf_index"] if isinstance(rows[-1], dict) else rows[-1][0])


def _unrecorded_after(
    snap: Snapshot, events: str, col: str, leaves: str, position: int
) -> int | None:
    """The first stored event after ``position`` that no leaf records, if any."""
    p = snap.placeholder
    rows = snap.rows(
        f"SELECT MIN(e.{col}) FROM {events} e WHERE e.{col} > {p} "  # noqa: S608 - table and column names are the store's own; values are bound
        f"AND NOT EXISTS (SELECT 1 FROM {leaves} l WHERE l.position = e.{col})",
        (position,),
    )
    value = rows[0][0] if rows else None
    return None if value is None else int(value)


def verify(
    ledger: Ledger,
    checkpoints: list[Checkpoint],
    public_keys: Mapping[str, Ed25519PublicKey | bytes],
    progress: Callable[[int], None] | None = None,
    *,
    chunk_levels: int = CHUNK_LEVELS,
    organization_id: UUID | None = None,
) -> Report:
    """Check every stored event against the stored tree and every checkpoint given; with
    ``organization_id``, also count that organization's events among those verified.

    The log is read in chunks of ``2 ** chunk_levels`` leaves, in one snapshot (on
    PostgreSQL by a background thread a chunk or two ahead of the checks). Smaller chunks
    only cost more queries; tests use them to cross chunk boundaries on a small store."""
    merkle = getattr(ledger.recorder, "merkle", None)
    assert isinstance(merkle, MerkleTables), "this store keeps no Merkle log"
    report = Report(checkpoints=len(checkpoints))
    if organization_id is not None:
        report.organization_events = 0
    for cp in checkpoints:
        try:
            verify_checkpoint(cp, public_keys)
        except EvidenceError as e:
            report.findings.append(Finding(None, None, f"checkpoint of size {cp.tree_size}: {e}"))
    table, col = events_table(ledger.recorder), position_column(ledger.recorder)
    with snapshot(ledger.recorder) as snap:
        size, last_position = merkle.tail(snap.cur)
        report.findings += _checkpoint_rows(snap, merkle)
        scan = Scan({cp.tree_size for cp in checkpoints}, chunk_levels, hex_ids=not snap.postgres)
        reads = read_chunks(snap, ledger.recorder, merkle, size, last_position, chunk_levels)
        # On SQLite the reader would hand the GIL back and forth on every row it steps
        # through (measured 2-4x slower): there the chunks are read in line.
        with closing(ahead(reads) if snap.postgres else reads) as chunks:
            for chunk in chunks:
                scan.feed(chunk)
                report.events = scan.count
                if progress is not None:
                    progress(scan.count)
                if scan.findings:
                    break
                if organization_id is not None:
                    report.organization_events = (report.organization_events or 0) + (
                        organization_events(chunk.events, organization_id)
                    )
        report.findings += scan.findings
        if not report.findings:
            extra = _unrecorded_after(snap, table, col, merkle.leaves, last_position)
            if extra is not None:
                report.findings.append(Finding(extra, None, INSERTED))
    _check_roots(report, checkpoints, scan.roots, scan.count, scan.position)
    return report


def organization_events(events: Sequence[Any], organization_id: UUID) -> int:
    """How many stored events (position, id, version, topic, payload) name the organization:
    its id in the payload (uuid_hex) picks the candidates, the payload read confirms them."""
    needle, wanted = organization_id.hex.encode(), str(organization_id)
    found = 0
    for *_, payload in events:
        data = payload if type(payload) is bytes else bytes(payload)
        if needle in data:
            try:
                found += organization_of(data) == wanted
            except StatementError:
                continue  # not an event of ours to count: the verification itself passed
    return found


CHECKPOINT_COLUMNS = ("tree_size", "root_hash", "issued_at", "key_id", "signature")


def _checkpoint_rows(snap: Snapshot, merkle: MerkleTables) -> list[Finding]:
    """Stored checkpoint rows whose columns differ from their signed body: only the body is
    signed, and a column edited behind the ledger's back would mislead whoever reads it."""
    rows = snap.rows(
        f"SELECT {', '.join(CHECKPOINT_COLUMNS)}, body FROM {merkle.checkpoints} "  # noqa: S608
        "ORDER BY tree_size, issued_at",
        (),
    )
    found: list[Finding] = []
    for *columns, body in rows:
        where = f"the stored checkpoint of size {columns[0]} issued at {columns[2]}"
        try:
            cp = Checkpoint.from_json(body)
        except (ValueError, TypeError, KeyError) as e:
            found.append(Finding(None, None, f"{where}: its body is no checkpoint ({e})"))
            continue
        signed = (cp.tree_size, cp.root_hash, cp.issued_at.isoformat(), cp.key_id, cp.signature)
        stored = [bytes(v) if isinstance(v, bytes | memoryview) else v for v in columns]
        wrong = [n for n, a, b in zip(CHECKPOINT_COLUMNS, stored, signed, strict=True) if a != b]
        if wrong:
            verb = "differs" if len(wrong) == 1 else "differ"
            problem = f"{where}: its {', '.join(wrong)} {verb} from its signed body"
            found.append(Finding(None, None, problem))
    return found


def read_chunks(
    snap: Snapshot, recorder: Any, merkle: MerkleTables, size: int, last_position: int, levels: int
) -> Generator[Chunk]:
    """The tree of ``size`` leaves (the last at ``last_position``) as chunks of ``2 ** levels``
    leaves, each with its events and the stored nodes a check of it reads."""
    chunk = 1 << levels
    events = read_events(snap, recorder, last_position, chunk)
    leaves = read_leaves(snap, merkle, size, chunk)
    index = 0
    while True:
        ev, lf = next(events, []), next(leaves, [])
        if not ev and not lf:
            return
        yield Chunk(ev, lf, read_nodes(snap, merkle, index, levels))
        index += 1


def read_nodes(
    snap: Snapshot, merkle: MerkleTables, index: int, levels: int
) -> dict[tuple[int, int], bytes]:
    """The stored nodes inside chunk ``index`` and those above it that it completes, in one
    query: a range of indexes per level."""
    lo, hi = index << levels, (index + 1) << levels
    ranges = [(lvl, lo >> lvl, hi >> lvl) for lvl in range(1, levels + 1)]
    ranges += [(lvl, idx, idx + 1) for lvl, idx in upper_nodes(index, levels)]
    p = snap.placeholder
    one = (
        f"SELECT level, idx, hash FROM {merkle.nodes} "  # noqa: S608 - table and column names are the store's own; values are bound
        f"WHERE level = {p} AND idx >= {p} AND idx < {p}"
    )
    rows = snap.rows(" UNION ALL ".join([one] * len(ranges)), tuple(v for r in ranges for v in r))
    return {(int(lvl), int(idx)): bytes(h) for lvl, idx, h in rows}


def read_events(snap: Snapshot, recorder: Any, stop: int, chunk: int) -> Iterator[list[Any]]:
    """The stored events up to position ``stop`` in log order, ``chunk`` at a time, as
    (position, aggregate id text, version, topic, payload)."""
    table, col = events_table(recorder), position_column(recorder)
    ident = "originator_id::text" if snap.postgres else "originator_id"
    return snap.chunks(
        f"SELECT {col}, {ident}, originator_version, topic, state FROM {table} "  # noqa: S608 - table and column names are the store's own; values are bound
        f"WHERE {col} <= {snap.placeholder} ORDER BY {col}",
        (stop,),
        chunk,
    )


def read_leaves(snap: Snapshot, merkle: MerkleTables, stop: int, chunk: int) -> Iterator[list[Any]]:
    """The stored leaves below index ``stop`` in leaf order, ``chunk`` at a time."""
    return snap.chunks(
        f"SELECT leaf_index, position, leaf_hash FROM {merkle.leaves} "  # noqa: S608 - table and column names are the store's own; values are bound
        f"WHERE leaf_index < {snap.placeholder} ORDER BY leaf_index",
        (stop,),
        chunk,
    )


T = TypeVar("T")
_DONE = object()


def ahead(items: Iterator[T], depth: int = 2) -> Generator[T]:
    """The items of ``items``, produced by a background thread up to ``depth`` ahead, so
    that the database's work and the transfer overlap the hashing. Closing the generator
    stops the thread (and closes ``items`` in it) before it returns."""
    queue: Queue[tuple[object, BaseException | None]] = Queue(depth)
    stop = threading.Event()

    def put(item: object, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                queue.put((item, error), timeout=0.1)
                return True
            except Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as e:  # handed to the consumer, raised there
            put(_DONE, e)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=run, name="ledger-verify-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = queue.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def _check_roots(
    report: Report,
    checkpoints: list[Checkpoint],
    roots: dict[int, bytes],
    verified: int,
    last_position: int,
) -> None:
    if report.findings:
        return
    for cp in sorted(checkpoints, key=lambda c: c.tree_size):
        if cp.tree_size > verified:
            report.findings.append(
                Finding(
                    None,
                    verified,
                    f"the log holds {verified} events (the last at position {last_position}) "
                    f"but a checkpoint covers {cp.tree_size}: its tail was cut after position "
                    f"{last_position}",
                )
            )
            return
        if roots.get(cp.tree_size) != cp.root_hash:
            report.findings.append(
                Finding(
                    None,
                    cp.tree_size - 1,
                    "the recomputed tree does not "
                    f"reproduce the root of the checkpoint of size "
                    f"{cp.tree_size}",
                )
            )
            return
