"""A ledger with its Merkle log, a notary with keys under tmp_path, the ``ledger`` CLI pointed
at the same store, and raw SQL on the store to tamper with it behind the service's back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from typer.testing import CliRunner

from api.cli.main import app as cli_app
from ledger.application.service import Ledger
from ledger.integrity.keyring import Keyring
from ledger.integrity.notary import Notary
from ledger.settings import Settings
from tests.api.conftest import api  # noqa: F401 - the HTTP fixture, for receipts over HTTP
from tests.conftest import PG_URL
from tests.support import Clock, World


class Raw:
    """Plain SQL on the events table and the Merkle tables, outside the ledger."""

    def __init__(self, database_url: str) -> None:
        self.pg = database_url.startswith("postgresql")
        if self.pg:
            import psycopg

            self.schema = urlsplit(database_url).query.split("schema=")[1].split("&")[0]
            self.conn: Any = psycopg.connect(PG_URL, autocommit=True)
            self.events = f'"{self.schema}".ledger_events'
            self.pos = "notification_id"
            self.p = "%s"
            self.prefix = f'"{self.schema}".'
        else:
            path = database_url.removeprefix("sqlite:///")
            self.conn = sqlite3.connect(path, isolation_level=None, timeout=10)
            self.events = "stored_events"
            self.pos = "rowid"
            self.p = "?"
            self.prefix = ""

    def close(self) -> None:
        self.conn.close()

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        statement = statement.replace("{p}", self.p).replace("{events}", self.events)
        statement = statement.replace("{pos}", self.pos).replace("{m}", self.prefix)
        cur = self.conn.execute(statement, params)
        return [] if cur.description is None else [tuple(r) for r in cur.fetchall()]

    def positions(self) -> list[int]:
        return [r[0] for r in self.sql("SELECT {pos} FROM {events} ORDER BY {pos}")]

    def row(self, position: int) -> tuple[Any, int, str, bytes]:
        found = self.sql(
            "SELECT originator_id, originator_version, topic, state FROM {events} "
            "WHERE {pos} = {p}",
            (position,),
        )
        ident, version, topic, state = found[0]
        return ident, version, topic, bytes(state)

    def set_row(self, position: int, row: tuple[Any, int, str, bytes]) -> None:
        self.sql(
            "UPDATE {events} SET originator_id = {p}, originator_version = {p}, topic = {p}, "
            "state = {p} WHERE {pos} = {p}",
            (*row, position),
        )

    def flip_byte(self, position: int, offset: int = 10) -> None:
        ident, version, topic, state = self.row(position)
        changed = bytearray(state)
        changed[offset] ^= 0x01
        self.set_row(position, (ident, version, topic, bytes(changed)))  # stays a BLOB / bytea

    def swap(self, a: int, b: int) -> None:
        row_a, row_b = self.row(a), self.row(b)
        placeholder = uuid4().hex if not self.pg else uuid4()
        self.set_row(a, (placeholder, 0, row_a[2], row_a[3]))  # step aside (primary key)
        self.set_row(b, row_a)
        self.set_row(a, row_b)

    def delete_event(self, position: int) -> None:
        self.sql("DELETE FROM {events} WHERE {pos} = {p}", (position,))

    def insert_copy(self, position: int) -> int:
        """A new row at a new position: a copy of ``position`` under a new aggregate id."""
        _, version, topic, state = self.row(position)
        ident = uuid4() if self.pg else uuid4().hex
        self.sql(
            "INSERT INTO {events} (originator_id, originator_version, topic, state) "
            "VALUES ({p}, {p}, {p}, {p})",
            (ident, version, topic, state),
        )
        return max(self.positions())

    def cut_tail(self, count: int) -> None:
        """Delete the last ``count`` events and their leaves (not the stored nodes)."""
        for position in self.positions()[-count:]:
            self.delete_event(position)
            self.sql("DELETE FROM {m}merkle_leaves WHERE position = {p}", (position,))

    def delete_checkpoints(self) -> None:
        self.sql("DELETE FROM {m}merkle_checkpoints")


@dataclass
class Log:
    """Everything a test of the persisted log needs, on one backend."""

    database_url: str
    ledger: Ledger
    world: World
    notary: Notary
    raw: Raw
    settings: Settings
    key_path: Path
    tmp_path: Path

    def cli(self, *args: str) -> Any:
        """Run ``ledger ARGS`` against this store and key, in process."""
        env: dict[str, str | None] = {
            "LEDGER_DATABASE_URL": self.database_url,
            "LEDGER_SIGNING_KEY_PATH": str(self.key_path),
            "LEDGER_SIGNING_KEY": None,
            "LEDGER_LOG_FORMAT": "json",
        }
        return CliRunner().invoke(cli_app, list(args), env=env)

    def renotarise(self) -> Notary:
        """A notary that reloads the keyring (after a rotation by the CLI)."""
        self.notary = Notary(self.ledger, Keyring.load(self.settings))
        return self.notary

    def fill(self, count: int, batch: int = 1000) -> None:
        """Append ``count`` more stored events, copies of the last recommendation's record
        under new aggregate ids, through the recorder (so the Merkle log grows with them)."""
        last = self.raw.positions()[-1]
        _, _, topic, state = self.raw.row(last)
        for start in range(0, count, batch):
            size = min(batch, count - start)
            self.ledger.recorder.insert_events(
                [StoredEvent(uuid4(), 1, topic, state) for _ in range(size)]
            )


def settings_for(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url, signing_key_path=tmp_path / "keys" / "signing-key.pem"
    )


@pytest.fixture
def log(database_url: str, ledger: Ledger, clock: Clock, tmp_path: Path) -> Iterator[Log]:
    """A ledger with a small world (about 20 events) and a notary whose key is in tmp_path."""
    world = World(ledger, clock).setup()
    for _ in range(4):
        world.recommend()
    settings = settings_for(database_url, tmp_path)
    raw = Raw(database_url)
    try:
        yield Log(
            database_url,
            ledger,
            world,
            Notary(ledger, Keyring.load(settings)),
            raw,
            settings,
            settings.signing_key_path,
            tmp_path,
        )
    finally:
        raw.close()


def position_of(ledger: Ledger, aggregate_id: UUID, version: int = 1) -> int:
    from ledger.persistence.positions import positions_of

    return positions_of(ledger.recorder, [(aggregate_id, version)])[(aggregate_id, version)]
