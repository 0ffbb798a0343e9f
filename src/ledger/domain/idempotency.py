"""The record of an accepted command under an actor's idempotency key.

Its id is derived from (actor, key), so the store's own primary key makes a second record
for the same key impossible: it is saved in the same transaction as the command's events,
and a concurrent duplicate fails as a conflict instead of writing twice.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from ledger.domain.base import LedgerAggregate

KEY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:campaign-decision-ledger:idempotency-key")


def record_id(actor_id: UUID, key: str) -> UUID:
    return uuid5(KEY_NAMESPACE, f"{actor_id}\n{key}")


class CommandRecord(LedgerAggregate):
    command_type: str = field(init=False)
    fingerprint: str = field(init=False)
    outcome: dict[str, Any] = field(init=False)

    class Recorded(LedgerAggregate.Created):
        idempotency_key: str
        command_type: str
        fingerprint: str
        outcome: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            aggregate.command_type = self.command_type
            aggregate.fingerprint = self.fingerprint
            aggregate.outcome = dict(self.outcome)
