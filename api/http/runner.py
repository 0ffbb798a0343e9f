"""The command runner the POST routes are given: built once in the lifespan.

``CommandRunner`` is what a route needs (``run`` a command for an actor); ``LedgerRunner``
is the one the app builds. It hands the command to the group committer, or to the ledger
when group commit is off (both ``execute`` with the same signature), counts the outcome in
the metrics and wakes the embedded read side after an accepted command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from api.http import metrics
from ledger import commands as c
from ledger.application.results import CommandResult
from ledger.errors import LedgerError
from ledger.identity import Actor


class CommandRunner(Protocol):
    """Run one command for an actor: its result, or its LedgerError."""

    def run(
        self, command: c.Command, actor: Actor, *, correlation_id: str, idempotency_key: str | None
    ) -> CommandResult: ...


class Executor(Protocol):
    """What runs commands in this process: a GroupCommitter or the Ledger itself."""

    def execute(
        self,
        command: c.Command,
        actor: Actor,
        *,
        correlation_id: str,
        causation_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult: ...


class Nudged(Protocol):
    def nudge(self) -> None: ...


@dataclass(frozen=True)
class LedgerRunner:
    executor: Executor
    read_side: Nudged | None = None

    def run(
        self, command: c.Command, actor: Actor, *, correlation_id: str, idempotency_key: str | None
    ) -> CommandResult:
        name = type(command).__name__
        try:
            result = self.executor.execute(
                command, actor, correlation_id=correlation_id, idempotency_key=idempotency_key
            )
        except LedgerError as e:
            metrics.observe_command(name, e.code)
            raise
        metrics.observe_command(name, "replayed" if result.replayed else "accepted")
        if self.read_side is not None:
            self.read_side.nudge()
        return result
