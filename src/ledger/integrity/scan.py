"""The checks of ``ledger verify`` over the log read in chunks, without a database.

A :class:`Scan` is fed one :class:`Chunk` at a time: up to ``2 ** levels`` stored events
and as many stored leaves, in order, with the stored nodes the chunk's subtree holds (and
the ones above it that the chunk completes). Chunks are whole subtrees, so every node below
the chunk's root is inside it and can be checked level by level in bulk:

- ``_fast``: leaf hashes by ``batch.leaf_hashes``, positions and indexes by list
  comparison, each level by ``batch.parents`` against the stored level;
- ``slow``: the row-by-row check of a verifier that reads one event at a time, run on a
  chunk the bulk check did not pass. It names the first disagreement, or, for a stored id
  in a spelling the bulk hash does not normalise, finds none and the scan goes on.

So the first finding is the one a row-by-row verifier reports, at the same position.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.integrity.batch import leaf_hashes, parents
from ledger.integrity.merkle import EMPTY_ROOT, frontier_spans, node_hash, record_leaf

Edge = list[tuple[int, int, bytes]]  # the right edge: (level, index, hash), left first

INSERTED = "a stored event that no leaf records (inserted behind the ledger's back, or its leaf "
INSERTED += "was deleted)"
DELETED = "the event this leaf records is missing (deleted)"
CHANGED = "the stored event's bytes changed (its hash differs from the recorded leaf)"
LEAF_CHANGED = (
    "the Merkle leaf row changed (its leaf_hash differs from the hash of the stored event, "
    "which the stored tree node above it confirms)"
)
EITHER_CHANGED = (
    "the stored event's bytes or its Merkle leaf row changed (the event's hash differs from "
    "the recorded leaf, and no stored tree node tells which of the two is wrong)"
)


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
class Chunk:
    """Rows as the store gives them: events (position, aggregate id, version, topic,
    payload), leaves (leaf index, position, hash), nodes {(level, index): hash}."""

    events: Sequence[Any]
    leaves: Sequence[Any]
    nodes: dict[tuple[int, int], bytes] = field(default_factory=dict)

    def level(self, level: int, first: int, count: int) -> list[bytes | None]:
        return [self.nodes.get((level, i)) for i in range(first, first + count)]


def upper_nodes(chunk_index: int, levels: int) -> list[tuple[int, int]]:
    """(level, index) of the nodes above the chunk's root that chunk ``chunk_index``
    completes when it is full: one per trailing one bit of ``chunk_index``."""
    out, k, level = [], chunk_index + 1, levels
    while k % 2 == 0:
        k //= 2
        level += 1
        out.append((level, k - 1))
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """The root over a right edge's hashes, left first."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def node_problem(level: int, idx: int) -> Finding:
    first = idx << level
    return Finding(
        None,
        first,
        f"the stored tree node at level {level}, index {idx} (leaves "
        f"{first}..{first + (1 << level) - 1}) is missing or differs from "
        "the one recomputed from the events",
    )


