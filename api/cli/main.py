"""The ``ledger`` command line: servers, demo data and administration.

It stands at the edge beside the HTTP API (it composes ledger, projections and api), so
that the ``ledger`` package never imports upwards.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID, uuid4

import typer

from api.cli import integrity as integrity_cli
from api.cli import names as names_cli
from api.cli import projections as projections_cli
from api.cli import reports as reports_cli
from api.cli import serving
from api.cli.demo import seed_store
from api.cli.mistakes import LedgerGroup, Mistake, require_store
from api.cli.operator import operator
from api.keys import KeyStore
from api.logs import configure_logging
from ledger import commands as c
from ledger.application.service import Ledger
from ledger.persistence.store import describe, eventsourcing_env
from ledger.settings import Settings
from ledger.values import Channel, MemberRole

app = typer.Typer(
    help="Campaign Decision Ledger",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LedgerGroup,
)
orgs = typer.Typer(help="Organizations", no_args_is_help=True)
roles = typer.Typer(help="Memberships (roles) in an organization", no_args_is_help=True)
engagements = typer.Typer(help="Engagements of agencies", no_args_is_help=True)
keys_app = typer.Typer(help="API keys", no_args_is_help=True)
app.add_typer(orgs, name="orgs")
app.add_typer(roles, name="roles")
app.add_typer(engagements, name="engagements")
app.add_typer(keys_app, name="keys")
app.add_typer(names_cli.names_app, name="names")
app.add_typer(integrity_cli.bundle_app, name="bundle")
app.add_typer(projections_cli.projections_app, name="projections")
app.add_typer(reports_cli.report_app, name="report")
app.command()(projections_cli.export)
app.add_typer(integrity_cli.signing_app, name="signing-key")
app.command()(integrity_cli.verify)
app.command()(integrity_cli.checkpoint)
app.command()(integrity_cli.protect)
app.add_typer(integrity_cli.receipt_app, name="receipt")

DEMO_FILE = Path(".ledger/demo.json")


def run(command: c.Command) -> None:
    configure_logging(Settings().log_format, level=30)  # stdout holds the result alone
    ledger = Ledger(Settings())
    try:
        result = ledger.execute(command, operator())  # a refusal: one line (api.cli.mistakes)
    finally:
        ledger.close()
    typer.echo(json.dumps(result.as_dict(), indent=2))


def _write_demo(data: dict[str, Any]) -> None:
    DEMO_FILE.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(DEMO_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)


def _store_is_empty(settings: Settings) -> bool:
    ledger = Ledger(settings)
    try:
        return not ledger.recorder.max_notification_id()
    finally:
        ledger.close()


@app.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print ids and keys as JSON")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help=f"Seed another dataset into a store that is not empty (and replace {DEMO_FILE})",
        ),
    ] = False,
) -> None:
    """Seed a realistic demo dataset into an empty store and issue demo API keys."""
    settings = Settings()
    configure_logging("json" if as_json else settings.log_format, level=30)
    if not force and not _store_is_empty(settings):
        raise Mistake(
            f"the store {describe(settings)} is not empty: 'ledger demo' seeds an empty one "
            f"(--force seeds another dataset beside it and replaces {DEMO_FILE})"
        )
    data = seed_store(settings)
    _write_demo(data)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"Seeded {describe(settings)}; ids and API keys saved to {DEMO_FILE}")
    for name, person in data["actors"].items():
        typer.echo(f"  {name:<14} {person['api_key']}")


@app.command("demo-env")
def demo_env(path: Annotated[Path, typer.Option(help="The demo file")] = DEMO_FILE) -> None:
    """Print shell exports of the demo's keys and ids: eval "$(ledger demo-env)"."""
    if not path.exists():
        raise Mistake(f"no demo data at {path}: run 'ledger demo' or 'ledger serve --demo'")
    try:
        data = json.loads(path.read_text())
        lines = [f"export {name.upper()}={p['api_key']}" for name, p in data["actors"].items()]
        lines += [f"export {n.upper()}_ID={p['actor_id']}" for n, p in data["actors"].items()]
        lines += [f"export ORG_{k[-1].upper()}={v}" for k, v in data["organizations"].items()]
        lines += [f"export ENG_{k[-1].upper()}={v}" for k, v in data["engagements"].items()]
        lines += [f"export CAMPAIGN_{k.upper()}={v}" for k, v in data["campaigns"].items()]
        lines += [f"export REC_{k.upper()}={v}" for k, v in data["recommendations"].items()]
        lines += [f"export AGENCY={data['agency_id']}"] if "agency_id" in data else []
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise Mistake(f"{path} is not the file 'ledger demo' writes ({type(e).__name__})") from None
    typer.echo("\n".join(lines))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    limit: Annotated[
        int,
        typer.Option(
            "--limit-concurrency",
            help="Outer guard: connections (idle ones too) a worker keeps; beyond it uvicorn "
            "answers a plain 503. Keep it well above LEDGER_MAX_IN_FLIGHT (0: no limit)",
        ),
    ] = serving.CONNECTIONS_PER_WORKER,
    with_demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Seed demo data into an empty store first (keys saved to .ledger/demo.json)",
        ),
    ] = False,
) -> None:
    """Start the HTTP API (uvicorn) on the configured store."""
    settings = Settings()
    eventsourcing_env(settings)  # a store the ledger cannot use stops here, in one line
    configure_logging(settings.log_format)
    if with_demo and _store_is_empty(settings):
        _write_demo(seed_store(settings))
        typer.echo(f"Demo data seeded; API keys are in {DEMO_FILE}", err=True)
    elif with_demo:
        typer.echo(f"Store not empty; demo keys (if seeded here) are in {DEMO_FILE}", err=True)
    typer.echo(f"Serving {describe(settings)} on http://{host}:{port} (docs at /docs)", err=True)
    serving.serve(
        "api.http.app:create_app", host=host, port=port, workers=workers, limit_concurrency=limit
    )


