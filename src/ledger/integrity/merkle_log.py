"""The Merkle log kept beside the events, written in the transaction that appends them.

Tables (in the events' database and schema):

    merkle_leaves (leaf_index PK, position UNIQUE, leaf_hash)  one row per stored event,
                                                               dense leaf indexes 0, 1, 2...
    merkle_nodes  (level, idx, hash; PK (level, idx))          every complete subtree of
                                                               height >= 1, once formed
    merkle_checkpoints (tree_size, root_hash, issued_at, key_id, signature)

The appender runs after the events' INSERT, while the transaction holds the lock that
serialises appends (PostgreSQL's EXCLUSIVE table lock, SQLite's write lock), so leaf order is
commit order and the index is dense even when notification ids have gaps. The right edge of
the tree (one perfect subtree per set bit of the size) is read back from the stored nodes,
so each append costs O(log n) reads and amortised O(1) new nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol
from uuid import UUID

from ledger.integrity.merkle import EMPTY_ROOT, frontier_spans, node_hash, record_leaf


class Cursor(Protocol):
    def execute(self, query: Any, params: Any = ..., /) -> Any: ...
    def executemany(self, query: Any, params_seq: Any, /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> Any: ...


Record = tuple[int, UUID, int, str, bytes]  # position, aggregate id, version, topic, payload


class MerkleTables:
    """SQL for one dialect: ``?`` (SQLite) or ``%s`` (psycopg) placeholders."""

    def __init__(self, placeholder: str, prefix: str = "", blob: str = "BLOB") -> None:
        self.p = placeholder
        self.leaves = f"{prefix}merkle_leaves"
        self.nodes = f"{prefix}merkle_nodes"
        self.checkpoints = f"{prefix}merkle_checkpoints"
        self.blob = blob

    def create_statements(self) -> list[str]:
        b = self.blob
        return [
            f"CREATE TABLE IF NOT EXISTS {self.leaves} (leaf_index BIGINT PRIMARY KEY, "
            f"position BIGINT NOT NULL UNIQUE, leaf_hash {b} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.nodes} (level INTEGER NOT NULL, idx BIGINT NOT NULL,"
            f" hash {b} NOT NULL, PRIMARY KEY (level, idx))",
            f"CREATE TABLE IF NOT EXISTS {self.checkpoints} (tree_size BIGINT NOT NULL, "
            f"root_hash {b} NOT NULL, issued_at TEXT NOT NULL, key_id TEXT NOT NULL, "
            f"signature {b} NOT NULL, body TEXT NOT NULL, "
            "PRIMARY KEY (tree_size, key_id, issued_at))",
        ]

    # reading

    def size(self, cur: Cursor) -> int:
        cur.execute(f"SELECT MAX(leaf_index) FROM {self.leaves}")  # noqa: S608 - table and column names are the store's own; values are bound
        row = cur.fetchone()
        value = _first(row)
        return 0 if value is None else int(value) + 1

    def tail(self, cur: Cursor) -> tuple[int, int]:
        """(tree size, position of the last leaf): what a verifier checks, read at once."""
        cur.execute(
            f"SELECT leaf_index, position FROM {self.leaves} "  # noqa: S608 - table and column names are the store's own; values are bound
            "ORDER BY leaf_index DESC LIMIT 1"
        )
        row = cur.fetchone()
        if row is None:
            return 0, 0
        return int(_first(row)) + 1, int(_second(row))

    def node(self, cur: Cursor, level: int, idx: int) -> bytes:
        if level == 0:
            cur.execute(
                f"SELECT leaf_hash FROM {self.leaves} WHERE leaf_index = {self.p}",  # noqa: S608 - table and column names are the store's own; values are bound
                (idx,),
            )
        else:
            cur.execute(
                f"SELECT hash FROM {self.nodes} WHERE level = {self.p} AND idx = {self.p}",  # noqa: S608 - table and column names are the store's own; values are bound
                (level, idx),
            )
        row = cur.fetchone()
        if row is None:
            raise LookupError(f"no Merkle node at level {level}, index {idx}")
        return bytes(_first(row))

    def frontier(self, cur: Cursor, size: int) -> list[tuple[int, int, bytes]]:
        """The right edge of the tree, read in (at most) two queries."""
        spans = frontier_spans(size)
        found: dict[tuple[int, int], bytes] = {}
        inner = [(lvl, idx) for lvl, idx in spans if lvl > 0]
        if inner:
            pairs = ", ".join(f"({self.p}, {self.p})" for _ in inner)
            cur.execute(
                f"SELECT level, idx, hash FROM {self.nodes} WHERE (level, idx) IN ({pairs})",  # noqa: S608 - table and column names are the store's own; values are bound
                [v for pair in inner for v in pair],
            )
            for row in cur.fetchall():
                r = tuple(row.values()) if isinstance(row, dict) else tuple(row)
                found[(int(r[0]), int(r[1]))] = bytes(r[2])
        for lvl, idx in spans:
            if lvl == 0:
                found[(0, idx)] = self.node(cur, 0, idx)
        missing = [s for s in spans if s not in found]
        if missing:
            raise LookupError(f"no Merkle node at level {missing[0][0]}, index {missing[0][1]}")
        return [(lvl, idx, found[(lvl, idx)]) for lvl, idx in spans]

    def root(self, cur: Cursor, size: int) -> bytes:
        edge = self.frontier(cur, size)
        if not edge:
            return EMPTY_ROOT
        acc = edge[-1][2]
        for _, _, h in reversed(edge[:-1]):
            acc = node_hash(h, acc)
        return acc

    def hasher(self, cur: Cursor) -> Callable[[int, int], bytes]:
        """MTH of leaves [lo, hi) from stored perfect subtrees (for RFC 6962 proofs)."""

        def subtree(lo: int, hi: int) -> bytes:
            n = hi - lo
            if n & (n - 1) == 0 and lo % n == 0:
                return self.node(cur, n.bit_length() - 1, lo // n)
            k = 1 << ((n - 1).bit_length() - 1)
            return node_hash(subtree(lo, lo + k), subtree(lo + k, hi))

        return subtree

    def leaf_of(self, cur: Cursor, position: int) -> tuple[int, bytes] | None:
        cur.execute(
            f"SELECT leaf_index, leaf_hash FROM {self.leaves} WHERE position = {self.p}",  # noqa: S608 - table and column names are the store's own; values are bound
            (position,),
        )
        row = cur.fetchone()
        return None if row is None else (int(_first(row)), bytes(_second(row)))

    # writing

    def append(self, cur: Cursor, records: Sequence[Record]) -> None:
        """Add one leaf per record, and every subtree the new leaves complete."""
        if not records:
            return
        size = self.size(cur)
        stack = self.frontier(cur, size)
        leaves, nodes = [], []
        for position, aggregate_id, version, topic, payload in records:
            h = record_leaf(position, aggregate_id, version, topic, payload)
            leaves.append((size, position, h))
            stack.append((0, size, h))
            while len(stack) >= 2 and stack[-1][0] == stack[-2][0]:
                level, _, right = stack.pop()
                _, left_idx, left = stack.pop()
                merged = (level + 1, left_idx // 2, node_hash(left, right))
                nodes.append(merged)
                stack.append(merged)
            size += 1
        p = self.p
        cur.executemany(
            f"INSERT INTO {self.leaves} (leaf_index, position, leaf_hash) "  # noqa: S608 - table and column names are the store's own; values are bound
            f"VALUES ({p}, {p}, {p})",
            leaves,
        )
        if nodes:
            cur.executemany(
                f"INSERT INTO {self.nodes} (level, idx, hash) VALUES ({p}, {p}, {p})",  # noqa: S608 - table and column names are the store's own; values are bound
                nodes,
            )


def _first(row: Any) -> Any:
    if row is None:
        return None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def _second(row: Any) -> Any:
    return list(row.values())[1] if isinstance(row, dict) else row[1]
