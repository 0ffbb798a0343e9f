"""``ledger names set|show|history|erase``: the name directory, as the CLI's operator
(``LEDGER_OPERATOR_ID``). Each change is recorded in the name's history ``via`` ``cli``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar
from uuid import UUID

import typer
from pydantic import ValidationError

from api.cli.mistakes import Mistake, require_store
from api.cli.operator import operator
from api.logs import configure_logging
from ledger.application.names import Directory
from ledger.application.service import Ledger
from ledger.identity import Actor
from ledger.jsonready import jsonable
from ledger.names import NameKind, SetName
from ledger.persistence.names import NameStore
from ledger.settings import Settings
from projections.names import named

names_app = typer.Typer(
    help="Display names of actors, organizations and agencies", no_args_is_help=True
)
T = TypeVar("T")
VIA = "cli"
Org = Annotated[
    UUID | None, typer.Option("--organization", help="Act as this organization's admin")
]


def _operator() -> Actor:
    return operator()  # the one definition of whom the CLI acts as (api.cli.operator)


@contextmanager
def _directory(*, existing: bool) -> Iterator[tuple[Directory, NameStore]]:
    settings = Settings()
    if existing:  # show, history, erase: a store without a ledger has no name to read
        require_store(settings)
    configure_logging(settings.log_format, level=30)
    ledger, store = Ledger(settings), NameStore(settings)
    try:
        yield Directory(ledger, store), store
    finally:
        store.close()
        ledger.close()


def _print(work: Callable[[Directory], Any], *, existing: bool = True) -> None:
    with _directory(existing=existing) as (directory, store):
        body = jsonable(work(directory))
        typer.echo(json.dumps(named(body, store.names_of), indent=2))


def _plain(value: Any) -> Any:
    return dataclasses.asdict(value)


@names_app.command("set")
def set_name(subject: UUID, kind: NameKind, name: str, organization: Org = None) -> None:
    """Give an id (actor, organization or agency) its display name."""
    try:
        command = SetName(subject_id=subject, kind=kind, name=name)
    except ValidationError as e:
        problems = "; ".join(err["msg"] for err in e.errors(include_url=False))
        raise Mistake(f"the name is refused: {problems}") from None
    _print(lambda d: _plain(d.set(_operator(), command, organization, VIA)), existing=False)


@names_app.command("show")
def show(subject: UUID, organization: Org = None) -> None:
    """The name an id has now."""
    _print(lambda d: _plain(d.show(_operator(), subject, organization)))


@names_app.command("history")
def history(subject: UUID, organization: Org = None) -> None:
    """Who set which name of an id, when and from what."""
    _print(lambda d: [_plain(c) for c in d.history(_operator(), subject, organization)])


@names_app.command("erase")
def erase(subject: UUID, organization: Org = None) -> None:
    """Erase an id's name and every trace of it in the history (right to erasure)."""
    _print(lambda d: _plain(d.erase(_operator(), subject, organization, VIA)))
