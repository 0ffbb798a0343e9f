"""RFC 6962 Merkle tree hashing, audit paths and consistency proofs over SHA-256.

Hashing is RFC 6962 section 2.1 exactly: ``leaf_hash(d) = SHA-256(0x00 || d)``,
``node_hash(l, r) = SHA-256(0x01 || l || r)``, the empty tree hashes to
``SHA-256("")`` and MTH splits ``n`` leaves at the largest power of two below ``n``.
Proofs are RFC 6962 PATH and PROOF; verification is RFC 9162 sections 2.1.3.2
and 2.1.4.2.

Proof generation reads leaf hashes either from a sequence or from a
``SubtreeHasher``: a callable ``f(lo, hi)`` returning MTH(D[lo:hi]). Every range
the proof algorithms ask for starts at a multiple of a power of two that is at
least its length, so a store of perfect-subtree hashes (see ``MemoryTree``)
answers each call in O(log n); over a plain list one proof costs O(n) hashes.

``CompactRange`` keeps only the right edge of the tree, so a writer can extend
the tree and know its root in O(log n) per leaf without re-reading old leaves.

``canonical_record`` defines the bytes of a stored ledger record that become a
leaf: ``b"CDL1"``, then ``position`` as an unsigned 8-byte big-endian integer,
``aggregate_id`` as a field, ``version`` as an unsigned 8-byte big-endian
integer, ``topic`` as a field and ``payload`` as a field, where a field is its
length as an unsigned 8-byte big-endian integer followed by its bytes and the
strings are UTF-8 without normalisation. Fixed-width integers and length
prefixes make the encoding injective.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from typing import TypeAlias
from uuid import UUID

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
RECORD_PREFIX = b"CDL1"
_U64_LIMIT = 1 << 64

SubtreeHasher: TypeAlias = Callable[[int, int], bytes]
LeafSource: TypeAlias = Sequence[bytes] | SubtreeHasher


def leaf_hash(data: bytes) -> bytes:
    """Return SHA-256(0x00 || data), the RFC 6962 hash of a leaf."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right), the RFC 6962 hash of an inner node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Return the largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _require_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be {HASH_SIZE} bytes, got {value!r:.80}")
    return value


def _unb64(text: object) -> bytes:
    """Decode strict standard base64, raising ValueError on anything else."""
    if not isinstance(text, str):
        raise ValueError(f"expected a base64 string, got {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{text!r:.60} is not valid base64") from exc


def _list_mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return leaves[lo]
    mid = lo + _split(hi - lo)
    return node_hash(_list_mth(leaves, lo, mid), _list_mth(leaves, mid, hi))


