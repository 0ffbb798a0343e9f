"""Which failures the store runs its work again past (``ledger.persistence.retry``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eventsourcing.persistence import InternalError, OperationalError
from psycopg.errors import IdleInTransactionSessionTimeout

from ledger.persistence.retry import past_dead_connections

pytestmark = pytest.mark.rules


def failing(*errors: BaseException) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "done"

    return calls, work


def wrapped(cause: BaseException) -> InternalError:
    error = InternalError(str(cause))
    error.__cause__ = cause
    return error


def test_a_transaction_the_server_ended_as_idle_is_run_again() -> None:
    calls, work = failing(wrapped(IdleInTransactionSessionTimeout("idle too long")))
    assert past_dead_connections(work, tries=3, transient=(OperationalError,)) == "done"
    assert len(calls) == 2


def test_another_internal_error_is_not_run_again() -> None:
    calls, work = failing(InternalError("a constraint the code broke"))
    with pytest.raises(InternalError):
        past_dead_connections(work, tries=3, transient=(OperationalError,))
    assert len(calls) == 1


def test_a_dead_connection_is_run_again_but_not_past_a_pool_timeout() -> None:
    calls, work = failing(OperationalError("server closed the connection"))
    assert past_dead_connections(work, tries=3, transient=(OperationalError,)) == "done"
    calls, work = failing(OperationalError("couldn't get a connection after 5 s"))
    with pytest.raises(OperationalError):
        past_dead_connections(work, tries=3, transient=(OperationalError,))
    assert len(calls) == 1
