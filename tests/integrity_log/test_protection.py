"""Append-only at the database (PostgreSQL): `ledger protect` installs triggers as the tables'
owner; a service role that does not own them appends and verifies, but cannot UPDATE, DELETE
or TRUNCATE, nor drop or disable the triggers. The roles are created for each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

import ledger.application.service as application
from api.cli.main import app as cli_app
from ledger.application.service import Ledger
from ledger.integrity.keyring import Keyring
from ledger.integrity.notary import Notary
from ledger.integrity.protection import (
    EVENTS_TABLE,
    MERKLE_TABLES,
    ROW_TRIGGER,
    TRUNCATE_TRIGGER,
    installed,
)
from ledger.integrity.verify import verify
from ledger.settings import Settings
from tests.conftest import PG_URL
from tests.support import Clock, World

TABLES = (EVENTS_TABLE, *MERKLE_TABLES)
A_COLUMN = {
    EVENTS_TABLE: "topic",
    "merkle_leaves": "leaf_hash",
    "merkle_nodes": "hash",
    "merkle_checkpoints": "body",
}


@dataclass
class Roles:
    schema: str
    owner: str
    service: str
    keys: Path

    def url(self, role: str) -> str:
        parts = urlsplit(PG_URL)
        host = parts.netloc.rsplit("@", 1)[-1]
        return f"postgresql://{role}@{host}{parts.path}?schema={self.schema}"

    def settings(self, role: str) -> Settings:
        return Settings(database_url=self.url(role), signing_key_path=self.keys)

    def connect(self, role: str) -> Any:
        parts = urlsplit(PG_URL)
        return psycopg.connect(
            host=parts.hostname,
            port=parts.port or 5432,
            dbname=parts.path.lstrip("/") or "postgres",
            user=role,
            autocommit=True,
        )

    def table(self, name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))


@pytest.fixture
def roles(pg_schema_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Roles]:
    """An owner role owning the test's schema, and a service role with no privileges yet.

    The administrator creates the schema for the owner, so ``store.prepare`` (which runs
    CREATE SCHEMA IF NOT EXISTS, and so needs CREATE on the database even when the schema
    exists) is skipped: neither role gets a database-wide privilege for a test.
    """
    schema = urlsplit(pg_schema_url).query.split("schema=")[1].split("&")[0]
    made = Roles(schema, f"{schema}_owner", f"{schema}_svc", tmp_path / "keys" / "signing.pem")
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        for role in (made.owner, made.service):
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(
            sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                sql.Identifier(schema), sql.Identifier(made.owner)
            )
        )
    monkeypatch.setattr(application, "prepare", lambda settings: None)
    try:
        yield made
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )
            for role in (made.owner, made.service):
                admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def protect_as(roles: Roles, role: str, *args: str) -> Any:
    env = {
        "LEDGER_DATABASE_URL": roles.url(role),
        "LEDGER_SIGNING_KEY_PATH": str(roles.keys),
        "LEDGER_LOG_FORMAT": "json",
    }
    return CliRunner().invoke(cli_app, ["protect", *args], env=env)


def refused(conn: Any, statement: sql.Composable) -> str:
    """Run one statement that must be refused; return PostgreSQL's message."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
        conn.execute(statement)
    return str(caught.value)


def count_events(roles: Roles) -> int:
    with roles.connect(roles.owner) as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(roles.table(EVENTS_TABLE))
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_protect_on_sqlite_explains_it_is_not_available(tmp_path: Path) -> None:
    """On SQLite `ledger protect` exits 2, says why, and creates no database file."""
    db = tmp_path / "ledger.db"
    result = CliRunner().invoke(
        cli_app,
        ["protect"],
        env={
            "LEDGER_DATABASE_URL": f"sqlite:///{db}",
            "LEDGER_SIGNING_KEY_PATH": str(tmp_path / "k.pem"),
        },
    )
    assert result.exit_code == 2
    assert "not available: append-only triggers need PostgreSQL" in result.stderr
    assert not db.exists()


