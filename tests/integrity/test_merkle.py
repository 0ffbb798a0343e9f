"""Tests for ledger.integrity.merkle against RFC 6962 vectors and exhaustive small trees.

The known-answer vectors are the public ones used by Certificate Transparency and
transparency-dev/merkle (proof/verify_test.go, rfc6962/rfc6962_test.go). Their
internal consistency is checked by hand in the comments: proof nodes that are
roots of smaller trees appear in ROOTS, and the leaf hashes below are recomputed
with hashlib here rather than with the module under test.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.integrity.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MemoryTree,
    canonical_record,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    list_hasher,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
# ROOTS[n - 1] is the root of the tree over LEAVES[:n].
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
H = bytes.fromhex
# Named nodes of the 8-leaf tree, as they appear in the published proofs.
LEAF1 = H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7")  # leaf 1
LEAF4 = H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")  # leaf 4
LEAF6 = H("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f")  # leaf 6
N23 = H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e")  # MTH(D[2:4])
N45 = H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a")  # MTH(D[4:6])
N67 = H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0")  # MTH(D[6:8])
N47 = H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")  # MTH(D[4:8])
# (index, size, proof): leaf index is 0-based here (the Go table is 1-based).
INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 8, [LEAF1, N23, N47]),
    (5, 8, [LEAF4, N67, ROOTS[3]]),  # ROOTS[3] = MTH(D[0:4])
    (2, 3, [ROOTS[1]]),  # ROOTS[1] = MTH(D[0:2])
    (1, 5, [ROOTS[0], N23, LEAF4]),  # ROOTS[0] = MTH(D[0:1]) = hash of leaf 0
]
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (1, 8, [LEAF1, N23, N47]),
    (6, 8, [N45, N67, ROOTS[3]]),
    (2, 5, [N23, LEAF4]),
    (6, 7, [N45, LEAF6, ROOTS[3]]),
]
SMALL = settings(max_examples=300, deadline=None, database=None)


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def make_leaves(n: int) -> list[bytes]:
    return [leaf_hash(b"leaf-%d" % i) for i in range(n)]


def flip(data: bytes, bit: int = 0) -> bytes:
    return bytes([data[0] ^ (1 << bit)]) + data[1:]


def test_hashes_match_the_rfc6962_known_answers() -> None:
    """The empty root, leaf hash and node hash equal the published RFC 6962 values."""
    assert H("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == EMPTY_ROOT
    assert leaf_hash(b"") == H("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert leaf_hash(b"L123456") == H(
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456") == H(
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )
    assert root([]) == EMPTY_ROOT


def test_named_vector_nodes_are_the_hashes_they_claim_to_be() -> None:
    """The named proof nodes recompute from the raw leaves with plain hashlib."""

    def lh(i: int) -> bytes:
        return sha(b"\x00" + LEAVES[i])

    def nh(a: bytes, b: bytes) -> bytes:
        return sha(b"\x01" + a + b)

    assert (lh(1), lh(4), lh(6)) == (LEAF1, LEAF4, LEAF6)
    assert nh(lh(2), lh(3)) == N23
    assert nh(lh(4), lh(5)) == N45
    assert nh(lh(6), lh(7)) == N67
    assert nh(N45, N67) == N47
    assert ROOTS[7] == nh(ROOTS[3], N47)
    assert ROOTS[4] == nh(ROOTS[3], lh(4))


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_the_eight_leaf_vectors_match_the_published_roots(size: int) -> None:
    """root() over the first n of the 8 published leaves gives the published root."""
    hashes = [leaf_hash(x) for x in LEAVES[:size]]
    assert root(hashes) == ROOTS[size - 1]
    assert CompactRange.from_leaf_hashes(hashes).root() == ROOTS[size - 1]
    assert MemoryTree(hashes).root() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_and_verify_against_the_published_vectors(
    index: int, size: int, proof: list[bytes]
) -> None:
    """inclusion_proof reproduces each published audit path and verify_inclusion accepts it."""
    hashes = [leaf_hash(x) for x in LEAVES]
    assert inclusion_proof(index, hashes, size) == proof
    assert verify_inclusion(index, size, hashes[index], proof, ROOTS[size - 1])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_and_verify_against_the_published_vectors(
    old: int, new: int, proof: list[bytes]
) -> None:
    """consistency_proof reproduces each published proof and verify_consistency accepts it."""
    hashes = [leaf_hash(x) for x in LEAVES]
    assert consistency_proof(old, hashes, new) == proof
    assert verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], proof)


class RecordingHasher:
    """A SubtreeHasher that remembers which ranges it was asked for."""

    def __init__(self, size: int) -> None:
        self.inner = list_hasher(make_leaves(size))
        self.ranges: list[tuple[int, int]] = []

    def __call__(self, lo: int, hi: int) -> bytes:
        self.ranges.append((lo, hi))
        return self.inner(lo, hi)


@pytest.mark.parametrize(
    ("index", "size", "ranges"),
    [
        (0, 7, [(1, 2), (2, 4), (4, 7)]),  # b h l
        (4, 7, [(5, 6), (6, 7), (0, 4)]),  # f j k
        (6, 7, [(4, 6), (0, 4)]),  # i k
        (3, 5, [(2, 3), (0, 2), (4, 5)]),  # c g e
        (10, 15, [(11, 12), (8, 10), (12, 15), (0, 8)]),
        (81, 95, [(80, 81), (82, 84), (84, 88), (88, 95), (64, 80), (0, 64)]),
    ],
)
def test_inclusion_proof_nodes_cover_the_subtrees_named_by_transparency_dev(
    index: int, size: int, ranges: list[tuple[int, int]]
) -> None:
    """The audit path is made of the same subtrees as transparency-dev's proof.Inclusion table."""
    hasher = RecordingHasher(size)
    proof = inclusion_proof(index, hasher, size)
    assert sorted(hasher.ranges) == sorted(ranges)
    assert proof == [hasher.inner(lo, hi) for lo, hi in ranges]