class Scan:
    """The state of one pass: leaves verified, the right edge, the roots of the sizes
    ``wanted`` (checkpoints), and the first finding."""

    def __init__(self, wanted: set[int], levels: int, *, hex_ids: bool = False) -> None:
        self.wanted, self.levels, self.size = wanted, levels, 1 << levels
        self.hex_ids = hex_ids  # ids stored as uuid.hex (SQLite)
        self.count = 0
        self.edge: Edge = []
        self.roots: dict[int, bytes] = {0: EMPTY_ROOT}
        self.findings: list[Finding] = []
        self.position = 0  # the last event position verified
        self._nodes: dict[tuple[int, int], bytes] = {}

    def feed(self, chunk: Chunk) -> None:
        """Verify one chunk, or record the first finding in it."""
        self._nodes = chunk.nodes
        levels = self._fast(chunk)
        if levels is None:
            self.slow(chunk)
            return
        lo, n, events = self.count, len(chunk.events), chunk.events
        for size in sorted(
            s for s in self.wanted if lo < s < lo + n or s == lo + n < lo + self.size
        ):
            hashes = [h for _, _, h in self.edge]
            hashes += [levels[lvl][i] for lvl, i in frontier_spans(size - lo)]
            self.roots[size] = fold(hashes)
        if n == self.size:
            if not self._push(self.levels, lo >> self.levels, levels[self.levels][0]):
                return
        else:
            self.edge += [(lvl, (lo >> lvl) + i, levels[lvl][i]) for lvl, i in frontier_spans(n)]
        self.count += n
        self.position = int(events[-1][0])
        if self.count in self.wanted and self.count not in self.roots:
            self.roots[self.count] = fold([h for _, _, h in self.edge])

    def _fast(self, chunk: Chunk) -> list[list[bytes]] | None:
        """Every level of the chunk's subtree if all of it agrees with the store, else None."""
        events, leaves = chunk.events, chunk.leaves
        lo, n = self.count, len(events)
        if len(leaves) != n or [e[0] for e in events] != [f[1] for f in leaves]:
            return None
        if [f[0] for f in leaves] != list(range(lo, lo + n)):
            return None
        try:
            level = leaf_hashes(events, hex_ids=self.hex_ids)
        except (TypeError, ValueError, OverflowError, struct.error):
            return None
        if level != [bytes(f[2]) for f in leaves]:
            return None
        levels = [level]
        while len(level) >= 2:
            level = parents(level)
            height = len(levels)
            if chunk.level(height, lo >> height, len(level)) != level:
                return None
            levels.append(level)
        return levels

    def _push(self, level: int, idx: int, h: bytes) -> bool:
        """Add a node to the right edge and merge it up, checking each node formed."""
        self.edge.append((level, idx, h))
        while len(self.edge) >= 2 and self.edge[-1][0] == self.edge[-2][0]:
            lvl, _, right = self.edge.pop()
            _, left_idx, left = self.edge.pop()
            merged = (lvl + 1, left_idx // 2, node_hash(left, right))
            if self._nodes.get((merged[0], merged[1])) != merged[2]:
                self.findings.append(node_problem(merged[0], merged[1]))
                return False
            self.edge.append(merged)
        return True

    def slow(self, chunk: Chunk) -> None:
        """The row-by-row check of one chunk: the first disagreement, named where it is."""
        events, leaves = chunk.events, chunk.leaves
        for i in range(max(len(events), len(leaves))):
            ev = events[i] if i < len(events) else None
            lf = leaves[i] if i < len(leaves) else None
            if ev is None:
                assert lf is not None
                self.findings.append(Finding(int(lf[1]), int(lf[0]), DELETED))
                return
            position, aggregate_id, version, topic, payload = ev
            position, version = int(position), int(version)
            if lf is None:
                self.findings.append(Finding(position, self.count, INSERTED))
                return
            index, leaf_position, stored = int(lf[0]), int(lf[1]), bytes(lf[2])
            if leaf_position != position:
                problem = DELETED if leaf_position < position else INSERTED
                self.findings.append(Finding(min(position, leaf_position), index, problem))
                return
            if index != self.count:
                self.findings.append(
                    Finding(
                        position,
                        self.count,
                        f"leaves {self.count}..{index - 1} are missing from the stored tree: "
                        "the events before this one that they recorded were deleted with "
                        "their leaves",
                    )
                )
                return
            try:
                recomputed = record_leaf(position, aggregate_id, version, topic, payload)
            except (TypeError, ValueError) as e:
                self.findings.append(Finding(position, index, f"{CHANGED}: {e}"))
                return
            if stored != recomputed:
                problem = self._which_changed(chunk, i, stored, recomputed)
                self.findings.append(Finding(position, index, problem))
                return
            if not self._push(0, self.count, recomputed):
                return
            self.count += 1
            self.position = position
            if self.count in self.wanted:
                self.roots[self.count] = fold([h for _, _, h in self.edge])

    def _which_changed(self, chunk: Chunk, i: int, stored: bytes, recomputed: bytes) -> str:
        """Which row is wrong when the ``i``-th leaf of ``chunk`` disagrees with its event:
        the stored parent node, made from the leaf as first recorded and its sibling, agrees
        with one of the two hashes (a chunk holds whole pairs: the sibling is inside it)."""
        index = int(chunk.leaves[i][0])
        parent = chunk.nodes.get((1, index >> 1))
        j = i ^ 1
        if parent is None or j >= len(chunk.leaves):
            return EITHER_CHANGED
        sibling = bytes(chunk.leaves[j][2])
        pair = (recomputed, sibling) if index % 2 == 0 else (sibling, recomputed)
        if node_hash(*pair) == parent:
            return LEAF_CHANGED
        pair = (stored, sibling) if index % 2 == 0 else (sibling, stored)
        return CHANGED if node_hash(*pair) == parent else EITHER_CHANGED
