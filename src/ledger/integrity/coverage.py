"""What an audit bundle covers, said once for its README.txt and for ``ledger bundle verify``.

The coverage is made of the signed manifest (organization, period), the signed checkpoint
(``statement.checkpoint_statement``) and the statements read from the proven records
(``statement.event_statement``): the exporter writes ``README.txt`` from it, and the
verifier makes it again from what it verified and compares the two texts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ledger.integrity.checkpoint import Checkpoint
from ledger.integrity.statement import checkpoint_statement, describe_checkpoint

README = "README.txt"
ENVELOPE = ("organization_id", "actor_id", "role", "party")


def coverage(
    scope: Mapping[str, Any], checkpoint: Checkpoint, statements: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The organization, period, events by type, first and last recording time, checkpoint."""
    times = [s["recorded_at"] for s in statements]
    return {
        "organization_id": scope.get("organization_id"),
        "from": scope.get("from"),
        "to": scope.get("to"),
        "events": len(statements),
        "event_types": dict(sorted(Counter(s["event_type"] for s in statements).items())),
        "first_recorded_at": min(times) if times else None,
        "last_recorded_at": max(times) if times else None,
        "checkpoint": checkpoint_statement(checkpoint),
    }


def describe(cov: Mapping[str, Any]) -> list[str]:
    """The coverage in lines a person reads."""
    types = ", ".join(f"{name} {n}" for name, n in cov["event_types"].items())
    first, last = cov["first_recorded_at"], cov["last_recorded_at"]
    return [
        f"organization: {cov['organization_id']}",
        f"period: recorded from {cov['from'] or 'the start of the log'} (inclusive) to "
        f"{cov['to'] or 'the checkpoint'} (exclusive)",
        f"events: {cov['events']}" + (f" ({types})" if types else ""),
        f"recorded between: {first} and {last}" if first else "recorded between: no events",
        f"checkpoint: {describe_checkpoint(cov['checkpoint'])}",
    ]


def readme(cov: Mapping[str, Any]) -> str:
    """README.txt of a bundle with this coverage."""
    lines = [
        "Campaign Decision Ledger: audit bundle",
        "",
        "What it covers",
        *(f"  {line}" for line in describe(cov)),
        "",
        "Check it offline (no server, no database):",
        "  ledger bundle verify THIS-FILE.zip --public-key THE-KEY-YOU-TRUST.pem",
        "It prints the same lines as above, read again from the signed manifest, the signed",
        "checkpoint and the proven events; a README that differs fails the check.",
        "",
        "What it proves: each event in events.ndjson is, byte for byte, the event at its",
        "position in a log whose head the checkpoint signs. That the bundle holds every",
        "event of the organization and period is the server's signed word (manifest.json),",
        "not a proof. Every file is described in docs/integrity.md of the ledger.",
        "",
    ]
    return "\n".join(lines)


def scope_problems(scope: Mapping[str, Any], statement: Mapping[str, Any]) -> list[str]:
    """How a proven event falls outside the organization and period the manifest names."""
    found = []
    if statement["organization_id"] != scope.get("organization_id"):
        found.append(
            f"its record names organization {statement['organization_id']}, not the "
            f"bundle's {scope.get('organization_id')}"
        )
    when = datetime.fromisoformat(statement["recorded_at"])
    start, end = scope.get("from"), scope.get("to")
    if (start and when < datetime.fromisoformat(start)) or (
        end and when >= datetime.fromisoformat(end)
    ):
        found.append(f"it was recorded at {statement['recorded_at']}, outside the bundle's period")
    return found


def copy_problems(readable: object, statement: Mapping[str, Any]) -> list[str]:
    """Where the readable copy of an event (``event`` in events.ndjson) disagrees with its
    proven record on who acted, for which organization and when."""
    if not isinstance(readable, Mapping):
        return ["its readable copy (event) is not an object"]
    said = {**{k: readable.get(k) for k in ENVELOPE}, "recorded_at": readable.get("timestamp")}
    return [
        f"its readable copy says {k} {said[k]!r}, the proven record {statement[k]!r}"
        for k in (*ENVELOPE, "recorded_at")
        if said[k] != statement[k]
    ]
