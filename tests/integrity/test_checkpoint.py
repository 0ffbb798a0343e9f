"""Tests for ledger.integrity.checkpoint: signing, verification, rotation and key files."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.integrity.checkpoint import (
    BadSignature,
    Checkpoint,
    ConsistencyProofFailed,
    EvidenceError,
    InclusionProofFailed,
    SigningKey,
    UnknownKey,
    checkpoint_body,
    key_id_for,
    require_consistency,
    require_inclusion,
    trusted_keys,
    verify_checkpoint,
)
from ledger.integrity.merkle import consistency_proof, inclusion_proof, leaf_hash, root

WHEN = datetime(2024, 5, 17, 9, 30, 15, tzinfo=UTC)
ROOT = hashlib.sha256(b"some root").digest()
# A fixed private key (RFC 8032 test 1 secret), so key ids and bodies are known answers.
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")


def fixed_key() -> SigningKey:
    return SigningKey(Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET))


def flip_byte(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_key_id_is_the_first_16_hex_chars_of_sha256_of_the_raw_public_key() -> None:
    """The key id is derived from the raw 32-byte public key, however the key is given."""
    key = fixed_key()
    expected = hashlib.sha256(RFC8032_PUBLIC).hexdigest()[:16]
    assert key.key_id == expected
    assert key_id_for(RFC8032_PUBLIC) == expected
    assert key_id_for(key.public_pem().encode()) == expected
    assert key_id_for(key.public_key) == expected


def test_signed_message_is_the_documented_note_body() -> None:
    """The signed bytes are origin, size, base64 root, ISO time with Z and key id, one per line."""
    key = fixed_key()
    checkpoint = key.sign_checkpoint(42, ROOT, WHEN)
    expected = (
        "campaign-decision-ledger/v1\n"
        "42\n"
        f"{base64.b64encode(ROOT).decode()}\n"
        "2024-05-17T09:30:15Z\n"
        f"{key.key_id}\n"
    ).encode()
    assert checkpoint.body() == expected
    assert checkpoint_body(42, ROOT, WHEN, key.key_id) == expected
    plus_two = WHEN.astimezone(timezone(timedelta(hours=2)))
    assert checkpoint_body(42, ROOT, plus_two, key.key_id) == expected
    key.public_key.verify(checkpoint.signature, expected)


def test_a_signed_checkpoint_verifies_under_its_public_key() -> None:
    """sign_checkpoint produces a checkpoint that verify_checkpoint accepts."""
    key = SigningKey.generate()
    checkpoint = key.sign_checkpoint(3, ROOT, WHEN)
    assert (checkpoint.tree_size, checkpoint.root_hash, checkpoint.key_id) == (3, ROOT, key.key_id)
    verify_checkpoint(checkpoint, {key.key_id: key.public_key})
    verify_checkpoint(checkpoint, trusted_keys(key))


def test_public_keys_may_be_given_as_raw_bytes_or_pem() -> None:
    """The trust mapping accepts raw 32-byte keys and public PEM bytes as well as key objects."""
    key = SigningKey.generate()
    checkpoint = key.sign_checkpoint(1, ROOT, WHEN)
    raw = key.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    verify_checkpoint(checkpoint, {key.key_id: raw})
    verify_checkpoint(checkpoint, {key.key_id: key.public_pem().encode()})
    verify_checkpoint(checkpoint, trusted_keys(raw))


@pytest.mark.parametrize("index", [0, 31, 63])
def test_a_flipped_byte_in_the_signature_raises_bad_signature(index: int) -> None:
    """Changing any byte of the signature makes verification fail with BadSignature."""
    key = SigningKey.generate()
    good = key.sign_checkpoint(9, ROOT, WHEN)
    bad = dataclasses.replace(good, signature=flip_byte(good.signature, index))
    with pytest.raises(BadSignature, match=rf"tree size 9 signed by key {key.key_id}.*altered"):
        verify_checkpoint(bad, trusted_keys(key))


@pytest.mark.parametrize(
    "change",
    [
        {"tree_size": 10},
        {"root_hash": hashlib.sha256(b"other").digest()},
        {"issued_at": WHEN + timedelta(seconds=1)},
        {"signature": b""},
        {"signature": b"\x00" * 64},
    ],
)
def test_altering_any_signed_field_raises_bad_signature(change: dict[str, object]) -> None:
    """Size, root, time and signature are all covered: changing one breaks verification."""
    key = SigningKey.generate()
    bad = dataclasses.replace(key.sign_checkpoint(9, ROOT, WHEN), **change)  # type: ignore[arg-type]
    with pytest.raises(BadSignature):
        verify_checkpoint(bad, trusted_keys(key))


def test_a_checkpoint_from_an_untrusted_key_raises_unknown_key_naming_it() -> None:
    """A checkpoint signed by an untrusted key is refused with that key id in the message."""
    trusted, stranger = SigningKey.generate(), SigningKey.generate()
    checkpoint = stranger.sign_checkpoint(5, ROOT, WHEN)
    with pytest.raises(UnknownKey) as caught:
        verify_checkpoint(checkpoint, trusted_keys(trusted))
    message = str(caught.value)
    assert f"key id {stranger.key_id} is not trusted" in message
    assert f"trusted: {trusted.key_id}" in message
    with pytest.raises(UnknownKey, match=r"trusted: none"):
        verify_checkpoint(checkpoint, {})


def test_another_key_claiming_a_trusted_key_id_raises_bad_signature() -> None:
    """A forger who copies the trusted key id into its checkpoint still fails on the signature."""
    trusted, forger = SigningKey.generate(), Ed25519PrivateKey.generate()
    body = checkpoint_body(5, ROOT, WHEN, trusted.key_id)
    forged = Checkpoint(5, ROOT, WHEN, trusted.key_id, forger.sign(body))
    with pytest.raises(BadSignature, match=rf"signed by key {trusted.key_id}"):
        verify_checkpoint(forged, trusted_keys(trusted))


def test_a_trust_entry_filed_under_the_wrong_key_id_raises_unknown_key() -> None:
    """A trust mapping that lists a key under another key's id is refused, not silently used."""
    signer, other = SigningKey.generate(), SigningKey.generate()
    checkpoint = signer.sign_checkpoint(5, ROOT, WHEN)
    with pytest.raises(
        UnknownKey, match=rf"trusted under id {signer.key_id} has id {other.key_id}"
    ):
        verify_checkpoint(checkpoint, {signer.key_id: other.public_key})


