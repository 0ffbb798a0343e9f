"""``ledger verify``: recompute the Merkle log from the stored events and check it.

It streams the events in log order and the stored leaves in leaf order side by side, in
constant memory, and reports the first disagreement at its position:

- a stored record whose bytes changed (its leaf hash no longer matches);
- an event deleted (a leaf names a position that is gone);
- an event inserted (a stored event that no leaf covers);
- two events swapped (the first changed position is named);
- the log cut behind a published checkpoint (fewer events than a checkpoint covers);
- a checkpoint whose root the recomputed tree does not reproduce, or whose signature fails;
- a stored tree node (``merkle_nodes``) that differs from the one recomputed from the events.

It checks the tree as it stood when the run began (its size and last position are read
first), so events appended while it runs are not mistaken for tampering; events past that
point are only checked to have a leaf.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ledger.application import Ledger
from ledger.integrity.checkpoint import Checkpoint, IntegrityError, verify_checkpoint
from ledger.integrity.merkle import EMPTY_ROOT, node_hash
from ledger.merkle_log import MerkleTables, record_leaf
from ledger.sql import cursor, events_table, position_column, stream_events


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
    ledger: Ledger, merkle: MerkleTables, batch: int = 5000, stop: int | None = None
) -> Iterator[tuple[int, int, bytes]]:
    """Stored leaves in leaf order as (leaf index, position, hash); below ``stop`` if given."""
    bound = f"AND leaf_index < {int(stop)} " if stop is not None else ""
    last = -1
    while True:
        with cursor(ledger.recorder) as cur:
            cur.execute(
                f"SELECT leaf_index, position, leaf_hash FROM {merkle.leaves} "  # noqa: S608
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


def stream_nodes(
    ledger: Ledger, merkle: MerkleTables, level: int, batch: int = 5000
) -> Iterator[tuple[int, bytes]]:
    """Stored nodes of one level in index order as (index, hash)."""
    last = -1
    while True:
        with cursor(ledger.recorder) as cur:
            cur.execute(
                f"SELECT idx, hash FROM {merkle.nodes} WHERE level = {merkle.p} "  # noqa: S608
                f"AND idx > {merkle.p} ORDER BY idx LIMIT {int(batch)}",
                (level, last),
            )
            rows = cur.fetchall()
        if not rows:
            return
        for row in rows:
            r = tuple(row.values()) if isinstance(row, dict) else tuple(row)
            yield int(r[0]), bytes(r[1])
        last = int(rows[-1]["idx"] if isinstance(rows[-1], dict) else rows[-1][0])


class StoredNodes:
    """The stored perfect-subtree hashes, read level by level as the recomputation needs them."""

    def __init__(self, ledger: Ledger, merkle: MerkleTables) -> None:
        self.ledger, self.merkle = ledger, merkle
        self.levels: dict[int, Iterator[tuple[int, bytes]]] = {}

    def get(self, level: int, idx: int) -> bytes | None:
        stream = self.levels.get(level)
        if stream is None:
            stream = self.levels[level] = stream_nodes(self.ledger, self.merkle, level)
        for found, h in stream:
            if found == idx:
                return h
            if found > idx:
                return None
        return None


def _unrecorded_after(ledger: Ledger, merkle: MerkleTables, position: int) -> int | None:
    """The first stored event after ``position`` that no leaf records, if any."""
    table, col = events_table(ledger.recorder), position_column(ledger.recorder)
    with cursor(ledger.recorder) as cur:
        cur.execute(
            f"SELECT MIN(e.{col}) FROM {table} e WHERE e.{col} > {merkle.p} "  # noqa: S608
            f"AND NOT EXISTS (SELECT 1 FROM {merkle.leaves} l WHERE l.position = e.{col})",
            (position,),
        )
        row = cur.fetchone()
    value = None if row is None else (next(iter(row.values())) if isinstance(row, dict) else row[0])
    return None if value is None else int(value)


def _root(edge: list[tuple[int, int, bytes]]) -> bytes:
    if not edge:
        return EMPTY_ROOT
    acc = edge[-1][2]
    for _, _, h in reversed(edge[:-1]):
        acc = node_hash(h, acc)
    return acc


INSERTED = "a stored event that no leaf records (inserted behind the ledger's back, or its leaf "
INSERTED += "was deleted)"


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
    with cursor(ledger.recorder) as cur:
        size, last_position = merkle.tail(cur)
    wanted = {cp.tree_size for cp in checkpoints}
    roots: dict[int, bytes] = {0: EMPTY_ROOT}
    edge: list[tuple[int, int, bytes]] = []  # the right edge: (level, index, hash), left first
    nodes = StoredNodes(ledger, merkle)
    events = stream_events(ledger.recorder, stop=last_position)
    leaves = stream_leaves(ledger, merkle, stop=size)
    ev, lf = next(events, None), next(leaves, None)
    count, position = 0, 0
    while ev is not None or lf is not None:
        if ev is None:
            assert lf is not None
            report.findings.append(
                Finding(lf[1], lf[0], "the event this leaf records is missing (deleted)")
            )
            break
        position, aggregate_id, version, topic, payload = ev
        if lf is None:
            report.findings.append(Finding(position, count, INSERTED))
            break
        index, leaf_position, stored = lf
        if leaf_position != position:
            problem = (
                "the event this leaf records is missing (deleted)"
                if leaf_position < position
                else INSERTED
            )
            report.findings.append(Finding(min(position, leaf_position), index, problem))
            break
        if index != count:
            report.findings.append(
                Finding(
                    position,
                    count,
                    f"leaves {count}..{index - 1} are missing from the stored tree: the events "
                    f"before this one that they recorded were deleted with their leaves",
                )
            )
            break
        recomputed = record_leaf(position, aggregate_id, version, topic, payload)
        if stored != recomputed:
            report.findings.append(
                Finding(
                    position,
                    index,
                    "the stored event's bytes changed (its hash differs from the recorded leaf)",
                )
            )
            break
        edge.append((0, count, recomputed))
        while len(edge) >= 2 and edge[-1][0] == edge[-2][0]:
            level, _, right = edge.pop()
            _, left_idx, left = edge.pop()
            merged = (level + 1, left_idx // 2, node_hash(left, right))
            if nodes.get(merged[0], merged[1]) != merged[2]:
                first = merged[1] << merged[0]
                report.findings.append(
                    Finding(
                        None,
                        first,
                        f"the stored tree node at level {merged[0]}, index {merged[1]} (leaves "
                        f"{first}..{first + (1 << merged[0]) - 1}) is missing or differs from "
                        "the one recomputed from the events",
                    )
                )
                break
            edge.append(merged)
        if report.findings:
            break
        count += 1
        report.events = count
        if count in wanted:
            roots[count] = _root(edge)
        if progress is not None and count % 10000 == 0:
            progress(count)
        ev, lf = next(events, None), next(leaves, None)
    if not report.findings:
        extra = _unrecorded_after(ledger, merkle, last_position)
        if extra is not None:
            report.findings.append(Finding(extra, None, INSERTED))
    _check_roots(report, checkpoints, roots, count, position)
    return report


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
