"""The typed outcome of a command record is stored as the same bytes as the plain dict was."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any
from uuid import UUID

from ledger import commands as c
from ledger.application.idempotency import CommandOutcome
from ledger.application.results import CommandResult
from ledger.domain.idempotency import CommandRecord, record_id
from ledger.identity import Actor
from ledger.values import Channel
from tests.support import World, budget


def hand_written(result: CommandResult, aggregate_type: str) -> dict[str, Any]:
    """The outcome as the ledger wrote it before it had a type: keys in this order."""
    return {
        "command": result.command,
        "aggregate_type": aggregate_type,
        "aggregate_id": str(result.aggregate_id),
        "version": result.version,
        "created": result.created,
        "resource_id": str(result.resource_id) if result.resource_id else None,
        "events": [
            {"aggregate_id": str(e.aggregate_id), "version": e.version, "type": e.type}
            for e in result.events
        ],
    }


def recorded(world: World, actor: Actor, key: str) -> tuple[CommandRecord.Recorded, bytes]:
    """The record event stored under the actor's key, and its stored state bytes."""
    ident = record_id(actor.actor_id, key)
    (event,) = world.ledger.events.get(ident)
    (stored,) = world.ledger.recorder.select_events(ident)
    assert isinstance(event, CommandRecord.Recorded)
    return event, stored.state


def test_a_command_record_stores_the_bytes_the_hand_written_outcome_gave(world: World) -> None:
    """Given a command that creates a resource and one that creates nothing, each sent under
    a key, each record's stored bytes equal those of the same event carrying the outcome
    dict written out by hand."""
    now = world.clock.now
    engaged = world.run(
        world.admin,
        c.StartEngagement(
            organization_id=world.org_id,
            agency_id=world.agency_id,
            consultant_ids=(world.consultant.actor_id,),
            channels=(Channel("seo"),),
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=30),
        ),
        idempotency_key="engage",
    )
    adjusted = world.run(
        world.manager,
        c.AdjustBudget(campaign_id=world.campaign_id, budget=budget("5100")),
        idempotency_key="adjust",
    )
    assert engaged.resource_id is not None
    assert adjusted.resource_id is None
    cases = (
        (world.admin, "engage", engaged, "Organization"),
        (world.manager, "adjust", adjusted, "Campaign"),
    )
    for actor, key, result, aggregate_type in cases:
        event, stored = recorded(world, actor, key)
        by_hand = dataclasses.replace(event, outcome=hand_written(result, aggregate_type))
        assert world.ledger.mapper.to_stored_event(by_hand).state == stored
        assert list(event.outcome) == list(hand_written(result, aggregate_type))


def test_a_stored_outcome_reads_into_the_typed_shape_and_back_unchanged(world: World) -> None:
    """Given a record stored under a key, its outcome parses into a CommandOutcome whose
    dict equals the stored one, keys in the same order, and whose result is the first one."""
    first = world.run(
        world.manager,
        c.AdjustBudget(campaign_id=world.campaign_id, budget=budget("5200")),
        idempotency_key="k",
    )
    event, _ = recorded(world, world.manager, "k")
    outcome = CommandOutcome.from_dict(event.outcome)
    assert outcome.as_dict() == event.outcome
    assert list(outcome.as_dict()) == list(event.outcome)
    assert outcome.aggregate_id == world.campaign_id
    assert isinstance(outcome.events[0].aggregate_id, UUID)
    positions = {(e.aggregate_id, e.version): e.position for e in first.events}
    assert outcome.result(positions, replayed=False) == first
