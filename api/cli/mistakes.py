"""The one place a mistake of the ``ledger`` command becomes one line: ``error: ...`` on
stderr and exit status 2, never a traceback.

What counts as a mistake (each class of it is caught in :meth:`LedgerGroup.invoke` or
:meth:`LedgerGroup.main`):

- a usage error click finds (an id that is no UUID, an unknown option or choice, a missing
  argument, a time it cannot read);
- a ``LEDGER_`` setting the ledger cannot run with (``ConfigurationError``);
- a store that refuses the connection, or no store where a read command looks for one
  (:func:`require_store`: a read command never creates a store);
- a refusal of the ledger (``LedgerError``, with its code) or of the read side
  (``ProjectionError``), a value a command refuses (pydantic's ``ValidationError``: a bad
  currency, a negative limit), a period that starts after it ends, a time
  ``ledger.periods.parse_time`` refuses (``InvalidTime``, from ``--from``/``--to``);
- a path that cannot be read or written (``OSError`` naming a file);
- :class:`Mistake`, raised by a command for anything else the user can mend.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import psycopg
import typer
from eventsourcing.persistence import InterfaceError, OperationalError
from psycopg_pool import PoolTimeout
from pydantic import ValidationError
from typer._click.exceptions import ClickException, NoArgsIsHelpError  # typer's own click
from typer.core import TyperGroup

from ledger.errors import ConfigurationError, LedgerError
from ledger.periods import InvalidTime, ReversedPeriod
from ledger.persistence.store import describe, exists
from ledger.settings import Settings
from projections.errors import ProjectionError

# A store that refuses the connection (wrong role or password, no such database, down).
UNREACHABLE = (psycopg.OperationalError, OperationalError, InterfaceError, PoolTimeout)


class Mistake(Exception):
    """Something the user can mend, said in one line."""


def one_line(text: str) -> str:
    return " ".join(text.split())


def invalid(error: ValidationError) -> str:
    """Every refused value of a command: ``field: why; ...``."""
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"])
        why = item["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {why}" if where else why)
    return "; ".join(parts)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def explain(e: BaseException) -> str | None:
    """The one line for a mistake, or None when ``e`` is no mistake of the user's."""
    if isinstance(e, Mistake | ReversedPeriod | InvalidTime):
        return str(e)
    if isinstance(e, ConfigurationError):
        return f"configuration: {e}"
    if isinstance(e, UNREACHABLE):
        return f"the store cannot be reached: {_first_line(e)}"
    if isinstance(e, LedgerError):
        return f"{e.code}: {e}"
    if isinstance(e, ProjectionError):
        return str(e)
    if isinstance(e, ValidationError):
        return invalid(e)
    if isinstance(e, OSError) and e.filename is not None:
        return f"{e.strerror or type(e).__name__}: {e.filename}"
    return None


def fail(line: str) -> typer.Exit:
    typer.echo(f"error: {one_line(line)}", err=True)
    return typer.Exit(2)


class LedgerGroup(TyperGroup):
    """The top command group: every mistake (see the module) ends any command in one line
    on stderr and exit code 2."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context: not public API
        try:
            return super().invoke(ctx)
        except Exception as e:
            line = explain(e)
            if line is None:
                raise
            raise fail(line) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's usage errors in one line too (click prints the usage and a box)."""
        try:
            result = super().main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )
        except NoArgsIsHelpError as e:  # no command: the help, exit 2
            e.show()
            result = e.exit_code
        except ClickException as e:
            message = e.format_message().replace("Value error, ", "")
            typer.echo(f"error: {one_line(message)}", err=True)
            result = 2
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            result = 1
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


def require_store(settings: Settings) -> None:
    """Refuse to go on where no ledger has been recorded: a read command must not leave an
    empty store behind in the wrong folder or schema."""
    if not exists(settings):
        raise Mistake(
            f"no ledger store at {describe(settings)}: set LEDGER_DATABASE_URL, or create "
            "one with 'ledger serve' or 'ledger demo'"
        )
