"""Fixtures of the application-level rule suite: a world built on the parametrised store."""

from __future__ import annotations

import pytest

from ledger.application import Ledger
from tests.support import Clock, World


@pytest.fixture
def world(ledger: Ledger, clock: Clock) -> World:
    """An organization with every role, an engagement on ppc/seo/social and a draft campaign
    on ppc/social with a monthly budget of 5000 EUR; the approval limit is 1000 EUR."""
    return World(ledger, clock).setup()
