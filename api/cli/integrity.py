"""``ledger verify``, ``ledger checkpoint``, ``ledger bundle ...``, ``ledger receipt ...``,
``ledger signing-key``, ``ledger protect``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from api.cli.mistakes import Mistake, require_store
from api.cli.times import From, To, period
from api.logs import configure_logging
from ledger.application.service import Ledger
from ledger.integrity.bundle import load_public_keys, verify_bundle
from ledger.integrity.bundle_export import export_bundle
from ledger.integrity.checkpoint import Checkpoint, EvidenceError, verify_checkpoint
from ledger.integrity.coverage import describe as describe_coverage
from ledger.integrity.keyring import Keyring
from ledger.integrity.notary import Notary
from ledger.integrity.protection import ProtectionUnavailable
from ledger.integrity.protection import protect as install_protection
from ledger.integrity.protection import target as protection_target
from ledger.integrity.receipt import ReceiptReport, verify_receipt
from ledger.integrity.statement import describe_checkpoint, describe_event
from ledger.integrity.verify import verify as verify_log
from ledger.settings import Settings

bundle_app = typer.Typer(help="Offline-verifiable audit bundles", no_args_is_help=True)
signing_app = typer.Typer(help="The checkpoint signing key", no_args_is_help=True)
receipt_app = typer.Typer(help="Receipts of recorded events", no_args_is_help=True)


def _open() -> tuple[Ledger, Notary]:
    settings = Settings()
    require_store(settings)
    configure_logging(settings.log_format, level=30)
    ledger = Ledger(settings)
    return ledger, Notary(ledger, Keyring.load(settings))


def verify(
    against: Annotated[Path | None, typer.Option(help="A checkpoint file kept earlier")] = None,
) -> None:
    """Recompute the Merkle log from the stored events and check it and every checkpoint."""
    ledger, notary = _open()
    try:
        checkpoints = notary.checkpoints()
        keys = notary.keyring.public_keys()
        if against is not None:
            kept = Checkpoint.from_json(against.read_text())
            try:
                verify_checkpoint(kept, keys)
            except EvidenceError as e:
                typer.echo(f"FAILED: the checkpoint in {against}: {e}", err=True)
                raise typer.Exit(1) from None
            checkpoints.append(kept)
        tty = sys.stderr.isatty()

        def progress(n: int) -> None:
            if tty:
                typer.echo(f"\r  {n:,} events verified", err=True, nl=False)

        report = verify_log(ledger, checkpoints, dict(keys), progress)
        if tty:
            typer.echo("", err=True)
    finally:
        ledger.close()
    if not report.ok:
        typer.echo(f"FAILED at {report.findings[0]}", err=True)
        raise typer.Exit(1)
    typer.echo(f"OK: {report.events} events and {report.checkpoints} checkpoints verify")


def checkpoint(
    output: Annotated[Path | None, typer.Option(help="Also save it here")] = None,
) -> None:
    """Sign the current tree head; print it (and save it to keep as a reviewer)."""
    ledger, notary = _open()
    try:
        issued = notary.issue_checkpoint()
    finally:
        ledger.close()
    if output is not None:
        output.write_text(issued.to_json())
    typer.echo(issued.to_json())


@bundle_app.command("export")
def bundle_export(
    organization: UUID,
    output: Annotated[Path, typer.Option("--output", "-o", help="The .zip to write")],
    start: From = None,
    end: To = None,
) -> None:
    """Write an organization's events for a period, with proofs, to an audit bundle."""
    first, last = period(start, end)
    ledger, notary = _open()
    try:
        count = export_bundle(ledger, notary, output, organization, first, last)
    finally:
        ledger.close()
    typer.echo(f"wrote {count} events to {output}")