@pytest.mark.postgres
def test_the_protected_ledger_still_appends_and_verifies_as_the_service_role(
    roles: Roles, clock: Clock
) -> None:
    """After `ledger protect --grant-to SERVICE` (twice: idempotent), the service role runs
    the ledger: it appends, checkpoints and verifies without owning a table."""
    owner = Ledger(roles.settings(roles.owner), clock=clock)
    try:
        World(owner, clock).setup()
        Notary(owner, Keyring.load(roles.settings(roles.owner))).issue_checkpoint()
    finally:
        owner.close()
    for _ in range(2):
        result = protect_as(roles, roles.owner, "--grant-to", roles.service)
        assert result.exit_code == 0, result.output
        assert f"in schema {roles.schema}: UPDATE, DELETE and TRUNCATE are refused" in (
            result.stdout
        )
    assert installed(roles.settings(roles.owner)) == {
        t: {ROW_TRIGGER, TRUNCATE_TRIGGER} for t in TABLES
    }
    before = count_events(roles)

    service = Ledger(roles.settings(roles.service), clock=clock)
    try:
        world = World(service, clock).setup()
        world.recommend()
        notary = Notary(service, Keyring.load(roles.settings(roles.service)))
        notary.issue_checkpoint()
        report = verify(service, notary.checkpoints(), dict(notary.keyring.public_keys()))
        assert report.ok, report.findings
        assert report.events == count_events(roles) > before
        assert report.checkpoints == 2
    finally:
        service.close()


@pytest.mark.postgres
def test_the_service_role_cannot_update_delete_or_truncate_nor_lift_the_triggers(
    roles: Roles, clock: Clock
) -> None:
    """As the service role, every UPDATE, DELETE and TRUNCATE on the four tables fails, and so
    do DROP TRIGGER and DISABLE TRIGGER; its EXCLUSIVE lock for appends still works."""
    owner = Ledger(roles.settings(roles.owner), clock=clock)
    try:
        World(owner, clock).setup()
        Notary(owner, Keyring.load(roles.settings(roles.owner))).issue_checkpoint()
    finally:
        owner.close()
    assert protect_as(roles, roles.owner, "--grant-to", roles.service).exit_code == 0
    before = count_events(roles)

    with roles.connect(roles.service) as conn:
        with conn.transaction():  # what every append does first
            conn.execute(
                sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(roles.table(EVENTS_TABLE))
            )
        for name in TABLES:
            table, column = roles.table(name), sql.Identifier(A_COLUMN[name])
            update = refused(conn, sql.SQL("UPDATE {} SET {} = {}").format(table, column, column))
            if name == EVENTS_TABLE:  # the UPDATE privilege is granted (for the lock)...
                assert f"UPDATE on {roles.schema}.{name} is refused" in update  # ...the trigger
            else:
                assert "permission denied" in update
            assert "permission denied" in refused(conn, sql.SQL("DELETE FROM {}").format(table))
            assert "permission denied" in refused(conn, sql.SQL("TRUNCATE {}").format(table))
            trigger = sql.Identifier(ROW_TRIGGER)
            assert "must be owner" in refused(
                conn, sql.SQL("DROP TRIGGER {} ON {}").format(trigger, table)
            )
            assert "must be owner" in refused(
                conn, sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(table, trigger)
            )
    assert count_events(roles) == before


@pytest.mark.postgres
def test_the_triggers_refuse_even_the_owner_and_a_replica_session(
    roles: Roles, clock: Clock
) -> None:
    """The owner holds every privilege yet is refused by the triggers; a superuser session in
    `session_replication_role = replica` is refused too (the triggers are ENABLE ALWAYS)."""
    owner = Ledger(roles.settings(roles.owner), clock=clock)
    try:
        World(owner, clock).setup()
    finally:
        owner.close()
    assert protect_as(roles, roles.owner).exit_code == 0
    events = roles.table(EVENTS_TABLE)
    with roles.connect(roles.owner) as conn:
        for statement in (
            sql.SQL("UPDATE {} SET topic = topic").format(events),
            sql.SQL("DELETE FROM {}").format(events),
            sql.SQL("TRUNCATE {}").format(events),
        ):
            assert "the ledger is append-only" in refused(conn, statement)
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute("SET session_replication_role = replica")
        assert "the ledger is append-only" in refused(
            admin, sql.SQL("DELETE FROM {}").format(roles.table("merkle_leaves"))
        )
