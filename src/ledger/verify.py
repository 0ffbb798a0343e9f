"""``ledger verify``: recompute the Merkle log from the stored events and check it.

It streams the events in log order and the stored leaves in leaf order side by side, in
constant memory, and reports the first disagreement at its position:

- a stored record whose bytes changed (its leaf hash no longer matches);
- an event deleted (a leaf names a position that is gone);
- an event inserted (a stored event that no leaf covers);
- two events swapped (the first changed position is named);
- the log cut behind a published checkpoint (fewer events than a checkpoint covers);
- a checkpoint whose root the recomputed tree does not reproduce, or whose signature fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ledger.application import Ledger
from ledger.integrity.checkpoint import Checkpoint, IntegrityError, verify_checkpoint
from ledger.integrity.merkle import CompactRange
from ledger.merkle_log import MerkleTables, record_leaf
from ledger.sql import cursor, stream_events


@dataclass
class Finding:
    position: int | None
    leaf_index: int | None
    problem: str

    def __str__(self) -> str:
        where = f"position {self.position}" if self.position is not None else "the log"
        leaf = f" (leaf {self.leaf_index})" if self.leaf_index is not None else ""
        return f"{where}{leaf}: {self.problem}"


@dataclass
class Report:
    events: int = 0
    checkpoints: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def stream_leaves(
    ledger: Ledger, merkle: MerkleTables, batch: int = 5000
) -> Iterator[tuple[int, int, bytes]]:
    last = -1
    while True:
        with cursor(ledger.recorder) as cur:
            cur.execute(
                f"SELECT leaf_index, position, leaf_hash FROM {merkle.leaves} "  # noqa: S608
                f"WHERE leaf_index > {merkle.p} ORDER BY leaf_index LIMIT {int(batch)}",
                (last,),
            )
            rows = cur.fetchall()
        if not rows:
            return
        for row in rows:
            r = tuple(row.values()) if isinstance(row, dict) else tuple(row)
            yield int(r[0]), int(r[1]), bytes(r[2])
        last = int(rows[-1]["leaf_index"] if isinstance(rows[-1], dict) else rows[-1][0])


def verify(
    ledger: Ledger,
    checkpoints: list[Checkpoint],
    public_keys: dict[str, object],
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Check every stored event against the stored tree and every checkpoint given."""
    merkle = getattr(ledger.recorder, "merkle", None)
    assert isinstance(merkle, MerkleTables), "this store keeps no Merkle log"
    report = Report(checkpoints=len(checkpoints))
    for cp in checkpoints:
        try:
            verify_checkpoint(cp, public_keys)  # type: ignore[arg-type]
        except IntegrityError as e:
            report.findings.append(Finding(None, None, f"checkpoint of size {cp.tree_size}: {e}"))
    wanted = sorted({cp.tree_size for cp in checkpoints})
    roots: dict[int, bytes] = {}
    compact = CompactRange()
    if 0 in wanted:
        roots[0] = compact.root()
    events, leaves = stream_events(ledger.recorder), stream_leaves(ledger, merkle)
    ev, lf = next(events, None), next(leaves, None)
    while ev is not None or lf is not None:
        if ev is None:
            assert lf is not None
            report.findings.append(
                Finding(
                    lf[1],
                    lf[0],
                    "the event this leaf records is missing (deleted, or the log was cut)",
                )
            )
            break
        position, aggregate_id, version, topic, payload = ev
        recomputed = record_leaf(position, aggregate_id, version, topic, payload)
        if lf is None:
            report.findings.append(
                Finding(
                    position,
                    compact.size,
                    "a stored event that no leaf records (inserted behind the ledger's back)",
                )
            )
            break
        index, leaf_position, stored = lf
        if leaf_position != position:
            problem = (
                "the event this leaf records is missing (deleted)"
                if leaf_position < position
                else "a stored event that no leaf records (inserted behind the ledger's back)"
            )
            report.findings.append(Finding(min(position, leaf_position), index, problem))
            break
        if stored != recomputed:
            report.findings.append(
                Finding(
                    position,
                    index,
                    "the stored event's bytes changed (its hash differs from the recorded leaf)",
                )
            )
            break
        compact.append(recomputed)
        report.events += 1
        if compact.size in wanted:
            roots[compact.size] = compact.root()
        if progress is not None and report.events % 10000 == 0:
            progress(report.events)
        ev, lf = next(events, None), next(leaves, None)
    _check_roots(report, checkpoints, roots, compact.size)
    return report


def _check_roots(
    report: Report, checkpoints: list[Checkpoint], roots: dict[int, bytes], verified: int
) -> None:
    if report.findings:
        return
    for cp in checkpoints:
        if cp.tree_size > verified:
            report.findings.append(
                Finding(
                    None,
                    verified,
                    f"the log holds {verified} events but "
                    f"a checkpoint covers {cp.tree_size}: its tail was cut",
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
