"""Expected versions, idempotency keys, and reading an aggregate as it was.

DOMAIN.md: an API client must be able to prove that a command was recorded exactly once, or
refused with a clear reason, even when it retries after a timeout; a reviewer must see the
state of a campaign as of any past moment. A command with an expected version that does not
match is refused naming the current version, and appends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eventsourcing.application import AggregateNotFoundError

from ledger import commands as c
from ledger.application.service import Ledger
from ledger.domain.idempotency import CommandRecord, record_id
from ledger.errors import IdempotencyKeyReused, InvalidCommand, RoleRequired, VersionConflict
from ledger.values import Channel, RejectionReason
from tests.ledger.checks import (
    amend_command,
    assert_refused,
    campaign,
    decision,
    recommendation,
    recommendation_in,
    store_state,
)
from tests.support import World, budget


def adjust(world: World, amount: str, **kw: object) -> c.AdjustBudget:
    return c.AdjustBudget(campaign_id=world.campaign_id, budget=budget(amount), **kw)  # type: ignore[arg-type]


def test_a_stale_expected_version_is_a_version_conflict_naming_the_current_version(
    world: World,
) -> None:
    """Given a campaign at version 2, a command expecting version 1 is refused, naming 2."""
    world.launch()
    error = assert_refused(
        world, world.manager, adjust(world, "6000", expected_version=1), VersionConflict
    )
    assert error.context == {
        "aggregate_id": world.campaign_id,
        "expected_version": 1,
        "current_version": 2,
    }


def test_a_matching_expected_version_is_accepted(world: World) -> None:
    """Given a campaign at version 2, a command expecting version 2 makes it version 3."""
    world.launch()
    result = world.run(world.manager, adjust(world, "6000", expected_version=2))
    assert result.version == campaign(world).version == 3


def test_a_decision_expecting_a_stale_version_of_the_recommendation_is_refused(
    world: World,
) -> None:
    """Given a recommendation withdrawn (version 2), a rejection expecting 1 is refused."""
    rec_id = world.recommend()
    world.run(
        world.consultant,
        c.WithdrawRecommendation(recommendation_id=rec_id, revision=1, reason="x"),
    )
    command = c.Reject(
        recommendation_id=rec_id,
        revision=1,
        reason_code=RejectionReason.TIMING,
        reason_text="late",
        expected_version=1,
    )
    error = assert_refused(world, world.manager, command, VersionConflict)
    assert error.context["current_version"] == 2


def test_a_command_that_creates_may_not_expect_a_version(world: World) -> None:
    """Given a plan command with an expected version, it is refused as invalid."""
    command = c.PlanCampaign(
        organization_id=world.org_id,
        name="x",
        objective="y",
        channels=(Channel.SEO,),
        budget=budget("1"),
        expected_version=1,
    )
    assert_refused(world, world.manager, command, InvalidCommand)


def test_a_repeated_idempotency_key_replays_the_first_result_and_writes_once(
    world: World,
) -> None:
    """Given an execution sent twice under one key, the second replays it; one set is stored."""
    rec_id = recommendation_in(world, "approved")
    command = c.AdjustBudget(
        campaign_id=world.campaign_id, budget=budget("5500"), implements=rec_id
    )
    before = store_state(world)
    first = world.run(world.manager, command, idempotency_key="k")
    after_first = store_state(world)
    second = world.run(world.manager, command, idempotency_key="k")
    assert store_state(world) == after_first
    assert (first.replayed, second.replayed) == (False, True)
    assert second == first
    assert second.as_dict() == first.as_dict()
    # The execution's two events and the record of the key: nothing more.
    new = after_first[1][len(before[1]) :]
    assert [topic.rsplit(":", 1)[1] for _, _, topic, _ in new] == [
        "Campaign.BudgetAdjusted",
        "Recommendation.Implemented",
        "CommandRecord.Recorded",
    ]
    assert recommendation(world, rec_id).state.status == "implemented"


def test_a_replay_outlives_the_process_that_recorded_it(
    world: World, make_ledger: Callable[[], Ledger]
) -> None:
    """Given a command recorded under a key, a new ledger on the store replays it."""
    first = world.run(world.manager, adjust(world, "6000"), idempotency_key="retry-after-timeout")
    restarted = World(make_ledger(), world.clock)
    restarted.manager = world.manager
    before = store_state(restarted)
    second = restarted.ledger.execute(
        adjust(world, "6000"), world.manager, idempotency_key="retry-after-timeout"
    )
    assert second.replayed
    assert second == first
    assert store_state(restarted) == before


def test_an_idempotency_key_reused_for_a_different_command_is_refused(world: World) -> None:
    """Given a key used for 6000, when 7000 is sent under it, it is refused; nothing written."""
    world.run(world.manager, adjust(world, "6000"), idempotency_key="k")
    error = assert_refused(
        world, world.manager, adjust(world, "7000"), IdempotencyKeyReused, idempotency_key="k"
    )
    assert error.context["first_command"] == "AdjustBudget"
    assert campaign(world).state.budget["amount"] == "6000"


def test_idempotency_keys_are_scoped_per_actor(world: World) -> None:
    """Given the manager's key 'k', the executive's own 'k' is a different key."""
    first = world.run(world.manager, adjust(world, "6000"), idempotency_key="k")
    second = world.run(world.executive, adjust(world, "7000"), idempotency_key="k")
    assert not second.replayed
    assert second.version == first.version + 1
    assert record_id(world.manager.actor_id, "k") != record_id(world.executive.actor_id, "k")
    for actor, amount in ((world.manager, "6000"), (world.executive, "7000")):
        record: object = world.ledger.repository.get(record_id(actor.actor_id, "k"))
        assert isinstance(record, CommandRecord)
        assert record.command_type == "AdjustBudget"
        assert record.outcome["version"] == (first.version if amount == "6000" else second.version)


def test_a_refused_command_under_a_key_records_nothing(world: World) -> None:
    """Given a consultant's launch under a key, it is refused and the key is not recorded."""
    command = c.LaunchCampaign(campaign_id=world.campaign_id)
    assert_refused(world, world.consultant, command, RoleRequired, idempotency_key="k")
    assert record_id(world.consultant.actor_id, "k") not in world.ledger.repository