@pytest.mark.parametrize(
    ("old", "new", "ranges"),
    [
        (1, 6, [(1, 2), (2, 4), (4, 6)]),  # b h i
        (3, 7, [(2, 3), (3, 4), (0, 2), (4, 7)]),  # c d g l
        (4, 7, [(4, 7)]),  # l
        (5, 7, [(4, 5), (5, 6), (6, 7), (0, 4)]),  # e f j k
        (7, 8, [(6, 7), (7, 8), (4, 6), (0, 4)]),  # j leaf7 i k
        (10, 15, [(8, 10), (10, 12), (12, 15), (0, 8)]),
        (24, 31, [(16, 24), (24, 31), (0, 16)]),
        (81, 95, [(80, 81), (81, 82), (82, 84), (84, 88), (88, 95), (64, 80), (0, 64)]),
    ],
)
def test_consistency_proof_nodes_cover_the_subtrees_named_by_transparency_dev(
    old: int, new: int, ranges: list[tuple[int, int]]
) -> None:
    """The consistency proof is made of the subtrees in transparency-dev's proof.Consistency."""
    hasher = RecordingHasher(new)
    proof = consistency_proof(old, hasher, new)
    assert proof == [hasher.inner(lo, hi) for lo, hi in ranges]


def test_every_inclusion_proof_up_to_64_leaves_verifies_from_list_and_memory_tree() -> None:
    """For every size 1..64 and index, both providers give the same proof and it verifies."""
    leaves = make_leaves(64)
    tree = MemoryTree(leaves)
    for size in range(1, 65):
        r = root(leaves[:size])
        assert tree.root(size) == r
        for index in range(size):
            proof = inclusion_proof(index, leaves[:size])
            assert inclusion_proof(index, tree.subtree_hash, size) == proof
            assert verify_inclusion(index, size, leaves[index], proof, r)


def test_every_consistency_proof_up_to_64_leaves_verifies_from_list_and_memory_tree() -> None:
    """For every 0 <= old <= new <= 64 both providers give the same proof and it verifies."""
    leaves = make_leaves(64)
    tree = MemoryTree(leaves)
    roots = [root(leaves[:n]) for n in range(65)]
    for new in range(65):
        for old in range(new + 1):
            proof = consistency_proof(old, leaves, new)
            assert consistency_proof(old, tree.subtree_hash, new) == proof
            assert verify_consistency(old, new, roots[old], roots[new], proof)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, 64))
    return size, draw(st.integers(0, size - 1))


