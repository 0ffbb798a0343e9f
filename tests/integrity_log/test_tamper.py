"""`ledger verify` against a database changed underneath the service, on SQLite and PostgreSQL.

Each test tampers with raw SQL (sqlite3 / psycopg), then runs the `ledger verify` command
(in process, through typer's runner, with the store and key from the environment) and the
`verify()` function, and checks that both name the first bad position.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import ledger.integrity.verify as verify_module
from ledger.integrity.checkpoint import SigningKey
from ledger.integrity.verify import Report, verify
from tests.integrity_log.conftest import Log


def run_verify(log: Log) -> Report:
    return verify(log.ledger, log.notary.checkpoints(), dict(log.notary.keyring.public_keys()))


def first_failure(log: Log, *args: str) -> str:
    result = log.cli("verify", *args)
    assert result.exit_code == 1, result.output
    line: str = result.stderr.strip().splitlines()[-1]
    assert line.startswith("FAILED")
    return line


def test_an_untouched_ledger_verifies_clean_with_and_without_checkpoints(log: Log) -> None:
    """A ledger nobody touched verifies: every event, every stored node, every checkpoint."""
    count = len(log.raw.positions())
    before = log.cli("verify")
    assert before.exit_code == 0, before.output
    assert f"OK: {count} events and 0 checkpoints verify" in before.stdout
    log.notary.issue_checkpoint()
    log.world.recommend()
    log.notary.issue_checkpoint()
    after = log.cli("verify")
    assert after.exit_code == 0, after.output
    assert f"OK: {count + 1} events and 2 checkpoints verify" in after.stdout
    report = run_verify(log)
    assert report.ok
    assert (report.events, report.checkpoints) == (count + 1, 2)


def test_a_flipped_byte_in_a_payload_is_named_at_its_position(log: Log) -> None:
    """One bit changed in one stored payload (still a BLOB/bytea) fails at that position."""
    log.notary.issue_checkpoint()
    positions = log.raw.positions()
    target = positions[6]
    log.raw.flip_byte(target)
    if not log.raw.pg:
        kind = log.raw.sql("SELECT typeof(state) FROM {events} WHERE {pos} = {p}", (target,))
        assert kind == [("blob",)]
    finding = run_verify(log).findings[0]
    assert (finding.position, finding.leaf_index) == (target, 6)
    assert "bytes changed" in finding.problem
    line = first_failure(log)
    assert line.startswith(f"FAILED at position {target} (leaf 6): the stored event's bytes")


def test_a_deleted_event_is_named_at_its_position(log: Log) -> None:
    """An event deleted from the events table (its leaf left behind) fails at its position."""
    positions = log.raw.positions()
    target = positions[5]
    log.raw.delete_event(target)
    finding = run_verify(log).findings[0]
    assert (finding.position, finding.leaf_index) == (target, 5)
    assert "missing (deleted)" in finding.problem
    assert first_failure(log).startswith(f"FAILED at position {target} (leaf 5): the event")


def test_the_last_event_deleted_is_named_at_its_position(log: Log) -> None:
    """Deleting the newest event, whose leaf stays, fails at that last position."""
    target = log.raw.positions()[-1]
    log.raw.delete_event(target)
    finding = run_verify(log).findings[0]
    assert finding.position == target
    assert "missing (deleted)" in finding.problem


def test_two_swapped_events_are_named_at_the_first_of_them(log: Log) -> None:
    """Two rows that exchanged their content fail at the earlier of the two positions."""
    positions = log.raw.positions()
    a, b = positions[4], positions[9]
    row_a, row_b = log.raw.row(a), log.raw.row(b)
    log.raw.swap(a, b)
    assert (log.raw.row(a), log.raw.row(b)) == (row_b, row_a)
    finding = run_verify(log).findings[0]
    assert (finding.position, finding.leaf_index) == (a, 4)
    assert first_failure(log).startswith(f"FAILED at position {a} (leaf 4): the stored event's")


def test_an_event_inserted_at_the_end_is_named_at_its_new_position(log: Log) -> None:
    """A new row appended with raw SQL (no leaf records it) fails at its position."""
    inserted = log.raw.insert_copy(log.raw.positions()[8])
    finding = run_verify(log).findings[0]
    assert finding.position == inserted
    assert "inserted behind the ledger's back" in finding.problem
    assert first_failure(log).startswith(f"FAILED at position {inserted}")


def test_an_event_inserted_before_later_appends_is_still_named(log: Log) -> None:
    """A raw insert followed by ordinary commands is found where it was slipped in."""
    inserted = log.raw.insert_copy(log.raw.positions()[8])
    log.world.recommend()
    log.world.recommend()
    finding = run_verify(log).findings[0]
    assert finding.position == inserted
    assert "no leaf records" in finding.problem
    assert first_failure(log).startswith(f"FAILED at position {inserted}")


def test_an_event_deleted_with_its_leaf_leaves_a_gap_in_the_leaf_index(log: Log) -> None:
    """Deleting an event and its leaf in the middle shows as missing leaves before the next."""
    positions = log.raw.positions()
    log.raw.delete_event(positions[7])
    log.raw.sql("DELETE FROM {m}merkle_leaves WHERE position = {p}", (positions[7],))
    finding = run_verify(log).findings[0]
    assert (finding.position, finding.leaf_index) == (positions[8], 7)
    assert "leaves 7..7 are missing" in finding.problem


def test_the_tail_cut_behind_a_checkpoint_is_named_by_the_checkpoint(log: Log) -> None:
    """Events and their leaves deleted from the end: only the checkpoint betrays the cut."""
    issued = log.cli("checkpoint")
    assert issued.exit_code == 0, issued.output
    positions = log.raw.positions()
    log.raw.cut_tail(3)
    kept = len(positions) - 3
    finding = run_verify(log).findings[0]
    assert finding.leaf_index == kept
    assert f"covers {len(positions)}: its tail was cut after position {positions[kept - 1]}" in (
        finding.problem
    )
    line = first_failure(log)
    assert line.startswith(f"FAILED at the log (leaf {kept}): the log holds {kept} events")


def test_a_cut_tail_with_its_checkpoints_deleted_fails_only_against_a_kept_file(
    log: Log,
) -> None:
    """If the checkpoints are deleted too, a checkpoint file a reviewer kept still betrays it."""
    kept_file = log.tmp_path / "kept.json"
    assert log.cli("checkpoint", "--output", str(kept_file)).exit_code == 0
    size = json.loads(kept_file.read_text())["tree_size"]
    log.raw.cut_tail(2)
    log.raw.delete_checkpoints()
    assert log.cli("verify").exit_code == 0  # the database alone no longer shows anything
    line = first_failure(log, "--against", str(kept_file))
    assert f"(leaf {size - 2}): the log holds {size - 2} events" in line
    assert f"a checkpoint covers {size}" in line


def test_a_changed_stored_tree_node_is_found(log: Log) -> None:
    """A hash changed in merkle_nodes (proofs would go wrong) is found and located."""
    log.raw.sql(
        "UPDATE {m}merkle_nodes SET hash = {p} WHERE level = 2 AND idx = 1", (b"\x00" * 32,)
    )
    finding = run_verify(log).findings[0]
    assert finding.leaf_index == 4
    assert "tree node at level 2, index 1 (leaves 4..7)" in finding.problem
    assert first_failure(log).startswith("FAILED at the log (leaf 4): the stored tree node")


def test_verify_against_a_saved_checkpoint_passes_on_a_clean_ledger(log: Log) -> None:
    """A checkpoint a reviewer saved earlier is reproduced by the grown, untouched log."""
    kept_file = log.tmp_path / "kept.json"
    assert log.cli("checkpoint", "--output", str(kept_file)).exit_code == 0
    log.world.recommend()
    result = log.cli("verify", "--against", str(kept_file))
    assert result.exit_code == 0, result.output
    assert "OK:" in result.stdout


def test_verify_against_a_checkpoint_from_another_key_fails(log: Log) -> None:
    """A checkpoint signed by a key this ledger never used is refused before anything else."""
    stranger = SigningKey.generate()
    size = log.notary.tree_size()
    with_root = log.notary.issue_checkpoint()
    forged = stranger.sign_checkpoint(size, with_root.root_hash)
    path = log.tmp_path / "stranger.json"
    path.write_text(forged.to_json())
    line = first_failure(log, "--against", str(path))
    assert line.startswith(f"FAILED: the checkpoint in {path}")
    assert f"key id {stranger.key_id} is not trusted" in line


def test_events_appended_while_verify_runs_are_not_mistaken_for_tampering(
    log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An append that lands between reading the events and the leaves is no finding."""
    original = verify_module.read_events

    def events_then_an_append(*args: Any, **kwargs: Any) -> Iterator[Any]:
        log.world.recommend()  # commits an event and its leaf after the tree's size was read
        yield from original(*args, **kwargs)
        log.world.recommend()  # and another after the events were read

    monkeypatch.setattr(verify_module, "read_events", events_then_an_append)
    count = len(log.raw.positions())
    report = run_verify(log)
    assert report.ok, report.findings
    assert report.events == count
    assert len(log.raw.positions()) == count + 2


def test_an_edited_root_hash_column_of_a_stored_checkpoint_is_noticed(log: Log) -> None:
    """``merkle_checkpoints.root_hash`` is checked against the signed body it repeats."""
    checkpoint = log.notary.issue_checkpoint()
    assert run_verify(log).ok
    log.raw.sql("UPDATE {m}merkle_checkpoints SET root_hash = {p}", (b"\3" * 32,))
    finding = run_verify(log).findings[0]
    assert finding.problem.endswith("its root_hash differs from its signed body")
    line = first_failure(log)
    assert line.startswith(
        f"FAILED at the log: the stored checkpoint of size {checkpoint.tree_size}"
    )


def test_an_edited_merkle_leaf_row_is_named_as_the_leaf_not_the_event(log: Log) -> None:
    """A leaf_hash edited in merkle_leaves is reported as that leaf row, and a changed event
    beside it still as the event's bytes."""
    log.raw.sql("UPDATE {m}merkle_leaves SET leaf_hash = {p} WHERE leaf_index = 4", (b"\2" * 32,))
    finding = run_verify(log).findings[0]
    assert finding.leaf_index == 4
    assert finding.problem.startswith("the Merkle leaf row changed"), finding.problem
    assert "the Merkle leaf row changed" in first_failure(log)
