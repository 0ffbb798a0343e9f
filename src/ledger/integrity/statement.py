"""What a proven record says, in plain fields: the statement beside a receipt's or a bundle's
proofs, read from the stored bytes the proofs cover, so a verifier can check it.

A stored payload is the JSON of ``eventsourcing``'s transcoder (ADR 0001): plain JSON, with
ids, decimals and instants as ``{"_type_": ..., "_data_": ...}``. It is read here with
``json`` alone, as any reviewer's tool would, not with the application's mapper.

- ``event_statement`` the event type, aggregate, organization, actor, role, party and
  recording time of one record (position, aggregate id, version, topic, payload);
- ``checkpoint_statement`` the key id and the checkpoint's size and time;
- ``disagreements`` the fields a claimed statement gets wrong, named, including any field
  the proof does not cover.

``StatementError`` (a ``ValueError``: the input is malformed, not evidence) is raised for a
payload that is not such JSON or lacks the envelope.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.integrity.checkpoint import Checkpoint
from ledger.jsonready import instant

EVENT_FIELDS = (
    "position",
    "event_type",
    "aggregate_type",
    "aggregate_id",
    "aggregate_version",
    "organization_id",
    "actor_id",
    "role",
    "party",
    "recorded_at",
)
CHECKPOINT_FIELDS = ("key_id", "tree_size", "issued_at")


class StatementError(ValueError):
    """A stored payload the statement cannot be read from."""


def _tagged(value: Any, tag: str, field: str) -> str:
    if not (isinstance(value, dict) and value.get("_type_") == tag):
        raise StatementError(f"the payload's {field} is not a {tag} value: {value!r:.80}")
    data = value.get("_data_")
    if not isinstance(data, str):
        raise StatementError(f"the payload's {field} has no text: {value!r:.80}")
    return data


def _uuid(value: Any, field: str) -> str:
    try:
        return str(UUID(_tagged(value, "uuid_hex", field)))
    except ValueError as e:
        raise StatementError(f"the payload's {field} is not an id: {e}") from None


def _text(state: Mapping[str, Any], field: str) -> str:
    value = state.get(field)
    if not isinstance(value, str):
        raise StatementError(f"the payload has no {field}")
    return value


def read_payload(payload: bytes) -> dict[str, Any]:
    """The stored payload as a JSON object."""
    try:
        state = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as e:
        raise StatementError(f"the payload is not JSON: {e}") from None
    if not isinstance(state, dict):
        raise StatementError("the payload is not a JSON object")
    return state


def organization_of(payload: bytes) -> str:
    """The organization id a stored payload names, in canonical UUID text."""
    return _uuid(read_payload(payload).get("organization_id"), "organization_id")


def event_statement(
    position: int, aggregate_id: object, version: int, topic: str, payload: bytes
) -> dict[str, Any]:
    """What one stored record says (fields in ``EVENT_FIELDS`` order)."""
    state = read_payload(payload)
    module, sep, qualname = topic.partition(":")
    if not (module and sep and qualname):
        raise StatementError(f"the topic {topic!r:.80} is not module:Class")
    recorded = _tagged(state.get("timestamp"), "datetime_iso", "timestamp")
    try:
        recorded_at = instant(datetime.fromisoformat(recorded))
    except ValueError as e:
        raise StatementError(f"the payload's timestamp is not a UTC time: {e}") from None
    return {
        "position": int(position),
        "event_type": qualname,
        "aggregate_type": qualname.split(".")[0],
        "aggregate_id": str(UUID(str(aggregate_id))),
        "aggregate_version": int(version),
        "organization_id": _uuid(state.get("organization_id"), "organization_id"),
        "actor_id": _uuid(state.get("actor_id"), "actor_id"),
        "role": _text(state, "role"),
        "party": _text(state, "party"),
        "recorded_at": recorded_at,
    }


def checkpoint_statement(checkpoint: Checkpoint) -> dict[str, Any]:
    """The key that signed and the tree size and time it signed."""
    return {
        "key_id": checkpoint.key_id,
        "tree_size": checkpoint.tree_size,
        "issued_at": instant(checkpoint.issued_at),
    }


def disagreements(claimed: object, proven: Mapping[str, Any]) -> list[str]:
    """Each field of ``claimed`` that differs from ``proven``, or that ``proven`` lacks (a
    plain field no proof covers), as ``"field: says X, the proof says Y"``."""
    if not isinstance(claimed, Mapping):
        return [f"is not an object: {claimed!r:.80}"]
    found = [
        f"{name}: says {claimed.get(name)!r}, the proof says {value!r}"
        for name, value in proven.items()
        if claimed.get(name) != value
    ]
    found += [f"{name}: no proof covers this field" for name in claimed if name not in proven]
    return found


def describe_event(statement: Mapping[str, Any]) -> str:
    """One line a person reads: what, to which aggregate, for whom, by whom, when."""
    return (
        f"position {statement['position']}: {statement['event_type']} of "
        f"{statement['aggregate_type'].lower()} {statement['aggregate_id']} (version "
        f"{statement['aggregate_version']}) in organization {statement['organization_id']}, "
        f"by actor {statement['actor_id']} as {statement['role']} ({statement['party']}), "
        f"recorded at {statement['recorded_at']}"
    )


def describe_checkpoint(statement: Mapping[str, Any]) -> str:
    return (
        f"the checkpoint of tree size {statement['tree_size']} issued at "
        f"{statement['issued_at']}, signed by key {statement['key_id']}"
    )
