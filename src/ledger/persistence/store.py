"""Which event store the ledger writes to, from ``LEDGER_DATABASE_URL``.

unset            an SQLite file ``ledger.db`` in the working directory (embedded default)
sqlite:///PATH   an SQLite file at PATH
postgresql://... PostgreSQL through psycopg 3 (production)
memory://        the library's in-memory store: refused unless LEDGER_ALLOW_MEMORY is set,
                 because a missing setting must never silently lose data

The URL is parsed in one place (:func:`database`, a typed :data:`Database`), and settings
become PostgreSQL connection parameters in one place (:func:`pg_params`): the event store,
the read tables (``projections.db``), the API keys (``api.keys``) and the append-only
protection all connect through it. A URL that names no usable store raises
:class:`~ledger.errors.StoreConfigError` (a ``ConfigurationError``, not a refusal).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from ledger.errors import StoreConfigError
from ledger.settings import Settings

APP_NAME = "ledger"
Backend = Literal["sqlite", "postgres", "memory"]
__all__ = ["StoreConfigError"]  # re-exported: callers catch it with the store's names


@dataclass(frozen=True)
class SqliteDatabase:
    """An SQLite file (or, for tests only, SQLite in memory)."""

    path: Path
    in_memory: bool = False
    backend: Backend = "sqlite"


@dataclass(frozen=True)
class PostgresDatabase:
    """A PostgreSQL database, its credentials decoded, and the schema of ``?schema=``."""

    dbname: str
    host: str
    port: int
    user: str
    password: str
    schema: str = ""
    backend: Backend = "postgres"


@dataclass(frozen=True)
class MemoryDatabase:
    """The library's in-memory store (tests only)."""

    backend: Backend = "memory"


Database = SqliteDatabase | PostgresDatabase | MemoryDatabase


def describe(settings: Settings) -> str:
    """A safe, password-free description of the store."""
    url = settings.database_url or "sqlite:///ledger.db"
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def database(settings: Settings) -> Database:
    """``LEDGER_DATABASE_URL`` as a typed value: the one parser of the URL."""
    url = settings.database_url
    if not url:
        return SqliteDatabase(Path.cwd() / "ledger.db")
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url[7:]
        if not path.strip("/"):
            raise StoreConfigError(
                "LEDGER_DATABASE_URL names no SQLite file: write sqlite:///PATH",
                url=describe(settings),
            )
        lowered = url.lower()
        return SqliteDatabase(Path(path), ":memory:" in lowered or "mode=memory" in lowered)
    if url.startswith(("postgresql:", "postgres:")):
        return _postgres(settings)
    if url.startswith("memory:"):
        return MemoryDatabase()
    raise StoreConfigError(
        "LEDGER_DATABASE_URL must be sqlite:///PATH, postgresql://... or memory://",
        url=describe(settings),
    )


SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _postgres(settings: Settings) -> PostgresDatabase:
    parts = urlsplit(settings.database_url)
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"schema"})
    if unknown:
        # Silently dropping, say, ?sslmode=require would connect in plain text: refuse.
        raise StoreConfigError(
            f"LEDGER_DATABASE_URL takes only ?schema=; {', '.join(unknown)} is not read "
            "(TLS and other libpq settings: the PGSSLMODE, PGSSLROOTCERT, ... environment "
            "variables, which every connection of the ledger honours)",
            url=describe(settings),
        )
    schema = query.get("schema", [""])[-1]
    if schema and not SCHEMA_NAME.fullmatch(schema):
        raise StoreConfigError(
            "?schema= must be a lowercase SQL identifier (a-z, 0-9 and _, not starting "
            f"with a digit, at most 63 characters), not {schema!r}",
            url=describe(settings),
        )
    try:
        port = parts.port or 5432
    except ValueError:
        raise StoreConfigError(
            "LEDGER_DATABASE_URL names a port that is no number", url=describe(settings)
        ) from None
    return PostgresDatabase(
        dbname=unquote(parts.path.lstrip("/")) or "postgres",
        host=parts.hostname or "127.0.0.1",
        port=port,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        schema=schema,
    )


def backend(settings: Settings) -> Backend:
    return database(settings).backend


def sqlite_path(settings: Settings) -> Path:
    db = database(settings)
    if not isinstance(db, SqliteDatabase):
        raise StoreConfigError("the store is not SQLite", url=describe(settings))
    return db.path


