"""Ed25519-signed checkpoints of the ledger's Merkle tree, and the evidence errors.

A checkpoint commits to a tree size, its root hash and the time it was issued,
and names the key that signed it. The signed message is a note body in the
style of the C2SP tlog-checkpoint format, every line ending in ``\\n``::

    campaign-decision-ledger/v1
    <tree size in decimal>
    <root hash in standard base64>
    <issued_at as YYYY-MM-DDTHH:MM:SSZ, UTC, whole seconds>
    <key id>

A key id is the first 16 hex characters of SHA-256 over the raw 32-byte Ed25519
public key. Verifiers hold a mapping ``key id -> public key`` and look the
signer up by the id the checkpoint names, so rotating to a new key (adding it
to the mapping) leaves checkpoints signed by older keys verifiable.

Errors::

    EvidenceError               base: the evidence does not check out (not to be confused
                                with the store's ``IntegrityError``, a lost write race)
    ├── BadSignature            the signature does not match the checkpoint under the named key
    ├── UnknownKey              the checkpoint names a key id the verifier does not trust
    ├── InclusionProofFailed    a leaf is not proven to be in the checkpointed tree
    └── ConsistencyProofFailed  a later checkpoint is not proven to extend an earlier one

Malformed input (a naive datetime, bad base64, a root of the wrong length) raises
``ValueError`` or ``TypeError`` instead: it is a caller's mistake, not evidence. The other
error roots (``ledger.errors``, ``projections.errors``) are drawn with this one in
docs/adr/0003-error-tree.md.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.integrity.merkle import HASH_SIZE, _unb64, verify_consistency, verify_inclusion

ORIGIN = "campaign-decision-ledger/v1"
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_ISSUED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


class EvidenceError(Exception):
    """Base class: stored data, a proof or a checkpoint does not check out."""


class BadSignature(EvidenceError):
    """The checkpoint's signature does not verify under the key it names."""


class UnknownKey(EvidenceError):
    """The checkpoint names a key id that is not among the trusted keys."""


class InclusionProofFailed(EvidenceError):
    """An inclusion proof does not place the leaf in the checkpointed tree."""


class ConsistencyProofFailed(EvidenceError):
    """A consistency proof does not show the newer tree extends the older one."""


def _as_public_key(value: Ed25519PublicKey | bytes) -> Ed25519PublicKey:
    if isinstance(value, Ed25519PublicKey):
        return value
    if value.startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(value)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"expected an Ed25519 public key, got {type(key).__name__}")
        return key
    return Ed25519PublicKey.from_public_bytes(value)


def key_id_for(public_key: Ed25519PublicKey | bytes) -> str:
    """Return the key id: first 16 hex chars of SHA-256 over the raw 32-byte public key.

    ``bytes`` may be the raw 32-byte public key or a public PEM.
    """
    raw = _as_public_key(public_key).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()[:16]