@app.command()
def openapi(output: Annotated[Path | None, typer.Option(help="Write to this file")] = None) -> None:
    """Print (or write) the OpenAPI document of the HTTP API."""
    from api.http.app import create_app

    text = openapi_text(create_app(Settings(database_url="memory://", allow_memory=True)))
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text)


def openapi_text(application: Any) -> str:
    return json.dumps(application.openapi(), indent=2, sort_keys=True) + "\n"


@orgs.command("create")
def org_create(
    name: str,
    currency: Annotated[str, typer.Option()] = "EUR",
    approval_limit: Annotated[str, typer.Option()] = "1000",
) -> None:
    """Create an organization (as the platform operator)."""
    try:
        limit = Decimal(approval_limit)
    except InvalidOperation:
        raise Mistake(f"--approval-limit must be a decimal, not {approval_limit!r}") from None
    run(c.CreateOrganization(name=name, default_currency=currency, approval_limit=limit))


@roles.command("grant")
def role_grant(organization: UUID, actor: UUID, role: MemberRole) -> None:
    """Grant ROLE in ORGANIZATION to ACTOR."""
    run(c.GrantMembership(organization_id=organization, member_id=actor, member_role=role))


@roles.command("revoke")
def role_revoke(
    organization: UUID, actor: UUID, role: MemberRole, reason: Annotated[str, typer.Option()]
) -> None:
    """Revoke ROLE in ORGANIZATION from ACTOR."""
    run(
        c.RevokeMembership(
            organization_id=organization, member_id=actor, member_role=role, reason=reason
        )
    )


@engagements.command("start")
def engagement_start(
    organization: UUID,
    agency: Annotated[UUID, typer.Option()],
    consultant: Annotated[list[UUID], typer.Option(help="Repeat for each consultant")],
    channel: Annotated[list[Channel], typer.Option(help="Repeat for each channel")],
    days: Annotated[int, typer.Option(help="Length from now, in days")] = 365,
) -> None:
    """Start an engagement of AGENCY's consultants in ORGANIZATION."""
    now = datetime.now(UTC)
    run(
        c.StartEngagement(
            organization_id=organization,
            agency_id=agency,
            consultant_ids=tuple(consultant),
            channels=tuple(channel),
            starts_at=now,
            ends_at=now + timedelta(days=days),
        )
    )


@engagements.command("end")
def engagement_end(
    organization: UUID, engagement: UUID, reason: Annotated[str, typer.Option()]
) -> None:
    """End an engagement."""
    run(c.EndEngagement(organization_id=organization, engagement_id=engagement, reason=reason))


@keys_app.command("create")
def key_create(
    actor: Annotated[UUID | None, typer.Argument(help="Actor id (new if omitted)")] = None,
    is_operator: Annotated[bool, typer.Option("--operator")] = False,
    label: Annotated[str, typer.Option()] = "",
) -> None:
    """Issue an API key; it is printed once and only its hash is stored."""
    store = KeyStore(Settings())
    try:
        issued = store.issue(actor or uuid4(), operator=is_operator, label=label)
    finally:
        store.close()
    typer.echo(
        json.dumps(
            {
                "key_id": issued.key_id,
                "actor_id": str(issued.actor_id),
                "operator": issued.operator,
                "api_key": issued.token,
            },
            indent=2,
        )
    )


@keys_app.command("revoke")
def key_revoke(key_id: str) -> None:
    """Revoke an API key by its id."""
    settings = Settings()
    require_store(settings)
    store = KeyStore(settings)
    try:
        if not store.revoke(key_id):
            raise Mistake(f"no active key has the id {key_id!r}")
    finally:
        store.close()
    typer.echo(f"revoked {key_id}")


def main() -> None:  # pragma: no cover - console entry
    app(sys.argv[1:])
