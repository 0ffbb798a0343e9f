"""Who is acting: an actor id, never a name or an e-mail."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Actor:
    """The authenticated caller. ``operator`` marks the platform's own administrators,
    who create organizations and grant their first roles. ``system`` marks the ledger's own
    read side acting by itself (it records expiries); no credential ever yields it."""

    actor_id: UUID
    operator: bool = False
    system: bool = False


SYSTEM_ACTOR_ID = UUID(int=1)  # 00000000-0000-0000-0000-000000000001, shown in docs/events.md
SYSTEM = Actor(SYSTEM_ACTOR_ID, system=True)
"""The ledger's read side acting by itself: the expiry sweep issues its commands as this."""
