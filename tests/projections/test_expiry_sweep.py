"""The expiry sweep (issue 11): the read side records ``Expired`` itself, as the system actor,
once per recommendation however many sweeps or workers run, and touches nothing else."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

from ledger.application.service import Ledger
from ledger.domain.recommendation import Recommendation
from ledger.identity import SYSTEM_ACTOR_ID
from projections.queries.register import recommendation
from projections.service import ReadSide
from tests.support import World


def _expired_events(ledger: Ledger, rec_id: UUID) -> list[Recommendation.Expired]:
    return [e for e in ledger.events.get(rec_id) if isinstance(e, Recommendation.Expired)]


def _lapsed(world: World, read_side: ReadSide) -> UUID:
    """A recommendation one day from expiry, the clock then moved two days on, the register
    caught up: it is a candidate of the sweep."""
    rec_id = world.recommend(days=1)
    world.clock.advance(timedelta(days=2))
    read_side.run_until_caught_up()
    return rec_id


def test_a_recommendation_past_its_expiry_gets_one_expired_event_by_the_system_actor(
    world: World, read_side: ReadSide
) -> None:
    """After one sweep, a lapsed recommendation has exactly one Expired event, whose envelope
    names the system actor, role system, party platform; the register then stores expired."""
    rec_id = _lapsed(world, read_side)
    assert read_side.sweep_expired() == 1
    [event] = _expired_events(world.ledger, rec_id)
    assert (event.actor_id, event.role, event.party) == (SYSTEM_ACTOR_ID, "system", "platform")
    assert event.revision == 1
    read_side.run_until_caught_up()
    row, _ = recommendation(read_side.db, rec_id)
    assert row is not None
    assert row["status"] == "expired"


def test_a_second_sweep_records_nothing_more(world: World, read_side: ReadSide) -> None:
    """Two sweeps, the second before the register has caught up with the first, record one
    Expired event: the second command is refused harmlessly and nothing is appended."""
    rec_id = _lapsed(world, read_side)
    assert read_side.sweep_expired() == 1
    head = world.ledger.recorder.max_notification_id()
    assert read_side.sweep_expired() == 0  # the register still says pending
    assert world.ledger.recorder.max_notification_id() == head
    read_side.run_until_caught_up()
    assert read_side.sweep_expired() == 0
    assert len(_expired_events(world.ledger, rec_id)) == 1


def test_two_workers_sweeping_at_once_record_the_expiry_once(
    world: World, read_side: ReadSide, make_ledger: Callable[[], Ledger]
) -> None:
    """Two read sides of two ledger processes sweep the same lapsed recommendations at the
    same moment: each recommendation gets exactly one Expired event."""
    recs = [world.recommend(days=1) for _ in range(3)]
    world.clock.advance(timedelta(days=2))
    read_side.run_until_caught_up()
    with ReadSide(make_ledger(), lease_ttl=1.0, poll_interval=0.02) as other:
        barrier = threading.Barrier(2)
        counts: list[int] = []

        def sweep(side: ReadSide) -> None:
            barrier.wait()
            counts.append(side.sweep_expired())

        threads = [threading.Thread(target=sweep, args=(s,)) for s in (read_side, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sum(counts) == 3
    assert [len(_expired_events(world.ledger, r)) for r in recs] == [1, 1, 1]


def test_a_decided_or_not_yet_expired_recommendation_is_untouched(
    world: World, read_side: ReadSide
) -> None:
    """An approved recommendation past its expiry and a pending one not yet at its expiry
    get no event from the sweep."""
    decided = world.recommend(days=1)
    world.approve(decided)
    later = world.recommend(days=5)
    world.clock.advance(timedelta(days=2))
    read_side.run_until_caught_up()
    head = world.ledger.recorder.max_notification_id()
    assert read_side.sweep_expired() == 0
    assert world.ledger.recorder.max_notification_id() == head
    assert _expired_events(world.ledger, decided) == []
    assert _expired_events(world.ledger, later) == []


def test_the_embedded_worker_sweeps_by_itself_on_its_interval(world: World, ledger: Ledger) -> None:
    """A started read side with a short sweep interval records the expiry on its own."""
    rec_id = world.recommend(days=1)
    world.clock.advance(timedelta(days=2))
    with ReadSide(ledger, lease_ttl=1.0, poll_interval=0.02, expiry_sweep=0.1) as side:
        side.start()
        deadline = time.monotonic() + 10
        while not _expired_events(ledger, rec_id) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(_expired_events(ledger, rec_id)) == 1


def test_a_sweep_interval_of_zero_never_sweeps(world: World, ledger: Ledger) -> None:
    """With the sweep switched off (0), a lapsed recommendation stays without an event."""
    rec_id = world.recommend(days=1)
    world.clock.advance(timedelta(days=2))
    with ReadSide(ledger, lease_ttl=1.0, poll_interval=0.02, expiry_sweep=0) as side:
        side.run_until_caught_up()
        assert side.sweep().tick() == 0
    assert _expired_events(ledger, rec_id) == []
