"""A slow writer never makes a projection skip an event.

The append that drew the lower position is held open inside its transaction while other
commands try to commit and the embedded worker keeps polling; the others wait behind the
events-table lock (PostgreSQL) or the write lock (SQLite), so no higher position becomes
visible before the lower one, and the views end with every event exactly once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from ledger import commands as c
from ledger.application.results import CommandResult
from ledger.application.service import Ledger
from ledger.values import Channel
from projections.runner import Runner
from projections.service import ReadSide
from projections.source import EventSource, Positioned
from projections.views import audit
from tests.projections.checks import audited, logged
from tests.support import World, budget


def hold_appends(ledger: Ledger, entered: threading.Event, hold: float) -> None:
    """Make every append of ``ledger`` pause ``hold`` seconds after inserting its rows,
    before committing."""
    recorder = ledger.recorder
    name = "_insert_events" if ledger.backend == "sqlite" else "_fetch_ids_after_insert_events"
    original = getattr(recorder, name)

    def slow(*args: object, **kwargs: object) -> object:
        result = original(*args, **kwargs)
        entered.set()
        time.sleep(hold)
        return result

    setattr(recorder, name, slow)


def test_a_transaction_held_open_while_others_commit_makes_no_projection_skip(
    world: World, read_side: ReadSide, ledger: Ledger, make_ledger: Callable[[], Ledger]
) -> None:
    """The slow append gets the lower position; the others commit after it; the worker,
    polling throughout, applies every event once."""
    slow_ledger = make_ledger()
    entered = threading.Event()
    hold_appends(slow_ledger, entered, hold=0.8)
    read_side.start()
    results: list[CommandResult] = []
    lock = threading.Lock()

    def slow() -> None:
        launch = c.LaunchCampaign(campaign_id=world.campaign_id)
        result = slow_ledger.execute(launch, world.executive)
        with lock:
            results.insert(0, result)

    def fast(n: int) -> None:
        for i in range(5):
            result = world.run(
                world.manager,
                c.PlanCampaign(
                    organization_id=world.org_id,
                    name=f"fast {n}.{i}",
                    objective="o",
                    channels=(Channel.PPC,),
                    budget=budget("10"),
                ),
            )
            with lock:
                results.append(result)

    slow_thread = threading.Thread(target=slow)
    slow_thread.start()
    assert entered.wait(10), "the slow append never started"
    others = [threading.Thread(target=fast, args=(n,)) for n in range(4)]
    for t in others:
        t.start()
    for t in [slow_thread, *others]:
        t.join(30)
    held = results[0].position
    assert all(r.position > held for r in results[1:]), "the held append drew the lower id"
    head = logged(ledger)[-1]
    assert read_side.wait_for(head, timeout=20) >= head
    read_side.stop()
    assert audited(read_side.db) == logged(ledger)


class ShowsLaterFirst:
    """A source over a store WITHOUT the append lock: position ``hidden`` is still in
    flight (invisible) while later ones are already committed."""

    def __init__(self, inner: EventSource, hidden: int) -> None:
        self.inner = inner
        self.hidden = hidden
        self.committed = False

    def read(self, after: int, limit: int) -> Sequence[Positioned]:
        batch = self.inner.read(after, limit)
        return [e for e in batch if e.position != self.hidden or self.committed]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_the_check_catches_a_skip_when_a_later_event_is_visible_first(
    world: World, read_side: ReadSide, ledger: Ledger
) -> None:
    """What the append lock prevents, shown with a source that lacks it: a reader that has
    moved past an in-flight position never comes back for it, and the check says so."""
    positions = logged(ledger)
    source = ShowsLaterFirst(read_side.source, hidden=positions[3])
    runner = Runner(read_side.db, source, audit.PROJECTION, batch_size=100)  # type: ignore[arg-type]
    runner.run_until_caught_up()
    source.committed = True  # the slow transaction commits, too late
    runner.run_until_caught_up()
    runner.close()
    assert audited(read_side.db) == [p for p in positions if p != positions[3]]