def test_rotating_to_a_new_key_keeps_old_checkpoints_valid() -> None:
    """After a new key is added to the trust set, checkpoints from both keys verify."""
    old_key, new_key = SigningKey.generate(), SigningKey.generate()
    old_checkpoint = old_key.sign_checkpoint(10, ROOT, WHEN)
    new_checkpoint = new_key.sign_checkpoint(20, ROOT, WHEN + timedelta(days=1))
    trust = trusted_keys(old_key, new_key)
    verify_checkpoint(old_checkpoint, trust)
    verify_checkpoint(new_checkpoint, trust)
    assert old_checkpoint.key_id != new_checkpoint.key_id
    with pytest.raises(UnknownKey):
        verify_checkpoint(old_checkpoint, trusted_keys(new_key))


def test_checkpoint_json_round_trips_and_still_verifies() -> None:
    """from_json(to_json()) gives an equal checkpoint whose signature still verifies."""
    key = SigningKey.generate()
    checkpoint = key.sign_checkpoint(7, ROOT, WHEN)
    text = checkpoint.to_json()
    data = json.loads(text)
    assert data["issued_at"] == "2024-05-17T09:30:15Z"
    assert base64.b64decode(data["root_hash"]) == ROOT
    restored = Checkpoint.from_json(text)
    assert restored == checkpoint
    verify_checkpoint(restored, trusted_keys(key))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("origin", "someone-else/v1", "origin"),
        ("tree_size", "7", "tree_size must be an integer"),
        ("tree_size", -1, "non-negative"),
        ("root_hash", "not base64!", "not valid base64"),
        ("root_hash", "AAAA", "root_hash must be 32 bytes"),
        ("issued_at", "2024-05-17T09:30:15+00:00", "issued_at must look like"),
        ("issued_at", "2024-05-17T09:30:15.5Z", "issued_at must look like"),
        ("key_id", "ABCDEF0123456789", "16 lowercase hex"),
        ("key_id", None, "key_id must be a string"),
        ("signature", 5, "base64 string"),
    ],
)
def test_checkpoint_from_json_rejects_malformed_fields(
    field: str, value: object, message: str
) -> None:
    """Each malformed field is refused with a ValueError that names the problem."""
    data = json.loads(SigningKey.generate().sign_checkpoint(7, ROOT, WHEN).to_json())
    data[field] = value
    with pytest.raises(ValueError, match=message):
        Checkpoint.from_json(json.dumps(data))


