"""The chunked verifier, with chunks of 2, 4 and 8 leaves, on a store of about 60 events.

``verify`` reads the log in whole subtrees and checks each in bulk, falling back to the
row-by-row check on any difference. With one chunk larger than the whole store every check
runs row by row, so that run is the reference: every tampering below must be named the same
way whatever the chunk size, and a clean store must reproduce a checkpoint of every size.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest

from ledger.integrity.checkpoint import Checkpoint
from ledger.integrity.merkle import root
from ledger.integrity.verify import Finding, Report, verify
from tests.integrity_log.conftest import Log

SMALL_CHUNKS = (1, 2, 3)  # 2, 4 and 8 leaves per chunk
ROW_BY_ROW = 14  # one chunk holds the whole test store: every tampering is found row by row


def run(log: Log, chunk_levels: int, checkpoints: list[Checkpoint] | None = None) -> Report:
    given = log.notary.checkpoints() if checkpoints is None else checkpoints
    keys = dict(log.notary.keyring.public_keys())
    return verify(log.ledger, given, keys, chunk_levels=chunk_levels)


def first(report: Report) -> tuple[int | None, int | None, str]:
    assert report.findings, "the tampering went unnoticed"
    found: Finding = report.findings[0]
    return found.position, found.leaf_index, found.problem


def stored_leaves(log: Log) -> list[bytes]:
    rows = log.raw.sql("SELECT leaf_hash FROM {m}merkle_leaves ORDER BY leaf_index")
    return [bytes(r[0]) for r in rows]


@pytest.fixture
def grown(log: Log) -> Log:
    log.fill(43)  # about 63 events: chunks of 8 leave a partial one at the end
    return log


@pytest.mark.parametrize("chunk_levels", [*SMALL_CHUNKS, ROW_BY_ROW])
def test_a_clean_store_reproduces_a_checkpoint_of_every_size(grown: Log, chunk_levels: int) -> None:
    """Roots recomputed inside chunks, at their ends and across them all match."""
    leaves = stored_leaves(grown)
    signing = grown.notary.keyring.signing
    every = [signing.sign_checkpoint(n, root(leaves[:n])) for n in range(len(leaves) + 1)]
    report = run(grown, chunk_levels, every)
    assert report.ok, report.findings
    assert (report.events, report.checkpoints) == (len(leaves), len(leaves) + 1)


Tamper = Callable[[Log], None]


def flip_late_payload(log: Log) -> None:
    log.raw.flip_byte(log.raw.positions()[37])


def flip_first_payload(log: Log) -> None:
    log.raw.flip_byte(log.raw.positions()[0])


def swap_across_chunks(log: Log) -> None:
    positions = log.raw.positions()
    log.raw.swap(positions[21], positions[42])


def delete_late_event(log: Log) -> None:
    log.raw.delete_event(log.raw.positions()[29])


def delete_event_and_leaf(log: Log) -> None:
    position = log.raw.positions()[33]
    log.raw.delete_event(position)
    log.raw.sql("DELETE FROM {m}merkle_leaves WHERE position = {p}", (position,))


def insert_at_end(log: Log) -> None:
    log.raw.insert_copy(log.raw.positions()[3])


def change_low_node(log: Log) -> None:
    log.raw.sql("UPDATE {m}merkle_nodes SET hash = {p} WHERE level = 1 AND idx = 20", (b"\0" * 32,))


def change_high_node(log: Log) -> None:
    log.raw.sql("UPDATE {m}merkle_nodes SET hash = {p} WHERE level = 4 AND idx = 2", (b"\1" * 32,))


def delete_mid_node(log: Log) -> None:
    log.raw.sql("DELETE FROM {m}merkle_nodes WHERE level = 2 AND idx = 9")


def change_a_leaf(log: Log) -> None:
    log.raw.sql("UPDATE {m}merkle_leaves SET leaf_hash = {p} WHERE leaf_index = 50", (b"\2" * 32,))


TAMPERINGS = [
    flip_late_payload,
    flip_first_payload,
    swap_across_chunks,
    delete_late_event,
    delete_event_and_leaf,
    insert_at_end,
    change_low_node,
    change_high_node,
    delete_mid_node,
    change_a_leaf,
]


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda t: t.__name__)
def test_each_chunk_size_names_the_same_first_finding(grown: Log, tamper: Tamper) -> None:
    """The bulk check of a chunk never hides a difference: the finding is the row-by-row one."""
    grown.notary.issue_checkpoint()
    tamper(grown)
    expected = first(run(grown, ROW_BY_ROW))
    for chunk_levels in SMALL_CHUNKS:
        assert first(run(grown, chunk_levels)) == expected, f"chunks of {2**chunk_levels}"


@pytest.mark.parametrize("chunk_levels", SMALL_CHUNKS)
def test_a_wrong_root_in_a_trusted_checkpoint_is_found_mid_chunk(
    grown: Log, chunk_levels: int
) -> None:
    """A checkpoint signed by a trusted key over a root the events do not give is refused."""
    size = 27  # inside a chunk for every small chunk size
    leaves = stored_leaves(grown)
    forged = grown.notary.keyring.signing.sign_checkpoint(size, root(leaves[: size - 1]))
    position, leaf, problem = first(run(grown, chunk_levels, [forged]))
    assert (position, leaf) == (None, size - 1)
    assert f"reproduce the root of the checkpoint of size {size}" in problem


def test_an_id_in_another_spelling_falls_back_and_still_verifies(
    grown: Log, database_url: str
) -> None:
    """SQLite ids in upper case hash differently in bulk; the row-by-row check normalises
    them (as every verifier before did), so the chunk falls back and the store verifies."""
    if grown.raw.pg:
        pytest.skip("PostgreSQL keeps ids as uuid values: there is one spelling")
    position = grown.raw.positions()[40]
    grown.raw.sql(
        "UPDATE {events} SET originator_id = upper(originator_id) WHERE {pos} = {p}", (position,)
    )
    for chunk_levels in (*SMALL_CHUNKS, ROW_BY_ROW):
        report = run(grown, chunk_levels)
        assert report.ok, report.findings
        assert report.events == len(grown.raw.positions())


@pytest.mark.parametrize("levels", [*SMALL_CHUNKS, ROW_BY_ROW])
def test_an_organizations_events_are_counted_the_same_whatever_the_chunk_size(
    log: Log, levels: int
) -> None:
    """With organization_id the verifier counts that organization's events, in every chunk."""
    other = uuid4()
    log.fill(5)  # copies of a recommendation of the world's organization
    keys = dict(log.notary.keyring.public_keys())
    ours = verify(log.ledger, [], keys, chunk_levels=levels, organization_id=log.world.org_id)
    none = verify(log.ledger, [], keys, chunk_levels=levels, organization_id=other)
    assert ours.ok, ours.findings
    assert ours.organization_events == ours.events == len(log.raw.positions())
    assert none.organization_events == 0
    assert run(log, levels).organization_events is None
