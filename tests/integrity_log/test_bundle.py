"""Audit bundles exported from SQLite and PostgreSQL and checked offline, with nothing but the
zip (and, optionally, a public key or a checkpoint the reviewer kept): `ledger bundle verify`."""

from __future__ import annotations

import base64
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.integrity.bundle import canonical, verify_bundle
from ledger.integrity.checkpoint import Checkpoint, SigningKey
from ledger.integrity.coverage import README, readme
from tests.integrity_log.conftest import Log


@pytest.fixture
def bundle(log: Log) -> Path:
    """A bundle of the world's organization, exported by the CLI."""
    path = log.tmp_path / "bundle.zip"
    result = log.cli("bundle", "export", str(log.world.org_id), "-o", str(path))
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def our_key(log: Log) -> Path:
    """The signing key's public PEM, as a reviewer would keep it."""
    path = log.tmp_path / "trusted.pem"
    path.write_text(log.notary.keyring.signing.public_pem())
    return path


def rewrite(path: Path, name: str, change: Callable[[bytes], bytes]) -> None:
    """Replace one member of the zip by ``change`` of its bytes."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members[name] = change(members[name])
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)


def change_line(number: int, edit: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def change(body: bytes) -> bytes:
        lines = body.splitlines()
        event = json.loads(lines[number - 1])
        edit(event)
        lines[number - 1] = canonical(event)
        return b"\n".join(lines) + b"\n"

    return change


def event_line(path: Path, number: int) -> dict[str, Any]:
    with zipfile.ZipFile(path) as z:
        found: dict[str, Any] = json.loads(z.read("events.ndjson").splitlines()[number - 1])
    return found


def failures(log: Log, path: Path, *args: str) -> list[str]:
    result = log.cli("bundle", "verify", str(path), *args)
    assert result.exit_code == 1, result.output
    return [line for line in result.stderr.splitlines() if line.startswith("FAILED: ")]


def test_a_clean_bundle_verifies_offline_with_and_without_a_trusted_key(
    log: Log, bundle: Path, our_key: Path
) -> None:
    """The untouched bundle exits 0; without a trusted key it says it trusted its own keys."""
    with zipfile.ZipFile(bundle) as z:
        count = len(z.read("events.ndjson").splitlines())
        manifest = json.loads(z.read("manifest.json"))
    assert count >= 10
    assert manifest["organization_id"] == str(log.world.org_id)
    trusted = log.cli("bundle", "verify", str(bundle), "--public-key", str(our_key))
    assert trusted.exit_code == 0, trusted.output
    assert f"OK: {count} events verify against the signed checkpoint" in trusted.stdout
    assert "note:" not in trusted.stderr
    alone = log.cli("bundle", "verify", str(bundle))
    assert alone.exit_code == 0, alone.output
    assert "note: trusting the public keys inside the bundle" in alone.stderr


def test_a_changed_event_line_fails_its_proof_and_the_manifest(
    log: Log, bundle: Path, our_key: Path
) -> None:
    """One payload byte changed in an event line: its proof and the manifest hash both fail."""
    event = event_line(bundle, 3)

    def flip(e: dict[str, Any]) -> None:
        payload = bytearray(base64.b64decode(e["payload"]))
        payload[5] ^= 0x01
        e["payload"] = base64.b64encode(bytes(payload)).decode()

    rewrite(bundle, "events.ndjson", change_line(3, flip))
    assert failures(log, bundle, "--public-key", str(our_key)) == [
        "FAILED: events.ndjson differs from what the signed manifest lists",
        f"FAILED: event 3 (position {event['position']}, leaf {event['leaf_index']}): its "
        "record and proof do not lead to the checkpoint's root: the event or its proof was "
        "changed",
    ]


def test_a_changed_readable_copy_of_an_event_fails_the_signed_manifest(
    log: Log, bundle: Path
) -> None:
    """Editing only the decoded `event` field (the proof still holds) fails the manifest hash,
    and the copy's actor is told apart from the proven record's."""
    line = event_line(bundle, 2)
    nobody = "00000000-0000-0000-0000-000000000000"

    def rename(e: dict[str, Any]) -> None:
        e["event"]["actor_id"] = nobody

    rewrite(bundle, "events.ndjson", change_line(2, rename))
    assert failures(log, bundle) == [
        "FAILED: events.ndjson differs from what the signed manifest lists",
        f"FAILED: event 2 (position {line['position']}, leaf {line['leaf_index']}): its "
        f"readable copy says actor_id {nobody!r}, the proven record "
        f"{line['event']['actor_id']!r}",
    ]


def test_a_dropped_event_line_is_named_by_its_leaf(log: Log, bundle: Path) -> None:
    """Removing one line leaves a leaf the signed manifest lists without its event."""
    dropped = event_line(bundle, 4)

    def drop(body: bytes) -> bytes:
        lines = body.splitlines()
        del lines[3]
        return b"\n".join(lines) + b"\n"

    rewrite(bundle, "events.ndjson", drop)
    assert failures(log, bundle) == [
        "FAILED: events.ndjson differs from what the signed manifest lists",
        f"FAILED: events listed in the signed manifest are missing: leaves "
        f"[{dropped['leaf_index']}]",
    ]


def test_a_changed_proof_node_fails_that_event(log: Log, bundle: Path) -> None:
    """One hash of one inclusion proof replaced: that event no longer reaches the root."""
    event = event_line(bundle, 5)
    assert event["inclusion_proof"]

    def corrupt(e: dict[str, Any]) -> None:
        e["inclusion_proof"][0] = base64.b64encode(b"\x42" * 32).decode()

    rewrite(bundle, "events.ndjson", change_line(5, corrupt))
    problems = failures(log, bundle)
    assert (
        f"FAILED: event 5 (position {event['position']}, leaf {event['leaf_index']}): its "
        "record and proof do not lead to the checkpoint's root: the event or its proof was "
        "changed"
    ) in problems
    assert len(problems) == 2  # and the manifest hash


def test_a_changed_manifest_signature_fails(log: Log, bundle: Path, our_key: Path) -> None:
    """A manifest signature with one byte changed does not match the signing key."""

    def flip(sig: bytes) -> bytes:
        raw = bytearray(base64.b64decode(sig))
        raw[0] ^= 0x01
        return base64.b64encode(bytes(raw))

    rewrite(bundle, "manifest.sig", flip)
    key_id = log.notary.keyring.signing.key_id
    assert failures(log, bundle, "--public-key", str(our_key)) == [
        f"FAILED: manifest: the signature does not match key {key_id}"
    ]


def test_a_changed_checkpoint_signature_fails(log: Log, bundle: Path, our_key: Path) -> None:
    """A checkpoint signature with one byte changed fails before any event is looked at."""

    def flip(text: bytes) -> bytes:
        data = json.loads(text)
        raw = bytearray(base64.b64decode(data["signature"]))
        raw[-1] ^= 0x01
        data["signature"] = base64.b64encode(bytes(raw)).decode()
        return json.dumps(data).encode()

    rewrite(bundle, "checkpoint.json", flip)
    with zipfile.ZipFile(bundle) as z:
        size = json.loads(z.read("manifest.json"))["tree_size"]
    key_id = log.notary.keyring.signing.key_id
    assert failures(log, bundle, "--public-key", str(our_key)) == [
        f"FAILED: checkpoint: checkpoint of tree size {size} signed by key {key_id}: signature "
        "does not verify; the checkpoint or its signature was altered, or it was signed by a "
        "different key"
    ]


def test_a_checkpoint_signed_by_another_key_fails(log: Log, bundle: Path, our_key: Path) -> None:
    """The same tree head re-signed by a stranger's key is not trusted, key or no key given."""
    stranger = SigningKey.generate()

    def resign(text: bytes) -> bytes:
        cp = Checkpoint.from_json(text)
        return stranger.sign_checkpoint(cp.tree_size, cp.root_hash).to_json().encode()

    rewrite(bundle, "checkpoint.json", resign)
    for args in (("--public-key", str(our_key)), ()):
        [problem] = failures(log, bundle, *args)
        assert problem.startswith("FAILED: checkpoint: checkpoint of tree size ")
        assert f"key id {stranger.key_id} is not trusted" in problem


