"""Receipts (``Notary.receipt``) checked offline, with the public key alone.

A receipt of format ``campaign-decision-ledger/receipt/v2`` holds, beside the records and
their proofs, a ``statement`` in plain fields: for each event its type, aggregate,
organization, actor, role, party and recording time, and the key id, tree size and time of
the checkpoint (``ledger.integrity.statement``). The statement is read again from the
proven records and the verified checkpoint and must agree field by field: a receipt whose
plain fields were edited fails, naming the field.

A ``v1`` receipt (issued before statements) still verifies; its statement is read from its
records, and a note says the receipt carried none of its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.integrity.bundle import (
    MALFORMED,
    _leaf_of,
    _unb64,
    load_public_keys,
    record_statement,
)
from ledger.integrity.checkpoint import Checkpoint, EvidenceError, verify_checkpoint
from ledger.integrity.merkle import verify_inclusion
from ledger.integrity.statement import (
    StatementError,
    checkpoint_statement,
    disagreements,
)

RECEIPT_FORMAT = "campaign-decision-ledger/receipt/v2"
RECEIPT_V1 = "campaign-decision-ledger/receipt/v1"


def statement_of(
    events: Sequence[Mapping[str, Any]], checkpoint: Checkpoint | None
) -> dict[str, Any]:
    """The statement of records given as in a receipt (payload in base64)."""
    return {
        "events": [record_statement(e) for e in events],
        "checkpoint": checkpoint_statement(checkpoint) if checkpoint is not None else None,
    }


@dataclass
class ReceiptReport:
    events: int = 0
    proven: bool = False
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # what the receipt proves, read from its records and checkpoint (not from its claims)
    statement: dict[str, Any] = field(default_factory=lambda: {"events": [], "checkpoint": None})

    @property
    def ok(self) -> bool:
        return not self.problems


def _keys(
    receipt: Mapping[str, Any], trusted: Mapping[str, Ed25519PublicKey] | None, report: Any
) -> Mapping[str, Ed25519PublicKey]:
    if trusted is not None:
        return trusted
    pems = receipt.get("public_keys") or {}
    report.notes.append(
        "trusting the public keys inside the receipt; pass the key you trust for a stronger check"
    )
    return load_public_keys(str(p).encode() for p in pems.values())


def verify_receipt(
    receipt: Mapping[str, Any], trusted: Mapping[str, Ed25519PublicKey] | None = None
) -> ReceiptReport:
    """Check a receipt offline: each event's record hashes to the leaf hash it lists, and,
    once a checkpoint covers them, each inclusion proof leads to the root of that checkpoint,
    which a ``trusted`` key signed; the plain statement agrees with the records and the
    checkpoint. Without ``trusted`` the receipt's own public keys are used (weaker: say so).
    A pending receipt (no checkpoint yet) is not an error but is not ``proven``."""
    report = ReceiptReport()
    fmt = receipt.get("format")
    if fmt not in (RECEIPT_FORMAT, RECEIPT_V1):
        report.problems.append(f"not a receipt: format is not {RECEIPT_FORMAT} (or v1)")
        return report
    keys = _keys(receipt, trusted, report)
    checkpoint: Checkpoint | None = None
    if receipt.get("checkpoint") is not None:
        try:
            checkpoint = Checkpoint.from_json(json.dumps(receipt["checkpoint"]))
            verify_checkpoint(checkpoint, keys)
        except EvidenceError as e:
            report.problems.append(f"checkpoint: {e}")
            return report
        except MALFORMED as e:
            report.problems.append(f"checkpoint: malformed: {e}")
            return report
        report.statement["checkpoint"] = checkpoint_statement(checkpoint)
    for number, event in enumerate(receipt.get("events") or [], start=1):
        _check_event(report, number, event, checkpoint)
    if not report.events:
        report.problems.append("the receipt lists no events")
    if fmt == RECEIPT_V1:
        report.notes.append(
            "this receipt (format v1) states nothing in plain fields; the statement shown is "
            "read from its proven records"
        )
    else:
        _check_statement(report, receipt.get("statement"))
    report.proven = checkpoint is not None and report.ok
    if checkpoint is None and report.ok:
        report.notes.append(
            "pending: no checkpoint covered these events when the receipt was issued; fetch "
            "it again after the next checkpoint to get the proofs"
        )
    return report


def _check_event(
    report: ReceiptReport, number: int, event: Mapping[str, Any], checkpoint: Checkpoint | None
) -> None:
    try:
        leaf = _leaf_of(event)
        listed = _unb64(event["leaf_hash"])
        index = int(event["leaf_index"])
        where = f"event {number} (position {event['position']}, leaf {index})"
    except MALFORMED as e:
        report.problems.append(f"event {number}: malformed: {e}")
        return
    report.events += 1
    if leaf != listed:
        report.problems.append(f"{where}: its record does not hash to the leaf hash listed")
        return
    try:
        report.statement["events"].append(record_statement(event))
    except StatementError as e:
        report.problems.append(f"{where}: {e}")
        return
    if checkpoint is None:
        return
    try:
        proof = [_unb64(h) for h in event["inclusion_proof"]]
    except MALFORMED as e:
        report.problems.append(f"{where}: no readable inclusion proof: {e}")
        return
    if not verify_inclusion(index, checkpoint.tree_size, leaf, proof, checkpoint.root_hash):
        report.problems.append(
            f"{where}: its proof does not lead to the root of the checkpoint of size "
            f"{checkpoint.tree_size}"
        )


def _check_statement(report: ReceiptReport, claimed: Any) -> None:
    """The receipt's plain statement against the one read from what was proven."""
    if report.problems:
        return  # the records or proofs failed: there is nothing proven to compare with
    if not isinstance(claimed, Mapping):
        report.problems.append("statement: missing (a v2 receipt states what it proves)")
        return
    proven = report.statement
    extra = sorted(set(claimed) - {"events", "checkpoint"})
    if extra:
        report.problems.append(f"statement: no proof covers the fields {', '.join(extra)}")
    events = claimed.get("events")
    if not isinstance(events, list) or len(events) != len(proven["events"]):
        report.problems.append(
            f"statement: lists {len(events) if isinstance(events, list) else 'no'} events, "
            f"the receipt proves {len(proven['events'])}"
        )
        return
    for number, (said, read) in enumerate(zip(events, proven["events"], strict=True), start=1):
        for problem in disagreements(said, read):
            report.problems.append(f"statement: event {number} {problem}")
    if proven["checkpoint"] is None:
        if claimed.get("checkpoint") is not None:
            report.problems.append(
                "statement: names a checkpoint, but the receipt holds no signed checkpoint"
            )
        return
    for problem in disagreements(claimed.get("checkpoint"), proven["checkpoint"]):
        report.problems.append(f"statement: checkpoint {problem}")
