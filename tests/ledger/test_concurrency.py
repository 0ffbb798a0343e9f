"""Racing writers on one campaign, on PostgreSQL (SQLite serialises its writers anyway).

32 threads adjust one campaign's budget at once, each to a distinct amount, through one
shared ledger (one pool) and through one ledger per thread (a pool each, as separate worker
processes would have). Whatever the interleaving: no event is lost or duplicated, the
campaign's versions stay contiguous, every loser is told it lost a race (a Conflict), and
there are exactly as many new events as successes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ledger import commands as c
from ledger.application.results import CommandResult
from ledger.application.service import Ledger
from ledger.errors import (
    ConcurrencyExhausted,
    Conflict,
    IdempotencyKeyInFlight,
    LedgerError,
    VersionConflict,
)
from ledger.settings import Settings
from tests.support import Clock, World, budget

THREADS = 32
BASE = 5500

pytestmark = pytest.mark.postgres


@dataclass
class Race:
    world: World
    ledgers: list[Ledger]


@pytest.fixture(params=["one shared ledger", "one ledger per thread"])
def race(
    request: pytest.FixtureRequest, pg_schema_url: str, clock: Clock
) -> Iterator[Callable[..., Race]]:
    """Builds the world, then the ledgers the threads will use (closed afterwards)."""
    made: list[Ledger] = []

    def build(**settings: Any) -> Race:
        main = Ledger(Settings(database_url=pg_schema_url, **settings), clock=clock)
        made.append(main)
        world = World(main, clock).setup()
        if request.param == "one shared ledger":
            return Race(world, [main] * THREADS)
        # A small pool each, so 32 ledgers stay well inside max_connections.
        small = {"pg_pool_size": 1, "pg_max_overflow": 0, **settings}
        ledgers = [Ledger(Settings(database_url=pg_schema_url, **small), clock=clock)]
        ledgers += [
            Ledger(Settings(database_url=pg_schema_url, **small), clock=clock)
            for _ in range(THREADS - 1)
        ]
        made.extend(ledgers)
        return Race(world, ledgers)

    yield build
    for app in made:
        app.close()


def run_all(
    ledgers: list[Ledger], work: Callable[[int, Ledger], CommandResult]
) -> list[CommandResult | BaseException]:
    """Start every thread at one barrier; return each one's result or error, by index."""
    outcomes: list[CommandResult | BaseException | None] = [None] * len(ledgers)
    barrier = threading.Barrier(len(ledgers))

    def target(i: int) -> None:
        barrier.wait(timeout=10)
        try:
            outcomes[i] = work(i, ledgers[i])
        except BaseException as e:  # every outcome, error or not, is examined by the test
            outcomes[i] = e

    threads = [threading.Thread(target=target, args=(i,)) for i in range(len(ledgers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert all(o is not None for o in outcomes)
    return [o for o in outcomes if o is not None]


def budget_history(world: World) -> tuple[list[int], list[str]]:
    """The campaign's stored versions, and the amount each budget change set, in order."""
    versions, amounts = [], []
    for n in world.ledger.recorder.select_notifications(1, 100_000):
        if n.originator_id == world.campaign_id:
            versions.append(n.originator_version)
            event: Any = world.ledger.mapper.to_domain_event(n)  # a BudgetAdjusted below
            if n.topic.endswith("Campaign.BudgetAdjusted"):
                amounts.append(event.budget_to["amount"])
    return versions, amounts


def adjust(world: World, i: int, expected_version: int | None = None) -> c.AdjustBudget:
    return c.AdjustBudget(
        campaign_id=world.campaign_id,
        budget=budget(str(BASE + i)),
        expected_version=expected_version,
    )


def assert_nothing_lost_or_duplicated(
    world: World, outcomes: list[CommandResult | BaseException], before: int
) -> list[CommandResult]:
    """Every outcome is a success or a Conflict, and the store holds exactly the successes."""
    wins = [o for o in outcomes if isinstance(o, CommandResult)]
    losses = [o for o in outcomes if not isinstance(o, CommandResult)]
    assert all(isinstance(e, Conflict) for e in losses), {repr(e) for e in losses}
    versions, amounts = budget_history(world)
    assert versions == list(range(1, len(versions) + 1)), "versions are not contiguous"
    assert len(versions) - before == len(wins), "successes and new events differ"
    assert sorted(w.version for w in wins) == list(range(before + 1, len(versions) + 1))
    won_amounts = sorted(str(BASE + i) for i, o in enumerate(outcomes) if o in wins)
    assert sorted(amounts) == won_amounts, "an accepted change is missing or doubled"
    return wins


def test_racing_writers_expecting_one_version_let_exactly_one_win(
    race: Callable[..., Race],
) -> None:
    """Given 32 writers expecting version 1, exactly one wins; 31 get VersionConflict."""
    r = race()
    world = r.world
    seen: int = world.ledger.repository.get(world.campaign_id).version
    outcomes = run_all(r.ledgers, lambda i, led: led.execute(adjust(world, i, seen), world.manager))
    wins = assert_nothing_lost_or_duplicated(world, outcomes, before=seen)
    assert len(wins) == 1
    losses = [o for o in outcomes if isinstance(o, LedgerError)]
    assert all(type(e) is VersionConflict for e in losses)
    assert all(e.context["expected_version"] == seen for e in losses)
    assert all(e.context["current_version"] == seen + 1 for e in losses)


def test_racing_writers_without_an_expected_version_retry_and_lose_nothing(
    race: Callable[..., Race],
) -> None:
    """Given 32 writers with no expected version, retries let several win; none is lost."""
    r = race()
    world = r.world
    outcomes = run_all(r.ledgers, lambda i, led: led.execute(adjust(world, i), world.manager))
    wins = assert_nothing_lost_or_duplicated(world, outcomes, before=1)
    assert len(wins) > 1, "the bounded retry let no loser through"
    losses = [o for o in outcomes if isinstance(o, LedgerError)]
    assert all(type(e) is ConcurrencyExhausted for e in losses)


def test_a_retry_budget_sized_for_the_contention_lets_most_writers_through(
    race: Callable[..., Race],
) -> None:
    """Given 32 writers and 30 attempts each, most succeed and none is lost or doubled."""
    r = race(max_retries=30)
    world = r.world
    outcomes = run_all(r.ledgers, lambda i, led: led.execute(adjust(world, i), world.manager))
    wins = assert_nothing_lost_or_duplicated(world, outcomes, before=1)
    assert len(wins) > THREADS // 2


def test_one_idempotency_key_sent_by_every_thread_is_recorded_once(
    race: Callable[..., Race],
) -> None:
    """Given 32 copies of one keyed command at once, one set of events; all agree on it."""
    r = race()
    world = r.world
    command = adjust(world, 1)
    outcomes = run_all(
        r.ledgers, lambda i, led: led.execute(command, world.manager, idempotency_key="once")
    )
    results = [o for o in outcomes if isinstance(o, CommandResult)]
    others = [o for o in outcomes if not isinstance(o, CommandResult)]
    assert all(isinstance(e, IdempotencyKeyInFlight) for e in others), others
    if len(set(map(id, r.ledgers))) > 1:
        assert others == [], "separate ledgers never see each other's in-flight keys"
    assert results
    assert len({(x.aggregate_id, x.version, x.position) for x in results}) == 1
    assert sum(not x.replayed for x in results) == 1
    versions, amounts = budget_history(world)
    assert (versions, amounts) == ([1, 2], [str(BASE + 1)])
