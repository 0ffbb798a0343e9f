"""``ledger report decisions ORG``: the decision report on the command line.

It reads the views as ``ledger export`` does (beside a running server or worker, waiting
for it, or catching the register up itself), as the platform operator. A terminal gets a
table a person reads (one line per recommendation: kind, status, who recommended, every
decision, the three values side by side, authority); ``--json`` gives one JSON object per
line, the rows of ``GET /v1/organizations/{id}/decisions``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from api.cli import exporting
from api.cli.mistakes import require_store
from api.cli.operator import operator
from api.logs import configure_logging
from ledger.application.reads import Reader
from ledger.application.service import Ledger
from ledger.jsonready import jsonable
from ledger.periods import ordered, parse_time
from ledger.persistence.names import NameStore
from ledger.settings import Settings
from ledger.values import RecommendationKind, RecommendationStatus
from projections.names import named
from projections.queries.decisions import DecisionFilter, Outcome, decision_report
from projections.service import ReadSide
from projections.views.register import PROJECTION as REGISTER

report_app = typer.Typer(help="Reports read from the views", no_args_is_help=True)
FORMS = "RFC 3339 with a zone, or a date (00:00 UTC)"


def _time(flag: str, help_: str) -> Any:
    return typer.Option(flag, help=f"{help_} ({FORMS})", show_default=False)


RecommendedSince = Annotated[str | None, _time("--recommended-since", "Recommended at or after")]
RecommendedUntil = Annotated[str | None, _time("--recommended-until", "Recommended before")]
DecidedSince = Annotated[str | None, _time("--decided-since", "A decision at or after")]
DecidedUntil = Annotated[str | None, _time("--decided-until", "A decision before")]
ExecutedSince = Annotated[str | None, _time("--executed-since", "An execution at or after")]
ExecutedUntil = Annotated[str | None, _time("--executed-until", "An execution before")]
COLUMNS = ("recommended", "kind", "status", "decisions", "recommended / approved / executed")


def _bounds(since: str | None, until: str | None, names: tuple[str, str]) -> tuple[Any, Any]:
    first = None if since is None else parse_time(since, names[0])
    last = None if until is None else parse_time(until, names[1])
    ordered(first, last, names)
    return first, last


def _amount(values: dict[str, Any] | None, key: str = "budget") -> str:
    budget = (values or {}).get(key)
    if not isinstance(budget, dict):
        return ""
    return f"{budget.get('amount')} {budget.get('currency')}/{budget.get('period')}"


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(show_lines=False)
    for column in (*COLUMNS, "authority"):
        table.add_column(column)
    for row in rows:
        decisions = "; ".join(
            f"{d['outcome']} by {d.get('actor_name') or d['actor_id'][:8]} ({d['role']})"
            for d in row["decisions"]
        )
        executed = _amount(row["executed"], "budget_to") or _amount(row["executed"], "budget")
        values = " / ".join(
            (_amount(row["recommended"]), _amount(row["approved"]), executed)
        ).strip(" /")
        authority = ", ".join(sorted({x["authority"] or "?" for x in row["executions"]}))
        by = row.get("recommended_by_name") or row["recommended_by"][:8]
        table.add_row(
            f"{row['recommended_at'][:10]} {by}",
            row["kind"],
            row["status"] + (" (deviation)" if row["deviation"] else ""),
            decisions,
            values,
            authority,
        )
    return table


@report_app.command("decisions")
def decisions(
    organization: UUID,
    kind: Annotated[list[RecommendationKind] | None, typer.Option(help="Any of")] = None,
    status: Annotated[list[RecommendationStatus] | None, typer.Option(help="Any of")] = None,
    outcome: Annotated[list[Outcome] | None, typer.Option(help="One of its decisions'")] = None,
    campaign: Annotated[UUID | None, typer.Option()] = None,
    consultant: Annotated[UUID | None, typer.Option(help="Its author")] = None,
    decider: Annotated[UUID | None, typer.Option(help="One of its deciders")] = None,
    deviation: Annotated[bool | None, typer.Option("--deviation/--no-deviation")] = None,
    above_limit: Annotated[bool | None, typer.Option("--above-limit/--within-limit")] = None,
    recommended_since: RecommendedSince = None,
    recommended_until: RecommendedUntil = None,
    decided_since: DecidedSince = None,
    decided_until: DecidedUntil = None,
    executed_since: ExecutedSince = None,
    executed_until: ExecutedUntil = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Each recommendation whole: who recommended, every decision, what was executed."""
    settings = Settings()
    require_store(settings)
    names = ("--recommended-since", "--recommended-until")
    recommended = _bounds(recommended_since, recommended_until, names)
    decided = _bounds(decided_since, decided_until, ("--decided-since", "--decided-until"))
    executed = _bounds(executed_since, executed_until, ("--executed-since", "--executed-until"))
    flt = DecisionFilter(
        organization_id=organization,
        campaign_id=campaign,
        kinds=tuple(kind or ()),
        statuses=tuple(status or ()),
        consultant_id=consultant,
        decider_id=decider,
        outcomes=tuple(outcome or ()),
        deviation=deviation,
        above_limit=above_limit,
        recommended_since=recommended[0],
        recommended_until=recommended[1],
        decided_since=decided[0],
        decided_until=decided[1],
        executed_since=executed[0],
        executed_until=executed[1],
    )
    configure_logging(settings.log_format, level=30)
    ledger = Ledger(settings)
    try:
        Reader(ledger).organization(operator(settings), organization)  # else: not found
        with ReadSide(ledger, projections=(REGISTER,)) as read_side:
            exporting.catch_up(read_side)
            rows: list[dict[str, Any]] = []
            cursor: str | None = None
            while True:
                page = decision_report(
                    read_side.db, flt, now=ledger.clock(), cursor=cursor, limit=500
                )
                rows += page.items
                if not (cursor := page.next_cursor):
                    break
        directory = NameStore(settings)
        try:
            rows = named(jsonable(rows), directory.names_of)
        finally:
            directory.close()
    finally:
        ledger.close()
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    Console().print(_table(rows))
    typer.echo(f"{len(rows)} recommendation(s)")
