"""Audit bundles: an organization's events for a period, each with its inclusion proof, the
signed checkpoint they chain to, the public keys, and consistency proofs from every earlier
checkpoint; verifiable offline with no server and no database.

A bundle is a zip file:

    manifest.json      what the bundle holds (leaf indexes, SHA-256 of events.ndjson), signed
    manifest.sig       base64 Ed25519 signature of manifest.json by the checkpoint's key
    events.ndjson      one canonical JSON line per stored event (sorted keys): position,
                       aggregate id, version, topic, payload (base64 of the stored bytes),
                       leaf index, inclusion proof; and ``event``, the payload decoded, to read
    checkpoint.json    the signed tree head the proofs lead to
    consistency.json   proofs that each earlier checkpoint's tree is a prefix of this one
    public-keys/*.pem  the public keys of every checkpoint key
    README.txt         what the bundle covers, for a person (``ledger.integrity.coverage``):
                       organization, period, events by type, checkpoint; made again from the
                       verified parts by ``verify_bundle``, which fails a README that differs
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ledger.integrity.checkpoint import (
    Checkpoint,
    EvidenceError,
    SigningKey,
    key_id_for,
    verify_checkpoint,
    verify_signed,
)
from ledger.integrity.coverage import README, copy_problems, coverage, readme, scope_problems
from ledger.integrity.merkle import record_leaf, verify_consistency, verify_inclusion
from ledger.integrity.statement import StatementError, event_statement

FORMAT = "campaign-decision-ledger/bundle/v1"


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def write_bundle(
    path: Path,
    *,
    events: Iterable[dict[str, Any]],
    checkpoint: Checkpoint,
    consistency: list[dict[str, Any]],
    public_pems: Mapping[str, str],
    signer: SigningKey,
    scope: dict[str, Any],
) -> int:
    """Write the bundle; returns the number of events in it."""
    lines = io.BytesIO()
    indexes, statements = [], []
    for event in events:
        lines.write(canonical(event) + b"\n")
        indexes.append(event["leaf_index"])
        statements.append(record_statement(event))
    body = lines.getvalue()
    manifest = canonical(
        {
            "format": FORMAT,
            **scope,
            "tree_size": checkpoint.tree_size,
            "key_id": signer.key_id,
            "leaf_indexes": indexes,
            "events_sha256": hashlib.sha256(body).hexdigest(),
        }
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", manifest)
        z.writestr("manifest.sig", base64.b64encode(signer.sign(manifest)))
        z.writestr("events.ndjson", body)
        z.writestr("checkpoint.json", checkpoint.to_json())
        z.writestr("consistency.json", canonical(consistency))
        z.writestr(README, readme(coverage(scope, checkpoint, statements)))
        for key_id, pem in public_pems.items():
            z.writestr(f"public-keys/{key_id}.pem", pem)
    return len(indexes)


@dataclass
class BundleReport:
    events: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # what the bundle covers, made from its verified parts (``ledger.integrity.coverage``)
    coverage: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def load_public_keys(pems: Iterable[bytes]) -> dict[str, Ed25519PublicKey]:
    keys = {}
    for pem in pems:
        key = load_pem_public_key(pem)
        if isinstance(key, Ed25519PublicKey):
            keys[key_id_for(key)] = key
    return keys


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError(f"expected base64 text, got {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as e:
        raise ValueError(f"{text[:40]!r} is not valid base64") from e


def _leaf_of(event: Mapping[str, Any]) -> bytes:
    """The leaf hash of a record given as in a bundle or receipt (payload in base64)."""
    return record_leaf(
        int(event["position"]),
        str(event["aggregate_id"]),
        int(event["version"]),
        str(event["topic"]),
        _unb64(event["payload"]),
    )


def record_statement(event: Mapping[str, Any]) -> dict[str, Any]:
    """What a record given as in a bundle or receipt says (``ledger.integrity.statement``)."""
    return event_statement(
        int(event["position"]),
        event["aggregate_id"],
        int(event["version"]),
        str(event["topic"]),
        _unb64(event["payload"]),
    )


MALFORMED = (ValueError, KeyError, TypeError, IndexError)


def verify_bundle(
    path: Path,
    trusted: Mapping[str, Ed25519PublicKey] | None = None,
    earlier: Checkpoint | None = None,
) -> BundleReport:
    """Check a bundle offline. ``trusted`` keys (from the reviewer) replace the bundle's own;
    ``earlier`` is a checkpoint the reviewer kept, to confirm the log only grew since."""
    report = BundleReport()
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            bundled = load_public_keys(z.read(n) for n in names if n.startswith("public-keys/"))
            checkpoint_text = z.read("checkpoint.json")
            manifest_bytes = z.read("manifest.json")
            body = z.read("events.ndjson")
            consistency_text = z.read("consistency.json")
            signature_text = z.read("manifest.sig")
            readme_text = z.read(README).decode("utf-8", "replace") if README in names else None
    except (zipfile.BadZipFile, KeyError, OSError) as e:
        report.problems.append(f"not a readable audit bundle: {e}")
        return report
    keys = dict(trusted) if trusted is not None else bundled
    if trusted is None:
        report.notes.append(
            "trusting the public keys inside the bundle; pass the key "
            "you trust (--public-key) for a stronger check"
        )
    try:
        checkpoint = Checkpoint.from_json(checkpoint_text)
    except MALFORMED as e:
        report.problems.append(f"checkpoint.json is malformed: {e}")
        return report
    try:
        verify_checkpoint(checkpoint, keys)
    except EvidenceError as e:
        report.problems.append(f"checkpoint: {e}")
        return report
    try:
        manifest = json.loads(manifest_bytes)
        signature = _unb64(signature_text.decode("ascii", "replace").strip())
        verify_signed(manifest_bytes, signature, manifest["key_id"], keys, "manifest")
    except EvidenceError as e:
        report.problems.append(str(e))
        return report
    except MALFORMED as e:
        report.problems.append(f"manifest.json or manifest.sig is malformed: {e}")
        return report
    if manifest.get("format") != FORMAT:
        report.problems.append(f"manifest: format is not {FORMAT}")
    if manifest.get("tree_size") != checkpoint.tree_size:
        report.problems.append("manifest: names another tree size than the checkpoint")
    if hashlib.sha256(body).hexdigest() != manifest.get("events_sha256"):
        report.problems.append("events.ndjson differs from what the signed manifest lists")
    seen, statements = [], []
    for number, line in enumerate(body.splitlines(), start=1):
        try:
            event = json.loads(line)
            seen.append(event["leaf_index"])
            leaf = _leaf_of(event)
            proof = [_unb64(h) for h in event["inclusion_proof"]]
            index = int(event["leaf_index"])
        except MALFORMED as e:
            report.problems.append(f"event {number}: the line is malformed: {e}")
            continue
        where = f"event {number} (position {event['position']}, leaf {event['leaf_index']})"
        report.events += 1
        if not verify_inclusion(index, checkpoint.tree_size, leaf, proof, checkpoint.root_hash):
            report.problems.append(
                f"{where}: its record and proof do not lead to the checkpoint's root: the "
                "event or its proof was changed"
            )
            continue
        try:
            statement = record_statement(event)
        except StatementError as e:
            report.problems.append(f"{where}: {e}")
            continue
        statements.append(statement)
        for problem in scope_problems(manifest, statement) + copy_problems(
            event.get("event"), statement
        ):
            report.problems.append(f"{where}: {problem}")
    listed = manifest.get("leaf_indexes", [])
    missing = sorted(set(listed) - set(seen))
    if missing:
        report.problems.append(
            f"events listed in the signed manifest are missing: leaves "
            f"{missing[:10]}{'...' if len(missing) > 10 else ''}"
        )
    unlisted = sorted(set(seen) - set(listed))
    if unlisted:
        report.problems.append(
            f"events not listed in the signed manifest were added: leaves {unlisted[:10]}"
        )
    report.coverage = coverage(manifest, checkpoint, statements)
    if readme_text is None:
        report.notes.append(f"the bundle has no {README} (exported before bundles had one)")
    elif report.ok and readme_text != readme(report.coverage):  # else: already failed
        report.problems.append(
            f"{README} differs from what the signed manifest, the checkpoint and the proven "
            "events say the bundle covers"
        )
    if earlier is not None:
        try:
            consistency = json.loads(consistency_text)
            _check_growth(report, earlier, checkpoint, consistency, keys)
        except MALFORMED as e:
            report.problems.append(f"consistency.json is malformed: {e}")
    return report


def _check_growth(
    report: BundleReport,
    earlier: Checkpoint,
    checkpoint: Checkpoint,
    consistency: list[dict[str, Any]],
    keys: Mapping[str, Ed25519PublicKey],
) -> None:
    try:
        verify_checkpoint(earlier, keys)
    except EvidenceError as e:
        report.problems.append(f"the earlier checkpoint: {e}")
        return
    if earlier.tree_size > checkpoint.tree_size:
        report.problems.append(
            "the earlier checkpoint is larger than the bundle's: it cannot be a prefix of it"
        )
        return
    if earlier.tree_size == checkpoint.tree_size:
        if earlier.root_hash != checkpoint.root_hash:
            report.problems.append("same size, different roots: the log was rewritten")
        else:
            report.notes.append(
                f"the log has not changed since the earlier checkpoint "
                f"({checkpoint.tree_size} events, same root)"
            )
        return
    for entry in consistency:
        if entry["from_size"] == earlier.tree_size:
            proof = [_unb64(h) for h in entry["proof"]]
            if verify_consistency(
                earlier.tree_size,
                checkpoint.tree_size,
                earlier.root_hash,
                checkpoint.root_hash,
                proof,
            ):
                report.notes.append(
                    f"the log only grew from {earlier.tree_size} to {checkpoint.tree_size} events"
                )
                return
            report.problems.append(
                "the consistency proof from the earlier checkpoint fails: "
                "the log was rewritten, not only extended"
            )
            return
    report.problems.append(
        f"the bundle holds no consistency proof from size "
        f"{earlier.tree_size}; export a new bundle from a server that "
        "published that checkpoint"
    )
