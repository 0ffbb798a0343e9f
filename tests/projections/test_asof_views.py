"""The campaign-state view at a past moment (``projections.asof``), and the audit trail's
event types, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from ledger.application.service import Ledger
from ledger.domain.base import LedgerAggregate
from projections.asof import campaign_view_as_of, campaigns_as_of
from projections.queries.audit import EventType
from projections.queries.campaigns import campaign_state
from projections.service import ReadSide
from tests.projections.test_views import event_types, everything
from tests.support import World


def test_a_campaign_state_as_of_after_its_last_event_equals_the_live_view(
    world: World, read_side: ReadSide, ledger: Ledger
) -> None:
    """Rebuilt from events at a moment after everything happened, each campaign's state
    (status, budget, targets, totals with corrections, KPIs, last change, open
    recommendations) is the row the projection holds."""
    story, _ = everything(world, read_side)
    now = world.clock.now
    for campaign_id in (world.campaign_id, story.cancelled_campaign):
        live, _ = campaign_state(read_side.db, campaign_id)
        assert live is not None
        assert campaign_view_as_of(ledger, read_side.db, live, now) == live


def test_a_campaign_did_not_exist_before_it_was_planned(
    world: World, read_side: ReadSide, ledger: Ledger
) -> None:
    """As of a moment before its first event there is no state, and listings leave it out."""
    story, _ = everything(world, read_side)
    live, _ = campaign_state(read_side.db, story.cancelled_campaign)
    assert live is not None
    planned = next(iter(ledger.events.get(story.cancelled_campaign)))
    assert isinstance(planned, LedgerAggregate.Event)
    before = planned.timestamp
    earlier = before - timedelta(microseconds=1)
    assert campaign_view_as_of(ledger, read_side.db, live, earlier) is None
    listed = campaigns_as_of(ledger, read_side.db, earlier, organization_id=world.org_id)
    assert [v.campaign_id for v in listed.items] == [str(world.campaign_id)]


def test_the_audit_trails_event_types_are_every_concrete_event_type() -> None:
    """The values of the audit trail's ``event_type`` filter are exactly the event classes
    the ledger stores (idempotency records aside)."""
    # event_types() leaves out every class named Created, the base's and Organization's
    assert {t.value for t in EventType} == event_types() | {"Organization.Created"}
