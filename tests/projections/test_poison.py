"""A store that already holds text a database cannot store: the views escape it, serve
every tenant, and rebuild."""

from __future__ import annotations

import sqlite3
from typing import Any
from uuid import UUID

import psycopg
import pytest
from structlog.testing import capture_logs

from api.http import metrics
from ledger import commands as c
from ledger.application.service import Ledger
from ledger.values import Channel
from projections.queries.audit import AuditFilter, audit_trail
from projections.queries.campaigns import campaign_state, campaigns
from projections.queries.register import recommendations
from projections.rebuild import checksum
from projections.service import ReadSide
from projections.views import ALL
from projections.views import campaigns as campaigns_view
from tests.support import Clock, World, budget

POISON = "poison\x00 name"
SEEN = "poison\ufffd name"


def plant_poison(w: World) -> UUID:
    """A campaign whose name and objective hold U+0000, recorded as a store written before
    the command side refused it would hold it: the command is built without validation and
    run by the ledger's own handler, so the stored event is the real one."""
    command = c.PlanCampaign.model_construct(
        organization_id=w.org_id,
        name=POISON,
        objective="grow\x00",
        channels=(Channel.PPC,),
        budget=budget("100"),
        kpi_targets=(),
        expected_version=None,
    )
    return w.run(w.manager, command).aggregate_id


def test_a_nul_in_a_stored_campaign_name_is_stored_escaped_and_every_tenant_is_served(
    ledger: Ledger, clock: Clock, world: World, read_side: ReadSide
) -> None:
    """The poisoned event is applied with U+0000 read as U+FFFD; another organization's
    campaign planned after it is projected too, in all three views."""
    poisoned = plant_poison(world)
    assert ledger.repository.get(poisoned).state.name == POISON  # the log holds the NUL
    other = World(ledger, clock).setup()
    later = other.plan()
    other.recommend()
    read_side.run_until_caught_up()
    state, _ = campaign_state(read_side.db, poisoned)
    assert state is not None
    assert (state.name, state.objective) == (SEEN, "grow\ufffd")
    names = {v.name for v in campaigns(read_side.db, organization_id=other.org_id).items}
    assert names == {"Spring sale"}
    assert campaign_state(read_side.db, later)[0] is not None
    assert recommendations(read_side.db, organization_id=other.org_id).items
    trail = audit_trail(read_side.db, AuditFilter(organization_id=world.org_id)).items
    assert any(e["aggregate_id"] == str(poisoned) for e in trail)


def test_a_store_holding_a_nul_rebuilds_every_view_to_the_live_content(
    ledger: Ledger, clock: Clock, world: World, read_side: ReadSide
) -> None:
    """Rebuilding each view over the poisoned event succeeds and equals the live view, and
    the rebuilt campaigns view serves the poisoned campaign and the other tenant's."""
    poisoned = plant_poison(world)
    later = World(ledger, clock).setup().plan()
    read_side.run_until_caught_up()
    for projection in ALL:
        live = checksum(read_side.db, projection)
        result = read_side.rebuild(projection.name)
        assert result.generation == result.previous + 1
        assert checksum(read_side.db, projection) == live, projection.name
    assert campaign_state(read_side.db, poisoned)[0] is not None
    assert campaign_state(read_side.db, later)[0] is not None


def boom_on(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """The campaigns view fails on any campaign named "boom", as a view bug would."""
    planned = campaigns_view._planned

    def failing(b: Any, item: Any, e: Any) -> None:
        if e.name == "boom":
            raise error
        planned(b, item, e)

    monkeypatch.setattr(campaigns_view, "_planned", failing)


def plan_boom(w: World) -> tuple[UUID, int, int]:
    """A campaign named "boom" and its launch: (id, position planned, position launched)."""
    planned = w.run(
        w.manager,
        c.PlanCampaign(
            organization_id=w.org_id,
            name="boom",
            objective="o",
            channels=(Channel.PPC,),
            budget=budget("100"),
        ),
    )
    launched = w.run(w.manager, c.LaunchCampaign(campaign_id=planned.aggregate_id))
    return planned.aggregate_id, planned.position, launched.position


def failed_of(read_side: ReadSide, name: str) -> tuple[int, list[dict[str, Any]]]:
    (found,) = [s for s in read_side.status() if s.name == name]
    return found.failed, found.failures


def test_an_event_a_view_cannot_apply_is_set_aside_with_its_aggregate_and_reported(
    ledger: Ledger, clock: Clock, world: World, read_side: ReadSide, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failing event and the later events of its campaign are recorded (status, log
    with the position, /metrics gauge); the events after it, of every tenant, are applied."""
    boom_on(monkeypatch, ValueError("cannot apply"))
    boom, planned_at, launched_at = plan_boom(world)
    other = World(ledger, clock).setup()
    later = other.plan()
    with capture_logs() as logs:
        read_side.run_until_caught_up()
    assert campaign_state(read_side.db, boom)[0] is None
    assert campaign_state(read_side.db, later)[0] is not None
    assert campaign_state(read_side.db, world.campaign_id)[0] is not None
    count, listed = failed_of(read_side, "campaigns")
    assert count == 2
    assert [(f["position"], f["error"], f["aggregate_id"]) for f in listed] == [
        (planned_at, "ValueError", str(boom)),
        (launched_at, "Skipped", str(boom)),
    ]
    assert listed[0]["message"] == "cannot apply"
    assert listed[0]["topic"] == "Campaign.Planned"
    assert failed_of(read_side, "audit")[0] == failed_of(read_side, "register")[0] == 0
    assert any(
        log["event"] == "projection event failed and was set aside"
        and log["position"] == planned_at
        for log in logs
    )
    metrics.observe_projections(read_side)
    sample = metrics.REGISTRY.get_sample_value(
        "ledger_projection_failed_events", {"projection": "campaigns"}
    )
    assert sample == 2


def test_a_rebuild_sets_the_same_events_aside_and_serves_the_rest(
    ledger: Ledger, clock: Clock, world: World, read_side: ReadSide, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rebuilding over an event that fails finishes, reports it in the new generation and
    equals the live view."""
    boom_on(monkeypatch, ValueError("cannot apply"))
    plan_boom(world)
    later = World(ledger, clock).setup().plan()
    read_side.run_until_caught_up()
    live = checksum(read_side.db, campaigns_view.PROJECTION)
    result = read_side.rebuild("campaigns")
    assert checksum(read_side.db, campaigns_view.PROJECTION) == live
    assert {s.generation: s.failed for s in read_side.status()}[result.generation] == 2
    assert campaign_state(read_side.db, later)[0] is not None


def test_a_database_error_is_not_taken_for_a_bad_event(
    world: World, read_side: ReadSide, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operational error (database down or locked) fails the batch and the runner backs
    off: nothing is set aside and the position does not move past the event."""
    error = (
        psycopg.OperationalError("server closed the connection")
        if read_side.db.dialect == "postgres"
        else sqlite3.OperationalError("database is locked")
    )
    boom_on(monkeypatch, error)
    _, planned_at, _ = plan_boom(world)
    (runner,) = [r for r in read_side.runners() if r.projection.name == "campaigns"]
    while runner.tick():
        pass
    assert "OperationalError" in str(runner.last_error)
    assert runner.position() < planned_at
    assert failed_of(read_side, "campaigns")[0] == 0
    runner.close()