def list_hasher(leaf_hashes: Sequence[bytes]) -> SubtreeHasher:
    """Return a ``SubtreeHasher`` computing MTH(D[lo:hi]) from a list in O(hi - lo)."""

    def subtree_hash(lo: int, hi: int) -> bytes:
        if not 0 <= lo < hi <= len(leaf_hashes):
            raise ValueError(f"range [{lo}, {hi}) is not a non-empty part of {len(leaf_hashes)}")
        return _list_mth(leaf_hashes, lo, hi)

    return subtree_hash


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the RFC 6962 Merkle tree hash over ``leaf_hashes`` (EMPTY_ROOT if none)."""
    return _list_mth(leaf_hashes, 0, len(leaf_hashes)) if leaf_hashes else EMPTY_ROOT


def _resolve(source: LeafSource, size: int | None) -> tuple[SubtreeHasher, int]:
    if isinstance(source, Sequence):
        n = len(source) if size is None else size
        if not 0 <= n <= len(source):
            raise ValueError(f"tree size {n} is outside 0..{len(source)} leaves given")
        return list_hasher(source), n
    if size is None:
        raise TypeError("a tree size is required when leaf hashes come from a subtree hasher")
    if size < 0:
        raise ValueError(f"tree size {size} is negative")
    return source, size


def inclusion_proof(index: int, leaf_hashes: LeafSource, size: int | None = None) -> list[bytes]:
    """Return the RFC 6962 audit path PATH(index, D[0:size]), nearest sibling first.

    ``size`` defaults to ``len(leaf_hashes)`` for a sequence; it is required for a
    ``SubtreeHasher``. Raises ``IndexError`` unless ``0 <= index < size``.
    """
    subtree_hash, n = _resolve(leaf_hashes, size)
    if not 0 <= index < n:
        raise IndexError(f"leaf index {index} is not in a tree of size {n}")
    proof: list[bytes] = []
    lo, hi = 0, n
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            proof.append(subtree_hash(mid, hi))
            hi = mid
        else:
            proof.append(subtree_hash(lo, mid))
            lo = mid
    proof.reverse()
    return proof


def consistency_proof(
    old_size: int, leaf_hashes: LeafSource, new_size: int | None = None
) -> list[bytes]:
    """Return the RFC 6962 consistency proof PROOF(old_size, D[0:new_size]).

    ``new_size`` defaults to ``len(leaf_hashes)`` for a sequence; it is required
    for a ``SubtreeHasher``. The proof is empty when ``old_size`` is 0 or equals
    ``new_size``. Raises ``ValueError`` unless ``0 <= old_size <= new_size``.
    """
    subtree_hash, n = _resolve(leaf_hashes, new_size)
    if not 0 <= old_size <= n:
        raise ValueError(f"old size {old_size} is not between 0 and new size {n}")
    if old_size in (0, n):
        return []
    proof: list[bytes] = []
    lo, hi, m, whole_old_tree = 0, n, old_size, True
    while m != hi - lo:
        mid = lo + _split(hi - lo)
        if m <= mid - lo:
            proof.append(subtree_hash(mid, hi))
            hi = mid
        else:
            proof.append(subtree_hash(lo, mid))
            m -= mid - lo
            lo = mid
            whole_old_tree = False
    if not whole_old_tree:
        proof.append(subtree_hash(lo, hi))
    proof.reverse()
    return proof


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Return True iff ``proof`` shows ``leaf_hash`` at ``index`` under ``root`` of ``size``.

    RFC 9162 section 2.1.3.2; malformed input (hash lengths, index out of range,
    extra or missing nodes) yields False rather than an exception. A proof cannot
    tell every wrong ``size`` from the right one (nearby sizes can share a path
    shape), so take ``size`` and ``root`` together from a verified checkpoint.
    """
    if not (0 <= index < size and _is_hash(leaf_hash) and _is_hash(root)):
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0 or not _is_hash(p):
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Return True iff ``proof`` shows the tree ``new_root`` extends the tree ``old_root``.

    RFC 9162 section 2.1.4.2. Edge cases: equal sizes need an empty proof and equal
    roots; an old size of 0 needs an empty proof and ``old_root == EMPTY_ROOT``.
    Malformed input yields False rather than an exception. As with inclusion, each
    size must come with its root from a verified checkpoint.
    """
    if not (0 <= old_size <= new_size and _is_hash(old_root) and _is_hash(new_root)):
        return False
    if old_size == 0 and old_root != EMPTY_ROOT:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof or not all(_is_hash(p) for p in proof):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def record_leaf(
    position: int, aggregate_id: object, version: int, topic: str, payload: bytes | str
) -> bytes:
    """The leaf hash of one stored record: aggregate ids in canonical UUID text, whichever
    spelling the store returns them in (uuid, text, hex, upper-case hex)."""
    data = payload.encode() if isinstance(payload, str) else bytes(payload)
    ident = str(UUID(str(aggregate_id)))
    return leaf_hash(canonical_record(position, ident, version, topic, data))


def frontier_spans(size: int) -> list[tuple[int, int]]:
    """The right edge for ``size`` leaves as (level, index) of perfect subtrees, left first."""
    spans, offset = [], 0
    for level in _frontier_heights(size):
        spans.append((level, offset >> level))
        offset += 1 << level
    return spans


def _frontier_heights(size: int) -> list[int]:
    return [h for h in reversed(range(size.bit_length())) if size >> h & 1]


class CompactRange:
    """The right edge of a Merkle tree over leaves [0, size): one perfect subtree per set bit.

    ``nodes`` lists ``(height, hash)`` from the left (tallest) to the right. Appending
    costs O(log n) amortised O(1) hashes; ``root()`` costs O(log n).
    """

    __slots__ = ("_nodes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._nodes: list[tuple[int, bytes]] = []

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes]) -> CompactRange:
        """Build the range covering ``leaf_hashes`` in order."""
        compact = cls()
        for h in leaf_hashes:
            compact.append(h)
        return compact

    @property
    def size(self) -> int:
        """Number of leaves covered."""
        return self._size

    @property
    def nodes(self) -> tuple[tuple[int, bytes], ...]:
        """The frontier as ``(height, hash)`` pairs, tallest (leftmost) first."""
        return tuple(self._nodes)

    def append(self, leaf_hash: bytes) -> None:
        """Add the next leaf, given as its ``leaf_hash``."""
        height, h = 0, _require_hash(leaf_hash, "leaf hash")
        while self._nodes and self._nodes[-1][0] == height:
            h = node_hash(self._nodes.pop()[1], h)
            height += 1
        self._nodes.append((height, h))
        self._size += 1

    def root(self) -> bytes:
        """Return MTH of the covered leaves, equal to ``root()`` over the full list."""
        if not self._nodes:
            return EMPTY_ROOT
        acc = self._nodes[-1][1]
        for _, h in reversed(self._nodes[:-1]):
            acc = node_hash(h, acc)
        return acc

    def copy(self) -> CompactRange:
        """Return an independent copy (e.g. to extend tentatively inside a transaction)."""
        other = CompactRange()
        other._size, other._nodes = self._size, list(self._nodes)
        return other

    def to_json(self) -> str:
        """Serialise as ``{"version": 1, "size": n, "nodes": [[height, base64], ...]}``."""
        nodes = [[h, base64.b64encode(x).decode("ascii")] for h, x in self._nodes]
        return json.dumps({"version": 1, "size": self._size, "nodes": nodes}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> CompactRange:
        """Parse ``to_json`` output; raise ``ValueError`` on anything inconsistent."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != 1:
            raise ValueError("compact range JSON must be an object with version 1")
        size, nodes = data.get("size"), data.get("nodes")
        if type(size) is not int or size < 0 or not isinstance(nodes, list):
            raise ValueError("compact range JSON needs a non-negative integer size and a node list")
        want = _frontier_heights(size)
        parsed: list[tuple[int, bytes]] = []
        for i, node in enumerate(nodes):
            if not (isinstance(node, list) and len(node) == 2 and type(node[0]) is int):
                raise ValueError(f"compact range node {i} must be [height, base64 hash]")
            parsed.append((node[0], _require_hash(_unb64(node[1]), f"compact range node {i}")))
        if [h for h, _ in parsed] != want:
            raise ValueError(f"compact range of size {size} must have node heights {want}")
        compact = cls()
        compact._size, compact._nodes = size, parsed
        return compact

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._nodes == other._nodes

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


