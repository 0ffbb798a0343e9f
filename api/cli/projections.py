"""``ledger projections run|status|rebuild`` and ``ledger export``."""

from __future__ import annotations

import dataclasses
import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Literal
from uuid import UUID

import typer

from api.cli import exporting
from api.cli.mistakes import Mistake, require_store
from api.cli.operator import operator
from api.cli.times import From, To, period
from api.logs import configure_logging
from ledger.application.reads import Reader
from ledger.application.service import Ledger
from ledger.persistence.names import NameStore
from ledger.settings import Settings
from projections.export import prepare
from projections.queries.audit import AuditFilter
from projections.service import ReadSide
from projections.views.audit import PROJECTION as AUDIT

projections_app = typer.Typer(help="Read models built from the event log", no_args_is_help=True)


def _open(*, existing: bool = True) -> tuple[Ledger, ReadSide]:
    settings = Settings()
    if existing:
        require_store(settings)
    configure_logging(settings.log_format)
    ledger = Ledger(settings)
    return ledger, ReadSide(ledger)


@projections_app.command("run")
def run() -> None:
    """Apply new events to every projection until stopped (SIGTERM or Ctrl-C). Several
    workers may run: a lease lets one apply each projection and another take over."""
    ledger, read_side = _open(existing=False)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        read_side.run_forever(stop)
    finally:
        read_side.close()
        ledger.close()


@projections_app.command("status")
def status() -> None:
    """Position, head and lag of each projection."""
    ledger, read_side = _open()
    try:
        read_side.install()
        rows = [dataclasses.asdict(s) for s in read_side.status()]
    finally:
        read_side.close()
        ledger.close()
    typer.echo(json.dumps(rows, indent=2))


@projections_app.command("rebuild")
def rebuild(name: Annotated[str, typer.Argument(help="audit, campaigns or register")]) -> None:
    """Rebuild a projection beside the live one, then switch; the API keeps serving."""
    ledger, read_side = _open()
    try:
        read_side.install()
        result = read_side.rebuild(name)
    finally:
        read_side.close()
        ledger.close()
    typer.echo(json.dumps(dataclasses.asdict(result), indent=2))


def export(
    organization: UUID,
    fmt: Annotated[Literal["csv", "ndjson"], typer.Option("--format")] = "csv",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here (and what it holds to FILE.meta.json)"),
    ] = None,
    campaign: Annotated[UUID | None, typer.Option()] = None,
    recommendation: Annotated[UUID | None, typer.Option()] = None,
    since: From = None,
    until: To = None,
    bom: Annotated[
        bool, typer.Option("--bom", help="CSV: begin with a byte order mark (for spreadsheets)")
    ] = False,
) -> None:
    """Stream an organization's audit trail as CSV or NDJSON, in constant memory. It reads
    the views: it runs beside `ledger serve` or `ledger projections run` on the same store."""
    if bom and fmt != "csv":
        raise Mistake(f"--bom applies to CSV only, not --format {fmt}")
    start, end = period(since, until)
    settings = Settings()
    require_store(settings)
    flt = AuditFilter(
        organization_id=organization,
        campaign_id=campaign,
        recommendation_id=recommendation,
        since=start,
        until=end,
    )
    target = exporting.Target(output)  # an unwritable place is refused before any work
    configure_logging(settings.log_format, level=30)
    ledger = Ledger(settings)
    names = NameStore(settings)
    try:
        Reader(ledger).organization(operator(settings), organization)  # else: not found
        with ReadSide(ledger, projections=(AUDIT,)) as read_side:
            exporting.catch_up(read_side)
            prepared = prepare(read_side.db, flt, fmt, bom=bom, lookup=names.names_of)
            target.write(prepared)
    finally:
        target.discard()
        names.close()
        ledger.close()
