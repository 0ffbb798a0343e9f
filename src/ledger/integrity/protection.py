"""Append-only at the database: PostgreSQL triggers that refuse UPDATE, DELETE and TRUNCATE on
the events table and the Merkle tables of the ledger's schema.

``protect`` installs them, idempotently, as the tables' owner: one trigger function, a
``BEFORE UPDATE OR DELETE ... FOR EACH ROW`` trigger and a ``BEFORE TRUNCATE ... FOR EACH
STATEMENT`` trigger per table, each enabled ``ALWAYS`` so that not even a session in
``session_replication_role = replica`` skips it. Only the owner of a table (or a superuser)
can drop or disable its triggers, so a service role that is not the owner cannot change or
remove a stored row, even though it holds the UPDATE privilege that PostgreSQL requires for
``LOCK TABLE ... IN EXCLUSIVE MODE`` (the lock that serialises appends).

``service_grants`` lists the privileges such a service role needs (see docs/integrity.md).
The triggers are a second line behind the Merkle log: the owner can still drop them, and
``ledger verify`` (with checkpoints kept outside the database) is what detects a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.persistence.store import APP_NAME, backend, pg_params, postgres
from ledger.settings import Settings

FUNCTION = "ledger_refuse_change"
ROW_TRIGGER = "ledger_append_only"
TRUNCATE_TRIGGER = "ledger_no_truncate"
MERKLE_TABLES = ("merkle_leaves", "merkle_nodes", "merkle_checkpoints")
EVENTS_TABLE = f"{APP_NAME}_events"


class ProtectionUnavailable(RuntimeError):
    """The store is not PostgreSQL, or the tables to protect do not exist yet."""


@dataclass(frozen=True)
class Target:
    """Where the ledger's tables are, and how to connect to them."""

    schema: str
    connect: dict[str, Any]

    @property
    def tables(self) -> tuple[str, ...]:
        return (EVENTS_TABLE, *MERKLE_TABLES)


def target(settings: Settings) -> Target:
    if backend(settings) != "postgres":
        raise ProtectionUnavailable(
            "append-only triggers need PostgreSQL: an SQLite file is protected by file "
            "permissions only, and by 'ledger verify' with checkpoints kept elsewhere"
        )
    return Target(schema=postgres(settings).schema or "public", connect=pg_params(settings))


def _statements(schema: str, tables: tuple[str, ...]) -> list[Any]:
    from psycopg import sql

    s, fn = sql.Identifier(schema), sql.Identifier(FUNCTION)
    out: list[Any] = [
        sql.SQL(
            "CREATE OR REPLACE FUNCTION {}.{}() RETURNS trigger LANGUAGE plpgsql AS $body$ "
            "BEGIN RAISE EXCEPTION 'ledger: % on %.% is refused: the ledger is append-only', "
            "TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; "
            "END $body$"
        ).format(s, fn),
        sql.SQL("REVOKE ALL ON FUNCTION {}.{}() FROM PUBLIC").format(s, fn),
    ]
    for table in tables:
        t = sql.Identifier(table)
        row, trunc = sql.Identifier(ROW_TRIGGER), sql.Identifier(TRUNCATE_TRIGGER)
        out += [
            sql.SQL("DROP TRIGGER IF EXISTS {} ON {}.{}").format(row, s, t),
            sql.SQL(
                "CREATE TRIGGER {} BEFORE UPDATE OR DELETE ON {}.{} "
                "FOR EACH ROW EXECUTE FUNCTION {}.{}()"
            ).format(row, s, t, s, fn),
            sql.SQL("ALTER TABLE {}.{} ENABLE ALWAYS TRIGGER {}").format(s, t, row),
            sql.SQL("DROP TRIGGER IF EXISTS {} ON {}.{}").format(trunc, s, t),
            sql.SQL(
                "CREATE TRIGGER {} BEFORE TRUNCATE ON {}.{} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {}.{}()"
            ).format(trunc, s, t, s, fn),
            sql.SQL("ALTER TABLE {}.{} ENABLE ALWAYS TRIGGER {}").format(s, t, trunc),
        ]
    return out


def service_grants(schema: str, role: str) -> list[Any]:
    """The privileges of a service role that reads and appends but owns nothing.

    UPDATE on the events table is there only because ``LOCK TABLE ... IN EXCLUSIVE MODE``
    requires UPDATE, DELETE or TRUNCATE privilege; the row trigger refuses every UPDATE.
    """
    from psycopg import sql

    s, r = sql.Identifier(schema), sql.Identifier(role)
    out: list[Any] = [sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r)]
    for table in (EVENTS_TABLE, *MERKLE_TABLES):
        out.append(
            sql.SQL("GRANT SELECT, INSERT ON {}.{} TO {}").format(s, sql.Identifier(table), r)
        )
    out += [
        sql.SQL("GRANT UPDATE ON {}.{} TO {}").format(s, sql.Identifier(EVENTS_TABLE), r),
        sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(s, r),
    ]
    return out


def protect(settings: Settings, grant_to: str | None = None) -> Target:
    """Install the append-only triggers (idempotent), connected as the configured user, who
    must own the tables; with ``grant_to``, also grant that service role what it needs."""
    import psycopg

    where = target(settings)
    with psycopg.connect(**where.connect) as conn:
        missing = [
            t
            for t in where.tables
            if conn.execute(
                "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text))", (where.schema, t)
            ).fetchone()
            == (None,)
        ]
        if missing:
            raise ProtectionUnavailable(
                f"no table {', '.join(missing)} in schema {where.schema}: start the ledger "
                "once (as the owner) to create them"
            )
        with conn.transaction():
            for statement in _statements(where.schema, where.tables):
                conn.execute(statement)
            if grant_to:
                for statement in service_grants(where.schema, grant_to):
                    conn.execute(statement)
    return where


def installed(settings: Settings) -> dict[str, set[str]]:
    """For each protected table, which of the ledger's triggers are present and enabled."""
    import psycopg

    where = target(settings)
    found: dict[str, set[str]] = {t: set() for t in where.tables}
    with psycopg.connect(**where.connect) as conn:
        rows = conn.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND t.tgname IN (%s, %s) AND t.tgenabled = 'A'",
            (where.schema, ROW_TRIGGER, TRUNCATE_TRIGGER),
        ).fetchall()
    for table, trigger in rows:
        if table in found:
            found[table].add(trigger)
    return found
