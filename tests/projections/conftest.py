"""Fixtures of the projection tier: a ledger with a small world in it, and its read side,
on SQLite and on PostgreSQL (through the shared ``ledger`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.application.service import Ledger
from projections.service import ReadSide
from tests.support import Clock, World


@pytest.fixture
def world(ledger: Ledger, clock: Clock) -> World:
    return World(ledger, clock).setup()


@pytest.fixture
def read_side(ledger: Ledger) -> Iterator[ReadSide]:
    with ReadSide(ledger, lease_ttl=1.0, poll_interval=0.02) as side:
        side.install()
        yield side