@bundle_app.command("verify")
def bundle_verify(
    bundle: Path,
    public_key: Annotated[
        list[Path] | None, typer.Option(help="A public key PEM you trust")
    ] = None,
    checkpoint_file: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint", help="A checkpoint you kept earlier: confirm the log only grew"
        ),
    ] = None,
) -> None:
    """Check a bundle offline (no server, no database); exit 0 only if every proof holds."""
    with bundle.open("rb"):  # a missing or unreadable file is a mistake, not a failed proof
        pass
    trusted = load_public_keys(p.read_bytes() for p in public_key) if public_key else None
    earlier = Checkpoint.from_json(checkpoint_file.read_text()) if checkpoint_file else None
    report = verify_bundle(bundle, trusted, earlier)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    for problem in report.problems:
        typer.echo(f"FAILED: {problem}", err=True)
    if not report.ok:
        raise typer.Exit(1)
    typer.echo(f"OK: {report.events} events verify against the signed checkpoint. It covers:")
    if report.coverage is not None:
        typer.echo("\n".join(f"  {line}" for line in describe_coverage(report.coverage)))


@signing_app.command("rotate")
def rotate() -> None:
    """Replace the signing key; old checkpoints keep verifying with the kept public key."""
    old, new = Keyring.rotate(Settings())
    typer.echo(json.dumps({"retired_key_id": old, "signing_key_id": new}))


@receipt_app.command("verify")
def receipt_verify(
    receipt: Path,
    public_key: Annotated[
        list[Path] | None, typer.Option(help="A public key PEM you trust")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the verdict and statement as JSON")
    ] = False,
) -> None:
    """Check a saved receipt offline and say what it proves: exit 0 when proven, 1 when it
    fails, 2 when pending."""
    trusted = load_public_keys(p.read_bytes() for p in public_key) if public_key else None
    try:
        data = json.loads(receipt.read_text())
    except ValueError as e:
        typer.echo(f"FAILED: {receipt} is not JSON: {e}", err=True)
        raise typer.Exit(1) from None
    if not isinstance(data, dict):
        kind = {list: "a list", str: "a string", type(None): "null", bool: "a boolean"}
        held = kind.get(type(data), "a number")
        raise Mistake(f"{receipt} is not a receipt: it holds {held}, not a JSON object")
    report = verify_receipt(data, trusted)
    status = "failed" if not report.ok else "proven" if report.proven else "pending"
    if as_json:
        verdict = {"status": status, "events": report.events, "statement": report.statement}
        typer.echo(json.dumps({**verdict, "problems": report.problems, "notes": report.notes}))
    else:
        for note in report.notes:
            typer.echo(f"note: {note}", err=True)
        for problem in report.problems:
            typer.echo(f"FAILED: {problem}", err=True)
        if report.ok:
            typer.echo("\n".join(receipt_lines(report)))
    if not report.ok:
        raise typer.Exit(1)
    if not report.proven:
        raise typer.Exit(2)


def receipt_lines(report: ReceiptReport) -> list[str]:
    """What a verified receipt proves, in lines a person reads."""
    cp = report.statement["checkpoint"]
    head = (
        f"OK: {report.events} events are proven in {describe_checkpoint(cp)}:"
        if cp is not None
        else f"PENDING: {report.events} events hash as listed; no proof yet. They say:"
    )
    return [head] + [f"  {describe_event(e)}" for e in report.statement["events"]]


def protect(
    grant_to: Annotated[
        str | None, typer.Option(help="Also grant this service role what it needs")
    ] = None,
) -> None:
    """PostgreSQL only: refuse UPDATE, DELETE and TRUNCATE on the events and Merkle tables
    (run as the tables' owner; see docs/integrity.md for the role setup)."""
    settings = Settings()
    configure_logging(settings.log_format, level=30)
    try:
        protection_target(settings)  # PostgreSQL only: refuse before touching any store
        Ledger(settings).close()  # creates the tables when the owner runs it first
        where = install_protection(settings, grant_to)
    except ProtectionUnavailable as e:
        raise Mistake(f"not available: {e}") from None
    typer.echo(
        f"protected {', '.join(where.tables)} in schema {where.schema}: UPDATE, DELETE and "
        "TRUNCATE are refused"
    )
