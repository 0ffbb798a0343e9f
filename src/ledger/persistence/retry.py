"""One rule for running a statement past connections that died unseen (an outage nobody
noticed, a server restart): try again, as many times as the pool may hold connections, each
dead one failing at once and being dropped by the pool; never after a pool timeout, which
means the pool already waited and the server is away. Used by the event store's recorder and
the API-key store."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POOL_TIMEOUT = "couldn't get a connection"


def past_dead_connections(
    work: Callable[[], T], *, tries: int, transient: tuple[type[BaseException], ...]
) -> T:
    """``work()``, tried up to ``tries`` times while it fails with ``transient`` errors."""
    for attempt in range(1, tries + 1):
        try:
            return work()
        except transient as e:
            if attempt == tries or POOL_TIMEOUT in str(e).lower():
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")
