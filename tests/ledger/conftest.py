"""Fixtures of the application-level rule suite: a world built on the parametrised store."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ledger.application.service import Ledger
from ledger.settings import Settings
from tests.support import Clock, World


@pytest.fixture
def make_ledger(database_url: str, clock: Clock) -> Iterator[Callable[[], Ledger]]:
    """The shared fixture's ledgers, with a PostgreSQL pool of one connection (plus two of
    overflow): these tests run one command at a time, and opening the default five
    connections for every test doubles its set-up time. SQLite ignores the pool settings."""
    made: list[Ledger] = []

    def make() -> Ledger:
        settings = Settings(database_url=database_url, pg_pool_size=1, pg_max_overflow=2)
        app = Ledger(settings, clock=clock)
        made.append(app)
        return app

    yield make
    for app in made:
        app.close()


@pytest.fixture
def world(ledger: Ledger, clock: Clock) -> World:
    """An organization with every role, an engagement on ppc/seo/social and a draft campaign
    on ppc/social with a monthly budget of 5000 EUR; the approval limit is 1000 EUR."""
    return World(ledger, clock).setup()
