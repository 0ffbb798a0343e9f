"""The bulk hashing behind the chunked verifier gives exactly the row-by-row hashes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from ledger.integrity.batch import leaf_hashes, parents
from ledger.integrity.merkle import (
    MemoryTree,
    canonical_record,
    frontier_spans,
    leaf_hash,
    node_hash,
    record_leaf,
)
from ledger.integrity.scan import upper_nodes
from ledger.integrity.verify import ahead

TOPIC = "ledger.domain.recommendation:Recommendation.Submitted"


def rows(n: int) -> list[tuple[int, str, int, str, bytes]]:
    return [
        (i + 1, str(uuid.UUID(int=i * 7919)), i % 5 + 1, TOPIC if i % 3 else "t:é", bytes([i]) * i)
        for i in range(n)
    ]


def test_leaf_hashes_are_the_canonical_leaf_hashes() -> None:
    given = rows(40)
    expected = [leaf_hash(canonical_record(p, a, v, t, d)) for p, a, v, t, d in given]
    assert leaf_hashes(given) == expected


def test_hex_ids_are_hashed_in_their_canonical_spelling() -> None:
    given = rows(10)
    as_hex = [(p, uuid.UUID(a).hex, v, t, d) for p, a, v, t, d in given]
    assert leaf_hashes(as_hex, hex_ids=True) == leaf_hashes(given)
    assert leaf_hashes(as_hex) != leaf_hashes(given)  # without the flag, hashed as given


def test_rows_that_cannot_be_encoded_raise_for_the_row_by_row_check() -> None:
    with pytest.raises(Exception):  # noqa: B017, PT011 - struct.error or TypeError, either is fine
        leaf_hashes([(1, str(uuid.uuid4()), -1, TOPIC, b"x")])
    with pytest.raises(TypeError):
        leaf_hashes([(1, str(uuid.uuid4()), 1, TOPIC, "text, not bytes")])


def test_parents_hash_complete_pairs_and_drop_an_odd_last() -> None:
    level = [bytes([i]) * 32 for i in range(5)]
    assert parents(level) == [node_hash(level[0], level[1]), node_hash(level[2], level[3])]
    assert parents(level[:1]) == []


def test_a_leaf_is_the_same_whichever_spelling_the_store_returns_its_id_in() -> None:
    ident = uuid.uuid4()
    canonical = leaf_hash(canonical_record(3, str(ident), 2, TOPIC, b"{}"))
    for aggregate_id in (ident, str(ident), ident.hex, ident.hex.upper()):
        assert record_leaf(3, aggregate_id, 2, TOPIC, b"{}") == canonical
        assert record_leaf(3, aggregate_id, 2, TOPIC, "{}") == canonical


def test_the_frontier_spans_tile_the_leaves_with_one_perfect_subtree_per_set_bit() -> None:
    for size in range(70):
        spans = frontier_spans(size)
        assert [level for level, _ in spans] == sorted(
            (lvl for lvl in range(size.bit_length()) if size >> lvl & 1), reverse=True
        )
        covered = [i for level, idx in spans for i in range(idx << level, (idx + 1) << level)]
        assert covered == list(range(size))


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_upper_nodes_are_the_nodes_a_full_chunk_completes_above_its_root(levels: int) -> None:
    chunk = 1 << levels
    tree = MemoryTree()
    for k in range(20):
        before = {(lvl, i) for lvl in range(levels + 1, 12) for i in range(tree.size >> lvl)}
        for j in range(chunk):
            tree.append(leaf_hash(b"%d" % (k * chunk + j)))
        after = {(lvl, i) for lvl in range(levels + 1, 12) for i in range(tree.size >> lvl)}
        assert sorted(after - before) == upper_nodes(k, levels)


def test_ahead_yields_every_item_in_order_and_raises_the_readers_error() -> None:
    assert list(ahead(iter(range(100)), depth=2)) == list(range(100))

    def failing() -> Iterator[int]:
        yield 1
        raise RuntimeError("the store went away")

    items = ahead(failing())
    assert next(items) == 1
    with pytest.raises(RuntimeError, match="went away"):
        next(items)


def test_closing_ahead_early_stops_the_reader_and_closes_its_source() -> None:
    closed = []

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.append(True)

    items = ahead(endless(), depth=1)
    assert next(items) == 0
    items.close()
    assert closed == [True]