def test_issued_at_must_be_aware_whole_seconds_and_is_stored_in_utc() -> None:
    """Naive or sub-second times are refused; other offsets are converted to UTC."""
    key = SigningKey.generate()
    with pytest.raises(ValueError, match="timezone-aware"):
        Checkpoint(1, ROOT, datetime(2024, 1, 1), key.key_id, b"")  # noqa: DTZ001 - naive on purpose: it must be refused
    with pytest.raises(ValueError, match="whole seconds"):
        Checkpoint(1, ROOT, WHEN.replace(microsecond=5), key.key_id, b"")
    plus_two = WHEN.astimezone(timezone(timedelta(hours=2)))
    checkpoint = key.sign_checkpoint(1, ROOT, plus_two)
    assert checkpoint.issued_at == WHEN
    assert checkpoint.issued_at.tzinfo is UTC
    signed_late = key.sign_checkpoint(1, ROOT, WHEN.replace(microsecond=999_999))
    assert signed_late.issued_at == WHEN
    assert key.sign_checkpoint(1, ROOT).issued_at.microsecond == 0


def test_load_or_create_makes_parent_dirs_and_a_0600_key_file_then_reuses_it(
    tmp_path: Path,
) -> None:
    """The first call creates the directories and a private file; later calls load the same key."""
    path = tmp_path / "secrets" / "nested" / "checkpoint-key.pem"
    created = SigningKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert SigningKey.load_or_create(path).key_id == created.key_id
    assert SigningKey.load(path).key_id == created.key_id
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_save_refuses_to_overwrite_an_existing_key_file(tmp_path: Path) -> None:
    """Saving over an existing key raises rather than destroy the key behind old checkpoints."""
    path = tmp_path / "key.pem"
    first = SigningKey.generate()
    first.save(path)
    with pytest.raises(FileExistsError):
        SigningKey.generate().save(path)
    assert SigningKey.load(path).key_id == first.key_id
    assert [p.name for p in tmp_path.iterdir()] == ["key.pem"]


def test_from_env_value_accepts_pem_with_real_or_escaped_newlines() -> None:
    """A PEM pasted into an environment variable loads with newlines or literal backslash-n."""
    key = fixed_key()
    pem = key.private_pem()
    assert SigningKey.from_env_value(pem).key_id == key.key_id
    assert SigningKey.from_env_value("  " + pem.replace("\n", "\\n") + "  ").key_id == key.key_id


def test_from_pem_rejects_keys_that_are_not_ed25519() -> None:
    """Only Ed25519 private keys can sign checkpoints."""
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="expected an Ed25519 private key"):
        SigningKey.from_pem(other)


def test_require_inclusion_passes_good_proofs_and_raises_with_details_on_bad_ones() -> None:
    """A valid audit path passes; a wrong leaf raises InclusionProofFailed naming leaf and tree."""
    leaves = [leaf_hash(b"record-%d" % i) for i in range(11)]
    checkpoint = SigningKey.generate().sign_checkpoint(11, root(leaves), WHEN)
    proof = inclusion_proof(4, leaves)
    require_inclusion(checkpoint, 4, leaves[4], proof)
    with pytest.raises(InclusionProofFailed, match=r"leaf 5 \(hash [0-9a-f]{64}\) .* size 11"):
        require_inclusion(checkpoint, 5, leaves[4], proof)


def test_require_consistency_passes_good_proofs_and_raises_on_a_rewritten_history() -> None:
    """A true extension passes; a tree with a rewritten old part raises ConsistencyProofFailed."""
    key = SigningKey.generate()
    leaves = [leaf_hash(b"record-%d" % i) for i in range(20)]
    old = key.sign_checkpoint(13, root(leaves[:13]), WHEN)
    new = key.sign_checkpoint(20, root(leaves), WHEN + timedelta(hours=1))
    require_consistency(old, new, consistency_proof(13, leaves))
    rewritten = [*leaves[:3], leaf_hash(b"edited"), *leaves[4:]]
    forged = key.sign_checkpoint(20, root(rewritten), WHEN + timedelta(hours=1))
    with pytest.raises(ConsistencyProofFailed, match=r"size 20 .* not proven to extend .* size 13"):
        require_consistency(old, forged, consistency_proof(13, rewritten))


def test_every_failed_integrity_check_is_an_evidence_error() -> None:
    """Callers can catch EvidenceError to handle any failed integrity check."""
    for error in (BadSignature, UnknownKey, InclusionProofFailed, ConsistencyProofFailed):
        assert issubclass(error, EvidenceError)