def _format_time(moment: datetime) -> str:
    if moment.utcoffset() is None:
        raise ValueError(f"issued_at must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def checkpoint_body(tree_size: int, root_hash: bytes, issued_at: datetime, key_id: str) -> bytes:
    """Return the exact bytes that are signed (format in the module docstring)."""
    root_b64 = base64.b64encode(root_hash).decode("ascii")
    text = f"{ORIGIN}\n{tree_size}\n{root_b64}\n{_format_time(issued_at)}\n{key_id}\n"
    return text.encode("ascii")


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the tree of ``tree_size`` leaves has root ``root_hash``.

    ``issued_at`` must be timezone-aware and is stored in UTC; it must be whole
    seconds, since the signed text carries no fractions (``SigningKey`` truncates).
    """

    tree_size: int
    root_hash: bytes
    issued_at: datetime
    key_id: str
    signature: bytes

    def __post_init__(self) -> None:
        if type(self.tree_size) is not int or self.tree_size < 0:
            raise ValueError(f"tree_size must be a non-negative int, got {self.tree_size!r}")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise ValueError(f"root_hash must be {HASH_SIZE} bytes, got {self.root_hash!r:.80}")
        if not isinstance(self.issued_at, datetime) or self.issued_at.utcoffset() is None:
            raise ValueError(f"issued_at must be a timezone-aware datetime, got {self.issued_at!r}")
        if not isinstance(self.key_id, str) or not _KEY_ID.fullmatch(self.key_id):
            raise ValueError(f"key_id must be 16 lowercase hex characters, got {self.key_id!r}")
        if not isinstance(self.signature, bytes):
            raise TypeError("signature must be bytes")
        object.__setattr__(self, "issued_at", self.issued_at.astimezone(UTC))
        if self.issued_at.microsecond:
            raise ValueError("issued_at must be whole seconds; the signed text has no fractions")

    def body(self) -> bytes:
        """Return the signed message for this checkpoint."""
        return checkpoint_body(self.tree_size, self.root_hash, self.issued_at, self.key_id)

    def to_json(self) -> str:
        """Serialise for files reviewers keep; bytes are standard base64."""
        return json.dumps(
            {
                "origin": ORIGIN,
                "tree_size": self.tree_size,
                "root_hash": base64.b64encode(self.root_hash).decode("ascii"),
                "issued_at": _format_time(self.issued_at),
                "key_id": self.key_id,
                "signature": base64.b64encode(self.signature).decode("ascii"),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Checkpoint:
        """Parse ``to_json`` output; raise ``ValueError`` on any malformed field."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("origin") != ORIGIN:
            raise ValueError(f"checkpoint JSON must be an object with origin {ORIGIN!r}")
        tree_size, issued_at, key_id = (
            data.get("tree_size"),
            data.get("issued_at"),
            data.get("key_id"),
        )
        if type(tree_size) is not int:
            raise ValueError(f"tree_size must be an integer, got {tree_size!r}")
        if not isinstance(issued_at, str) or not _ISSUED_AT.fullmatch(issued_at):
            raise ValueError(f"issued_at must look like 2024-01-31T12:00:00Z, got {issued_at!r}")
        if not isinstance(key_id, str):
            raise ValueError(f"key_id must be a string, got {key_id!r}")
        return cls(
            tree_size=tree_size,
            root_hash=_unb64(data.get("root_hash")),
            issued_at=datetime.fromisoformat(issued_at),
            key_id=key_id,
            signature=_unb64(data.get("signature")),
        )


class SigningKey:
    """An Ed25519 private key that signs checkpoints; keep its PEM outside the database."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_for(self.public_key)

    @classmethod
    def generate(cls) -> SigningKey:
        """Return a fresh random key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: str | bytes) -> SigningKey:
        """Load an unencrypted PKCS#8 PEM Ed25519 private key."""
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"expected an Ed25519 private key, got {type(key).__name__}")
        return cls(key)

    @classmethod
    def from_env_value(cls, pem_text: str) -> SigningKey:
        """Load a PEM from an environment variable, accepting literal ``\\n`` escapes."""
        text = pem_text.strip()
        if "\n" not in text and "\\n" in text:
            text = text.replace("\\n", "\n")
        return cls.from_pem(text + "\n")

    def public_pem(self) -> str:
        """Return the public key as SubjectPublicKeyInfo PEM, for verifiers."""
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def private_pem(self) -> str:
        """Return the private key as unencrypted PKCS#8 PEM (a secret: handle with care)."""
        return self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    def sign_checkpoint(
        self, tree_size: int, root_hash: bytes, issued_at: datetime | None = None
    ) -> Checkpoint:
        """Sign (tree_size, root_hash) at ``issued_at`` (default now), truncated to seconds."""
        moment = (datetime.now(UTC) if issued_at is None else issued_at).replace(microsecond=0)
        unsigned = Checkpoint(tree_size, root_hash, moment, self.key_id, b"")
        return dataclasses.replace(unsigned, signature=self._private_key.sign(unsigned.body()))

    def sign(self, data: bytes) -> bytes:
        """An Ed25519 signature of ``data`` (for signed manifests)."""
        return self._private_key.sign(data)

    def save(self, path: Path) -> None:
        """Write the private PEM to a new file with mode 0600; never overwrite an existing one.

        The key is written to a temporary file in the same directory and then
        hard-linked into place, so ``path`` either does not exist or is complete.
        Raises ``FileExistsError`` if ``path`` exists.
        """
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(self.private_pem())
                handle.flush()
                os.fsync(handle.fileno())
            os.link(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        """Read a private PEM file written by ``save``."""
        return cls.from_pem(path.read_bytes())

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """Load the key at ``path``, creating parent directories and a new key on first run."""
        if path.exists():
            return cls.load(path)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = cls.generate()
        try:
            key.save(path)
        except FileExistsError:  # another process created it first: use theirs
            return cls.load(path)
        return key


def trusted_keys(*keys: SigningKey | Ed25519PublicKey | bytes) -> dict[str, Ed25519PublicKey]:
    """Build the ``key id -> public key`` mapping that ``verify_checkpoint`` takes.

    ``bytes`` may be a raw 32-byte public key or a public PEM.
    """
    publics = [k.public_key if isinstance(k, SigningKey) else _as_public_key(k) for k in keys]
    return {key_id_for(k): k for k in publics}


def verify_checkpoint(
    checkpoint: Checkpoint, public_keys: Mapping[str, Ed25519PublicKey | bytes]
) -> None:
    """Return if ``checkpoint`` is signed by the trusted key it names; raise otherwise.

    ``public_keys`` maps key id to an ``Ed25519PublicKey``, raw 32-byte public key
    or public PEM. Raises ``UnknownKey`` if the key id is not trusted (or the key
    listed under it has another id) and ``BadSignature`` if the signature fails.
    """
    what = f"checkpoint of tree size {checkpoint.tree_size} signed by key {checkpoint.key_id}"
    if checkpoint.key_id not in public_keys:
        trusted = ", ".join(sorted(public_keys)) or "none"
        raise UnknownKey(f"{what}: key id {checkpoint.key_id} is not trusted (trusted: {trusted})")
    public_key = _as_public_key(public_keys[checkpoint.key_id])
    actual = key_id_for(public_key)
    if actual != checkpoint.key_id:
        raise UnknownKey(f"{what}: the key trusted under id {checkpoint.key_id} has id {actual}")
    try:
        public_key.verify(checkpoint.signature, checkpoint.body())
    except InvalidSignature:
        raise BadSignature(
            f"{what}: signature does not verify; the checkpoint or its signature was altered, "
            "or it was signed by a different key"
        ) from None


def require_inclusion(
    checkpoint: Checkpoint, index: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ``InclusionProofFailed`` unless ``proof`` puts ``leaf_hash`` at ``index``.

    Checks the proof only; call ``verify_checkpoint`` to trust the checkpoint itself.
    """
    size, root_hash = checkpoint.tree_size, checkpoint.root_hash
    if not verify_inclusion(index, size, leaf_hash, proof, root_hash):
        raise InclusionProofFailed(
            f"leaf {index} (hash {leaf_hash.hex()}) is not proven to be in the tree of size "
            f"{size} with root {root_hash.hex()} by the {len(proof)}-node proof given"
        )


def require_consistency(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Raise ``ConsistencyProofFailed`` unless ``proof`` shows ``new`` extends ``old``.

    Checks the proof only; call ``verify_checkpoint`` on both checkpoints too.
    """
    if not verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof):
        raise ConsistencyProofFailed(
            f"tree of size {new.tree_size} with root {new.root_hash.hex()} is not proven to "
            f"extend the tree of size {old.tree_size} with root {old.root_hash.hex()} "
            f"by the {len(proof)}-node proof given"
        )


def verify_signed(
    data: bytes,
    signature: bytes,
    key_id: str,
    public_keys: Mapping[str, Ed25519PublicKey | bytes],
    what: str = "signature",
) -> None:
    """Return if ``signature`` over ``data`` is by the trusted key ``key_id``; raise otherwise."""
    if key_id not in public_keys:
        raise UnknownKey(f"{what}: key id {key_id} is not trusted")
    try:
        _as_public_key(public_keys[key_id]).verify(signature, data)
    except InvalidSignature:
        raise BadSignature(f"{what}: the signature does not match key {key_id}") from None