class MemoryTree:
    """An append-only in-memory store of every perfect-subtree hash, used as a SubtreeHasher.

    ``subtree_hash(lo, hi)`` costs O(log n) for the ranges proofs ask for, so proofs
    over a ``MemoryTree`` cost O(log^2 n) hashes.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        """Number of leaves stored."""
        return len(self._levels[0])

    def append(self, leaf_hash: bytes) -> None:
        """Add the next leaf hash and every perfect subtree it completes."""
        self._levels[0].append(_require_hash(leaf_hash, "leaf hash"))
        level = 0
        while len(self._levels[level]) % 2 == 0:
            row = self._levels[level]
            if level + 1 == len(self._levels):
                self._levels.append([])
            self._levels[level + 1].append(node_hash(row[-2], row[-1]))
            level += 1

    def subtree_hash(self, lo: int, hi: int) -> bytes:
        """Return MTH(D[lo:hi]) for any non-empty range of stored leaves."""
        if not 0 <= lo < hi <= self.size:
            raise ValueError(f"range [{lo}, {hi}) is not a non-empty part of {self.size}")
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:
            height = n.bit_length() - 1
            return self._levels[height][lo >> height]
        mid = lo + _split(n)
        return node_hash(self.subtree_hash(lo, mid), self.subtree_hash(mid, hi))

    def root(self, size: int | None = None) -> bytes:
        """Return MTH of the first ``size`` leaves (all of them by default)."""
        n = self.size if size is None else size
        return EMPTY_ROOT if n == 0 else self.subtree_hash(0, n)


def _u64(value: int, what: str) -> bytes:
    if type(value) is not int:
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if not 0 <= value < _U64_LIMIT:
        raise ValueError(f"{what} {value} does not fit an unsigned 64-bit integer")
    return value.to_bytes(8, "big")


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def canonical_record(
    position: int, aggregate_id: str, version: int, topic: str, payload: bytes
) -> bytes:
    """Return the canonical bytes of a stored record (format in the module docstring)."""
    return b"".join(
        (
            RECORD_PREFIX,
            _u64(position, "position"),
            _field(aggregate_id.encode("utf-8")),
            _u64(version, "version"),
            _field(topic.encode("utf-8")),
            _field(bytes(payload)),
        )
    )
