"""The one canonical log line of a command: accepted, replayed or refused."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from ledger import commands as c
from ledger.application.results import CommandResult
from ledger.errors import LedgerError
from ledger.identity import Actor

log = structlog.get_logger("ledger.command")


def logged(
    command: c.Command,
    actor: Actor,
    correlation_id: str,
    key: str | None,
    run: Callable[[], CommandResult],
) -> CommandResult:
    """Run a command and write its one canonical log line (accepted, replayed or refused)."""
    started = time.perf_counter()
    bound = log.bind(
        command=type(command).__name__,
        actor_id=str(actor.actor_id),
        correlation_id=correlation_id,
        idempotency_key=key,
    )
    try:
        result = run()
    except LedgerError as e:
        bound.info(
            "command refused",
            outcome="refused",
            code=e.code,
            reason=str(e),
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        raise
    bound.info(
        "command accepted",
        outcome="replayed" if result.replayed else "accepted",
        aggregate_id=str(result.aggregate_id),
        version=result.version,
        position=result.position,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    return result
