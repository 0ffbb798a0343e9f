"""One rule for running a statement past connections that died unseen (an outage nobody
noticed, a server restart): try again, as many times as the pool may hold connections, each
dead one failing at once and being dropped by the pool; never after a pool timeout, which
means the pool already waited and the server is away. A transaction the server ended because
it sat idle too long (PostgreSQL's ``idle_in_transaction_session_timeout``, 5 s in the
library, reached when a loaded machine starves the thread between two statements) is
transient too: the server rolled it back, so running the work again from the start cannot
apply it twice. Used by the event store's recorder, the API-key store and the name store."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from psycopg.errors import IdleInTransactionSessionTimeout

T = TypeVar("T")
POOL_TIMEOUT = "couldn't get a connection"


def ended_idle(error: BaseException) -> bool:
    """True when ``error`` (or what it wraps) is the server ending an idle transaction."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, IdleInTransactionSessionTimeout):
            return True
        seen = seen.__cause__
    return False


def past_dead_connections(
    work: Callable[[], T], *, tries: int, transient: tuple[type[BaseException], ...]
) -> T:
    """``work()``, tried up to ``tries`` times while it fails with ``transient`` errors."""
    for attempt in range(1, tries + 1):
        try:
            return work()
        except BaseException as e:
            if not (isinstance(e, transient) or ended_idle(e)):
                raise
            if attempt == tries or POOL_TIMEOUT in str(e).lower():
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")