def test_a_bundle_forged_whole_by_another_key_passes_only_without_a_trusted_key(
    log: Log, bundle: Path, our_key: Path
) -> None:
    """Re-signing checkpoint and manifest and adding the forger's key fools only a reviewer
    who trusts the bundle's own keys: that is why `--public-key` matters."""
    forger = SigningKey.generate()

    def resign_checkpoint(text: bytes) -> bytes:
        cp = Checkpoint.from_json(text)
        return forger.sign_checkpoint(cp.tree_size, cp.root_hash).to_json().encode()

    with zipfile.ZipFile(bundle) as z:
        manifest = json.loads(z.read("manifest.json"))
    manifest["key_id"] = forger.key_id
    signed = canonical(manifest)
    rewrite(bundle, "checkpoint.json", resign_checkpoint)
    rewrite(bundle, "manifest.json", lambda _: signed)
    rewrite(bundle, "manifest.sig", lambda _: base64.b64encode(forger.sign(signed)))
    with zipfile.ZipFile(bundle, "a") as z:
        z.writestr(f"public-keys/{forger.key_id}.pem", forger.public_pem())
    forged = verify_bundle(bundle).coverage  # the forger writes the README to match, too
    assert forged is not None
    rewrite(bundle, README, lambda _: readme(forged).encode())
    assert log.cli("bundle", "verify", str(bundle)).exit_code == 0
    [problem] = failures(log, bundle, "--public-key", str(our_key))
    assert f"key id {forger.key_id} is not trusted" in problem


