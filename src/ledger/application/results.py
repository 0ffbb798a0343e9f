"""What a command returns: what changed, where it sits in the log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

EVENT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:campaign-decision-ledger:event")


def event_id(aggregate_id: UUID, version: int) -> UUID:
    """A stable id for a stored event, derived from its place in its aggregate."""
    return uuid5(EVENT_NAMESPACE, f"{aggregate_id}:{version}")


@dataclass(frozen=True)
class EventRef:
    aggregate_id: UUID
    version: int
    type: str
    position: int

    @property
    def event_id(self) -> UUID:
        return event_id(self.aggregate_id, self.version)

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "aggregate_id": str(self.aggregate_id),
            "version": self.version,
            "type": self.type,
            "position": self.position,
        }


@dataclass(frozen=True)
class CommandResult:
    command: str
    aggregate_type: str
    aggregate_id: UUID
    version: int
    position: int
    events: list[EventRef]
    created: bool
    resource_id: UUID | None = None
    replayed: bool = field(default=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "aggregate_type": self.aggregate_type,
            "aggregate_id": str(self.aggregate_id),
            "resource_id": str(self.resource_id or self.aggregate_id),
            "version": self.version,
            "position": self.position,
            "created": self.created,
            "events": [e.as_dict() for e in self.events],
        }
