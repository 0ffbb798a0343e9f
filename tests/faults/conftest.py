"""Fixtures of the fault tests: a private PostgreSQL cluster for the whole session (tests
stop it in immediate mode; the shared server is never touched), and a fresh schema in it
seeded with ``ledger demo --json``.

Without the PostgreSQL binaries (or, as root, without ``runuser`` and a ``postgres`` OS
user) the tests skip, saying why; with LEDGER_REQUIRE_POSTGRES=1 they fail instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.harness import REQUIRE_PG, Demo, PrivatePostgres, drop_schema, new_schema_url
from tests.faults.harness import seed_demo as run_demo


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    reason = PrivatePostgres.unavailable()
    if reason is not None:
        if REQUIRE_PG:
            pytest.fail(
                f"LEDGER_REQUIRE_POSTGRES is set but a private PostgreSQL is impossible: {reason}"
            )
        pytest.skip(f"no private PostgreSQL for fault tests: {reason}")
    pg = PrivatePostgres()
    try:
        try:
            pg.init().start()
        except Exception as e:
            if REQUIRE_PG:
                raise
            pytest.skip(f"a private PostgreSQL could not be started: {e}")
        yield pg
    finally:
        pg.destroy()


@dataclass
class Store:
    url: str
    workdir: Path
    demo: Demo
    pg: PrivatePostgres


@pytest.fixture
def store(private_pg: PrivatePostgres, tmp_path: Path) -> Iterator[Store]:
    """A fresh schema in the private cluster with the demo world seeded in it."""
    private_pg.ensure_started()
    url = new_schema_url(private_pg.url)
    try:
        demo = Demo(run_demo(url, tmp_path / "demo"))
        yield Store(url, tmp_path, demo, private_pg)
    finally:
        with contextlib.suppress(Exception):
            private_pg.ensure_started()
            drop_schema(url)