@SMALL
@given(case=tree_and_index(), data=st.data())
def test_tampered_inclusion_proofs_are_rejected(case: tuple[int, int], data: st.DataObject) -> None:
    """Flipped bits, extra or missing nodes, another index, leaf or root all fail to verify."""
    size, index = case
    leaves = make_leaves(size)
    r, leaf = root(leaves), leaves[index]
    proof = inclusion_proof(index, leaves)
    bad: list[tuple[int, int, bytes, list[bytes], bytes]] = [
        (index, size, leaf, [*proof, r], r),
        (index, size, leaf, [r, *proof], r),
        (index, size, leaf, [*proof, b""], r),
        (index, size * 2, leaf, proof, r),
        (index, size, flip(leaf), proof, r),
        (index, size, leaf, proof, flip(r)),
        (index, size, leaf, proof, EMPTY_ROOT),
        (index, size, leaf, proof, root(make_leaves(size + 1))),
    ]
    if size // 2 > index:
        bad.append((index, size // 2, leaf, proof, r))
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1), label="node")
        bit = data.draw(st.integers(0, 7), label="bit")
        bad += [
            (index, size, leaf, [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]], r),
            (index, size, leaf, proof[:-1], r),
            (index, size, leaf, proof[1:], r),
            (index, size, leaf, [*proof[:i], sha(b"x"), *proof[i:]], r),
        ]
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda j: j != index), label="index")
        bad.append((other, size, leaf, proof, r))
    for args in bad:
        assert not verify_inclusion(*args), args


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(2, 64))
    return draw(st.integers(1, new - 1)), new


@SMALL
@given(sizes=two_sizes(), data=st.data())
def test_tampered_consistency_proofs_are_rejected(
    sizes: tuple[int, int], data: st.DataObject
) -> None:
    """Flipped bits, truncation, extra nodes, swapped or wrong roots and wrong sizes all fail."""
    old, new = sizes
    leaves = make_leaves(new)
    r1, r2 = root(leaves[:old]), root(leaves)
    proof = consistency_proof(old, leaves)
    i = data.draw(st.integers(0, len(proof) - 1), label="node")
    bit = data.draw(st.integers(0, 7), label="bit")
    bad: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (old, new, r1, r2, []),
        (old, new, r1, r2, proof[:-1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]),
        (old, new, r2, r1, proof),
        (old, new, flip(r1), r2, proof),
        (old, new, r1, flip(r2), proof),
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (new, old, r2, r1, proof),
    ]
    for args in bad:
        assert not verify_consistency(*args), args


def test_consistency_edge_cases_follow_the_documented_rules() -> None:
    """Equal sizes need equal roots and no proof; size 0 needs the empty root; no time travel."""
    r = root(make_leaves(3))
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 3, EMPTY_ROOT, r, [])
    assert verify_consistency(3, 3, r, r, [])
    assert not verify_consistency(0, 3, r, r, [])
    assert not verify_consistency(0, 3, EMPTY_ROOT, r, [r])
    assert not verify_consistency(3, 3, r, r, [r])
    assert not verify_consistency(3, 3, r, flip(r), [])
    assert not verify_consistency(3, 2, r, r, [])
    assert not verify_consistency(1, 3, b"short", r, [r])


def test_inclusion_edge_cases_are_rejected_without_exceptions() -> None:
    """Out-of-range indices, empty trees and wrong-length hashes give False, not errors."""
    leaf = leaf_hash(b"data")
    assert verify_inclusion(0, 1, leaf, [], leaf)
    for index, size in [(0, 0), (1, 0), (1, 1), (2, 1), (-1, 1)]:
        assert not verify_inclusion(index, size, leaf, [], leaf)
    assert not verify_inclusion(0, 1, b"", [], leaf)
    assert not verify_inclusion(0, 1, leaf, [], b"")


def test_proof_generation_rejects_impossible_requests() -> None:
    """Out-of-range indices and sizes raise, and a subtree hasher needs an explicit size."""
    leaves = make_leaves(4)
    with pytest.raises(IndexError, match="leaf index 4 is not in a tree of size 4"):
        inclusion_proof(4, leaves)
    with pytest.raises(ValueError, match="tree size 5 is outside"):
        inclusion_proof(0, leaves, 5)
    with pytest.raises(ValueError, match="old size 5 is not between 0 and new size 4"):
        consistency_proof(5, leaves)
    with pytest.raises(TypeError, match="tree size is required"):
        inclusion_proof(0, list_hasher(leaves))
    with pytest.raises(ValueError, match="not a non-empty part"):
        MemoryTree(leaves).subtree_hash(2, 5)


