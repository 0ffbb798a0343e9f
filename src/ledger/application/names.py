"""The name directory as a service: load what the policy needs, ask it, then change or read
the store (``ledger.persistence.names``). The HTTP routes and the CLI both call this.

An organization is named by the caller when it acts as that organization's admin (or reads
a name as one who sees it); an operator needs none. Nothing here appends an event: names are
not evidence (ADR 0015).
"""

from __future__ import annotations

from uuid import UUID

from ledger.application.reads import Reader
from ledger.application.service import Ledger
from ledger.domain.organization import Organization
from ledger.errors import NotFound
from ledger.identity import Actor
from ledger.names import NameChange, NameEntry, NameKind, SetName
from ledger.persistence.names import NameStore
from ledger.policy.names import may_manage_name, may_read_name


class Directory:
    def __init__(self, ledger: Ledger, store: NameStore) -> None:
        self.reader = Reader(ledger)
        self.store = store

    def _org(self, actor: Actor, organization_id: UUID | None) -> Organization | None:
        return None if organization_id is None else self.reader.organization(actor, organization_id)

    def _kind(self, subject_id: UUID) -> NameKind:
        entry = self.store.get(subject_id)
        return entry.kind if entry is not None else NameKind.ACTOR

    def set(
        self, actor: Actor, command: SetName, organization_id: UUID | None, via: str
    ) -> NameChange:
        org = self._org(actor, organization_id)
        may_manage_name(actor, command.subject_id, command.kind, org)
        return self.store.set(command, actor.actor_id, via)

    def erase(
        self, actor: Actor, subject_id: UUID, organization_id: UUID | None, via: str
    ) -> NameChange:
        org = self._org(actor, organization_id)
        may_manage_name(actor, subject_id, self._kind(subject_id), org)
        return self.store.erase(subject_id, actor.actor_id, via)

    def history(
        self, actor: Actor, subject_id: UUID, organization_id: UUID | None
    ) -> list[NameChange]:
        org = self._org(actor, organization_id)
        may_manage_name(actor, subject_id, self._kind(subject_id), org)
        return self.store.history(subject_id)

    def show(self, actor: Actor, subject_id: UUID, organization_id: UUID | None) -> NameEntry:
        may_read_name(actor, subject_id, self._org(actor, organization_id))
        entry = self.store.get(subject_id)
        if entry is None:
            raise NotFound("the id has no name", subject_id=subject_id)
        return entry
