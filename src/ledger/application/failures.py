"""Store failures the command pipeline reads as "the event store is away" (a 503)."""

from __future__ import annotations

from eventsourcing.persistence import InterfaceError, OperationalError

from ledger.errors import StoreUnavailable

UNAVAILABLE = (OperationalError, InterfaceError)


def unreachable(error: BaseException) -> StoreUnavailable:
    """The refusal a caller gets when the store could not be reached."""
    return StoreUnavailable("the event store is unreachable", error=type(error).__name__)