def postgres(settings: Settings) -> PostgresDatabase:
    db = database(settings)
    if not isinstance(db, PostgresDatabase):
        raise StoreConfigError("the store is not PostgreSQL", url=describe(settings))
    return db


def pg_params(settings: Settings, *, search_path: bool = False) -> dict[str, Any]:
    """The one way settings become PostgreSQL connection parameters (psycopg keywords;
    ``psycopg.conninfo.make_conninfo(**pg_params(...))`` for a libpq string). With
    ``search_path``, the connection's search path is the URL's schema."""
    db = postgres(settings)
    params: dict[str, Any] = {
        "dbname": db.dbname,
        "host": db.host,
        "port": db.port,
        "user": db.user,
        "password": db.password,
        "connect_timeout": settings.pg_connect_timeout,
    }
    if not db.password:
        del params["password"]
    if search_path and db.schema:
        params["options"] = f"-c search_path={db.schema}"
    return params


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    """The environment the eventsourcing library reads its persistence settings from."""
    db = database(settings)
    common = {"AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size)}
    in_memory = isinstance(db, MemoryDatabase) or (isinstance(db, SqliteDatabase) and db.in_memory)
    if in_memory and not settings.allow_memory:
        raise StoreConfigError(
            "in-memory storage loses every event on exit; it is for tests only "
            "(set LEDGER_ALLOW_MEMORY=1 to allow it)"
        )
    if isinstance(db, MemoryDatabase):
        return {"PERSISTENCE_MODULE": "eventsourcing.popo", **common}
    if isinstance(db, SqliteDatabase):
        db.path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(db.path),
            "SQLITE_LOCK_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": "ledger.persistence.recorders:SQLiteLedgerRecorder",
            **common,
        }
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": db.dbname,
        "POSTGRES_HOST": db.host,
        "POSTGRES_PORT": str(db.port),
        "POSTGRES_USER": db.user,
        "POSTGRES_PASSWORD": db.password,
        "POSTGRES_SCHEMA": db.schema,
        "POSTGRES_POOL_SIZE": str(settings.pg_pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.pg_max_overflow),
        "POSTGRES_CONNECT_TIMEOUT": str(settings.pg_connect_timeout),
        "POSTGRES_LOCK_TIMEOUT": str(settings.pg_lock_timeout),
        # No pre-ping (a round trip per checkout): the recorder's calls run again past
        # dead connections (``ledger.persistence.recorders.past_dead_connections``), which
        # the pool drops.
        "POSTGRES_PRE_PING": "n",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "APPLICATION_RECORDER_TOPIC": "ledger.persistence.recorders:PostgresLedgerRecorder",
        **common,
    }


def connect(settings: Settings) -> Any:
    """A plain autocommit connection to the configured PostgreSQL database."""
    import psycopg

    return psycopg.connect(**pg_params(settings), autocommit=True)


def prepare(settings: Settings) -> None:
    """Create what the library does not: the PostgreSQL schema named in the URL."""
    if backend(settings) != "postgres":
        return
    schema = postgres(settings).schema
    if not schema:
        return
    from psycopg import sql

    with connect(settings) as conn:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if found is None:  # a service role without CREATE on the database never gets here
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


DDL_LOCK_KEY = 0x6C6564676572  # "ledger": one lock for every CREATE of the ledger's tables


@contextmanager
def ddl_lock(settings: Settings) -> Iterator[None]:
    """Serialise table creation across processes (several workers start at once on
    PostgreSQL; concurrent CREATE ... IF NOT EXISTS can fail). A no-op on SQLite."""
    if backend(settings) != "postgres":
        yield
        return
    with connect(settings) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (DDL_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (DDL_LOCK_KEY,))


# eventsourcing names the PostgreSQL events table after the application (``ledger_events``)
PG_EVENTS_TABLE = f"{APP_NAME}_events"


def exists(settings: Settings) -> bool:
    """Whether a ledger has been recorded in the configured store, found without creating
    anything (an in-memory store always exists)."""
    db = database(settings)
    if isinstance(db, MemoryDatabase) or (isinstance(db, SqliteDatabase) and db.in_memory):
        return True
    if isinstance(db, SqliteDatabase):
        return db.path.is_file()
    with connect(settings) as conn:
        row = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f'"{db.schema or "public"}".{PG_EVENTS_TABLE}',)
        ).fetchone()
    return bool(row and row[0])