def test_a_campaign_reads_as_it_was_at_any_past_version(world: World) -> None:
    """Given 5000 -> 6000 -> launch -> 7000, version n reads as it was after event n."""
    world.run(world.manager, adjust(world, "6000"))
    world.launch()
    world.run(world.manager, adjust(world, "7000"))
    history: list[Any] = [
        world.ledger.repository.get(world.campaign_id, version=n).state for n in range(1, 5)
    ]
    assert [(s.budget["amount"], s.status) for s in history] == [
        ("5000", "draft"),
        ("6000", "draft"),
        ("6000", "active"),
        ("7000", "active"),
    ]


def test_a_recommendation_reads_as_it_was_before_its_decision(world: World) -> None:
    """Given an amended then approved recommendation, versions 1-3 show each step."""
    rec_id = world.recommend()
    world.run(world.consultant, amend_command(world, rec_id))
    world.run(world.manager, decision("approve", rec_id, revision=2))
    states: list[Any] = [world.ledger.repository.get(rec_id, version=n).state for n in (1, 2, 3)]
    assert [(s.status, s.current.number) for s in states] == [
        ("pending", 1),
        ("pending", 2),
        ("approved", 2),
    ]


def test_reading_before_the_first_version_finds_nothing(world: World) -> None:
    """Given a campaign, reading it as of version 0 raises AggregateNotFoundError."""
    with pytest.raises(AggregateNotFoundError):
        world.ledger.repository.get(world.campaign_id, version=0)
