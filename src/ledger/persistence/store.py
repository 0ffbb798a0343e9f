"""Which event store the ledger writes to, from ``LEDGER_DATABASE_URL``.

unset            an SQLite file ``ledger.db`` in the working directory (embedded default)
sqlite:///PATH   an SQLite file at PATH
postgresql://... PostgreSQL through psycopg 3 (production)
memory://        the library's in-memory store: refused unless LEDGER_ALLOW_MEMORY is set,
                 because a missing setting must never silently lose data
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ledger.errors import InvalidCommand
from ledger.settings import Settings

APP_NAME = "ledger"


class StoreConfigError(InvalidCommand):
    code = "store_config_error"
    title = "The event store is not configured correctly"


def describe(settings: Settings) -> str:
    """A safe, password-free description of the store."""
    url = settings.database_url or "sqlite:///ledger.db"
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def backend(settings: Settings) -> str:
    url = settings.database_url
    if not url or url.startswith("sqlite:"):
        return "sqlite"
    if url.startswith(("postgresql:", "postgres:")):
        return "postgres"
    if url.startswith("memory:"):
        return "memory"
    raise StoreConfigError(
        "LEDGER_DATABASE_URL must be sqlite:///PATH, postgresql://... or memory://",
        url=describe(settings),
    )


def _sqlite_in_memory(settings: Settings) -> bool:
    url = settings.database_url.lower()
    return url.startswith("sqlite:") and (":memory:" in url or "mode=memory" in url)


def sqlite_path(settings: Settings) -> Path:
    url = settings.database_url
    if not url:
        return Path.cwd() / "ledger.db"
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url[len("sqlite:") :]
    return Path(path)


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    """The environment the eventsourcing library reads its persistence settings from."""
    kind = backend(settings)
    common = {"AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size)}
    if (kind == "memory" or _sqlite_in_memory(settings)) and not settings.allow_memory:
        raise StoreConfigError(
            "in-memory storage loses every event on exit; it is for tests only "
            "(set LEDGER_ALLOW_MEMORY=1 to allow it)"
        )
    if kind == "memory":
        if not settings.allow_memory:
            raise StoreConfigError(
                "in-memory storage loses every event on exit; it is for "
                "tests only (set LEDGER_ALLOW_MEMORY=1 to allow it)"
            )
        return {"PERSISTENCE_MODULE": "eventsourcing.popo", **common}
    if kind == "sqlite":
        path = sqlite_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": "ledger.persistence.recorders:MerkleSQLiteRecorder",
            **common,
        }
    parts = urlsplit(settings.database_url)
    schema = ""
    for item in (parts.query or "").split("&"):
        if item.startswith("schema="):
            schema = item.removeprefix("schema=")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": str(settings.pg_pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.pg_max_overflow),
        "POSTGRES_CONNECT_TIMEOUT": str(settings.pg_connect_timeout),
        "POSTGRES_LOCK_TIMEOUT": str(settings.pg_lock_timeout),
        # No pre-ping (a round trip per checkout): the recorder's calls retry once on a
        # dead connection (``ledger.persistence.recorders.once_more``), and the pool drops it.
        "POSTGRES_PRE_PING": "n",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "APPLICATION_RECORDER_TOPIC": "ledger.persistence.recorders:FastFailPostgresRecorder",
        **common,
    }


def connect(settings: Settings) -> Any:
    """A plain autocommit connection to the configured PostgreSQL database."""
    import psycopg

    env = eventsourcing_env(settings)
    return psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        connect_timeout=settings.pg_connect_timeout,
        autocommit=True,
    )


def prepare(settings: Settings) -> None:
    """Create what the library does not: the PostgreSQL schema named in the URL."""
    if backend(settings) != "postgres":
        return
    env = eventsourcing_env(settings)
    if not env["POSTGRES_SCHEMA"]:
        return
    from psycopg import sql

    with connect(settings) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (env["POSTGRES_SCHEMA"],)
        ).fetchone()
        if found is None:  # a service role without CREATE on the database never gets here
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    sql.Identifier(env["POSTGRES_SCHEMA"])
                )
            )


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