def test_a_bundle_with_an_earlier_checkpoint_shows_the_log_only_grew(log: Log) -> None:
    """A checkpoint kept before more events were written is proven a prefix of the bundle's."""
    kept = log.tmp_path / "kept.json"
    assert log.cli("checkpoint", "--output", str(kept)).exit_code == 0
    old_size = json.loads(kept.read_text())["tree_size"]
    log.world.recommend()
    log.world.recommend()
    path = log.tmp_path / "later.zip"
    assert log.cli("bundle", "export", str(log.world.org_id), "-o", str(path)).exit_code == 0
    result = log.cli("bundle", "verify", str(path), "--checkpoint", str(kept))
    assert result.exit_code == 0, result.output
    assert f"note: the log only grew from {old_size} to {old_size + 2} events" in result.stderr


def test_a_forged_earlier_checkpoint_fails_the_growth_check(log: Log) -> None:
    """An earlier checkpoint with an altered root, or a fork signed with the real key, fails."""
    kept = log.tmp_path / "kept.json"
    assert log.cli("checkpoint", "--output", str(kept)).exit_code == 0
    real = Checkpoint.from_json(kept.read_text())
    log.world.recommend()
    path = log.tmp_path / "later.zip"
    assert log.cli("bundle", "export", str(log.world.org_id), "-o", str(path)).exit_code == 0

    altered = json.loads(kept.read_text())
    altered["root_hash"] = base64.b64encode(b"\x07" * 32).decode()
    edited = log.tmp_path / "edited.json"
    edited.write_text(json.dumps(altered))
    [problem] = failures(log, path, "--checkpoint", str(edited))
    assert problem.startswith("FAILED: the earlier checkpoint: checkpoint of tree size")
    assert "signature does not verify" in problem

    # whoever holds the private key signs a different history of the same size
    fork = SigningKey.load(log.key_path).sign_checkpoint(real.tree_size, b"\x07" * 32)
    forked = log.tmp_path / "fork.json"
    forked.write_text(fork.to_json())
    assert failures(log, path, "--checkpoint", str(forked)) == [
        "FAILED: the consistency proof from the earlier checkpoint fails: the log was "
        "rewritten, not only extended"
    ]


def test_exporting_a_bundle_for_a_reversed_period_fails_with_an_error_line(log: Log) -> None:
    """``--from`` after ``--to``: exit 2 and one error line, no bundle written."""
    path = log.tmp_path / "reversed.zip"
    args = ("--from", "2026-03-02", "--to", "2026-03-01T00:00:00Z")
    result = log.cli("bundle", "export", str(log.world.org_id), "-o", str(path), *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: the period starts"), result.stderr
    assert not path.exists()