def test_compact_range_root_equals_the_full_root_at_every_size() -> None:
    """Appending leaf by leaf, the frontier's root always equals root() of the whole list."""
    leaves = make_leaves(130)
    compact = CompactRange()
    assert compact.root() == EMPTY_ROOT
    for n, leaf in enumerate(leaves, start=1):
        compact.append(leaf)
        assert compact.size == n
        assert compact.root() == root(leaves[:n])
        assert [h for h, _ in compact.nodes] == [b for b in range(8, -1, -1) if n >> b & 1]


def test_compact_range_round_trips_through_json_and_keeps_extending() -> None:
    """from_json(to_json()) gives an equal range that extends to the same roots as the original."""
    leaves = make_leaves(70)
    for n in range(71):
        compact = CompactRange.from_leaf_hashes(leaves[:n])
        restored = CompactRange.from_json(compact.to_json())
        assert restored == compact
        assert restored.root() == compact.root()
        for leaf in leaves[n:]:
            restored.append(leaf)
        assert restored.root() == root(leaves)


def test_compact_range_copy_is_independent() -> None:
    """Extending a copy leaves the original untouched (tentative appends inside a transaction)."""
    compact = CompactRange.from_leaf_hashes(make_leaves(5))
    tentative = compact.copy()
    tentative.append(leaf_hash(b"next"))
    assert (compact.size, tentative.size) == (5, 6)
    assert compact.root() == root(make_leaves(5))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(version=2), "version 1"),
        (lambda d: d.update(size=-1), "non-negative integer size"),
        (lambda d: d.update(size=True), "non-negative integer size"),
        (lambda d: d.update(size=6), "must have node heights"),
        (lambda d: d["nodes"].pop(), "must have node heights"),
        (lambda d: d["nodes"][0].__setitem__(1, "not base64!"), "not valid base64"),
        (lambda d: d["nodes"][0].__setitem__(1, "AAAA"), "must be 32 bytes"),
        (lambda d: d["nodes"][0].__setitem__(0, "2"), r"must be \[height, base64 hash\]"),
    ],
)
def test_compact_range_from_json_rejects_inconsistent_documents(
    mutate: object, message: str
) -> None:
    """A persisted frontier that does not describe a valid tree edge is refused with a reason."""
    doc = json.loads(CompactRange.from_leaf_hashes(make_leaves(5)).to_json())
    assert callable(mutate)
    mutate(doc)
    with pytest.raises(ValueError, match=message):
        CompactRange.from_json(json.dumps(doc))


def test_compact_range_rejects_leaf_hashes_of_the_wrong_length() -> None:
    """Appending raw data instead of a 32-byte leaf hash is a caller error."""
    with pytest.raises(ValueError, match="leaf hash must be 32 bytes"):
        CompactRange().append(b"raw record bytes")


def test_canonical_record_has_the_documented_byte_layout() -> None:
    """The encoding is CDL1, u64 position, field id, u64 version, field topic, field payload."""
    expected = (
        b"CDL1"
        + bytes.fromhex("0000000000000007")
        + bytes.fromhex("0000000000000003")
        + b"agg"
        + bytes.fromhex("0000000000000002")
        + bytes.fromhex("0000000000000003")
        + b"\xc3\xa9v"
        + bytes.fromhex("0000000000000002")
        + b"{}"
    )
    assert canonical_record(7, "agg", 2, "\u00e9v", b"{}") == expected


def test_canonical_record_is_unambiguous_across_field_boundaries() -> None:
    """Moving bytes between adjacent fields always changes the encoding."""
    records = {
        canonical_record(1, "ab", 1, "c", b""),
        canonical_record(1, "a", 1, "bc", b""),
        canonical_record(1, "a", 1, "b", b"c"),
        canonical_record(1, "", 1, "abc", b""),
        canonical_record(2, "a", 1, "b", b"c"),
        canonical_record(1, "a", 2, "b", b"c"),
    }
    assert len(records) == 6


@pytest.mark.parametrize(
    ("position", "version", "error"),
    [(-1, 1, ValueError), (1, 1 << 64, ValueError), (True, 1, TypeError), (1, 1.0, TypeError)],
)
def test_canonical_record_rejects_integers_it_cannot_encode(
    position: object, version: object, error: type[Exception]
) -> None:
    """Negative, oversized, boolean or float integers raise instead of encoding ambiguously."""
    with pytest.raises(error):
        canonical_record(position, "a", version, "t", b"")  # type: ignore[arg-type]
