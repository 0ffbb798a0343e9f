"""Fixtures shared by every tier: a ledger on SQLite and on PostgreSQL.

PostgreSQL tests read the server from LEDGER_TEST_POSTGRES_URL and skip, saying why, when it
is unset or unreachable; with LEDGER_REQUIRE_POSTGRES=1 (as CI sets it) they fail instead.
Each PostgreSQL test gets a schema of its own, dropped afterwards. Every test that reaches
PostgreSQL is marked ``postgres``: ``pytest -m "not postgres"`` runs only the SQLite half.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from ledger.application.service import Ledger
from ledger.settings import Settings
from tests.support import Clock

PG_URL = os.environ.get("LEDGER_TEST_POSTGRES_URL", "")
REQUIRE_PG = os.environ.get("LEDGER_REQUIRE_POSTGRES", "") not in ("", "0", "false", "no")


def postgres_unavailable() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    if not PG_URL:
        return "LEDGER_TEST_POSTGRES_URL is not set"
    import psycopg

    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        return f"PostgreSQL at LEDGER_TEST_POSTGRES_URL is unreachable: {e}"
    return None


def require_postgres() -> None:
    reason = postgres_unavailable()
    if reason is None:
        return
    if REQUIRE_PG:
        pytest.fail(f"LEDGER_REQUIRE_POSTGRES is set but {reason}")
    pytest.skip(reason)


def drop_schema(schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """Each test starts from structlog's defaults: a CLI test that configured logging (say,
    to warnings only) must not silence another test's log lines."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose schema is this test's alone."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}schema={schema}"
    finally:
        drop_schema(schema)


PG_FIXTURES = frozenset({"pg_schema_url", "private_pg"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that reaches PostgreSQL through a fixture (``pg_schema_url``, the fault
    tests' ``private_pg``, or ``database_url`` parametrised indirectly with "postgres")
    carries the ``postgres`` marker, so ``-m "not postgres"`` runs the SQLite half alone."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        indirect = callspec is not None and callspec.params.get("database_url") == "postgres"
        if indirect or PG_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def make_ledger(database_url: str, clock: Clock) -> Iterator[Callable[[], Ledger]]:
    """Builds ledgers on the parametrised store; each is closed at the end of the test."""
    made: list[Ledger] = []

    def make() -> Ledger:
        app = Ledger(Settings(database_url=database_url), clock=clock)
        made.append(app)
        return app

    yield make
    for app in made:
        app.close()


@pytest.fixture
def ledger(make_ledger: Callable[[], Ledger]) -> Ledger:
    return make_ledger()
