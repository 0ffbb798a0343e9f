"""Group commit: many commands in one transaction, each with its own result or refusal."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError

from ledger import commands as c
from ledger.application.batch import Batch, Cache
from ledger.application.decide import Submission
from ledger.application.group_commit import GroupCommitter, Job
from ledger.application.results import CommandResult
from ledger.application.service import Ledger
from ledger.errors import (
    IdempotencyKeyInFlight,
    NotFound,
    RoleRequired,
    StoreUnavailable,
    VersionConflict,
)
from ledger.persistence.recorders import StaleRead
from ledger.values import MemberRole
from tests.support import Clock, World, budget


@pytest.fixture
def world(ledger: Ledger, clock: Clock) -> World:
    return World(ledger, clock).setup()


def adjust(world: World, amount: str) -> c.AdjustBudget:
    return c.AdjustBudget(campaign_id=world.campaign_id, budget=budget(amount))


def test_a_batch_applies_commands_in_order_and_refuses_one_without_touching_the_others(
    world: World,
) -> None:
    """Given three jobs with a forbidden one in the middle, one transaction records the two
    allowed ones in order, the second seeing the first, and the forbidden one appends nothing."""
    committer = GroupCommitter(world.ledger)
    try:
        before = world.events()
        jobs = [
            Job(Submission(adjust(world, "5100"), world.manager, "r1")),
            Job(
                Submission(c.LaunchCampaign(campaign_id=world.campaign_id), world.consultant, "r2")
            ),
            Job(Submission(adjust(world, "5200"), world.manager, "r3")),
        ]
        committer._process(jobs)
        first, refused, third = (j.future for j in jobs)
        assert isinstance(refused.exception(), RoleRequired)
        assert first.result().version == 2
        assert third.result().version == 3
        assert third.result().position > first.result().position
        campaign: Any = world.ledger.repository.get(world.campaign_id)
        assert campaign.state.budget["amount"] == "5200"
        history: list[Any] = list(world.ledger.events.get(world.campaign_id))
        assert history[1].budget_to["amount"] == "5100"
        assert history[2].budget_from["amount"] == "5100"
        assert len(world.events()) == len(before) + 2
    finally:
        committer.close()


def test_the_same_idempotency_key_twice_in_one_batch_is_refused_as_in_flight(
    world: World,
) -> None:
    """The second request with a key already in the batch is told the first is in flight."""
    committer = GroupCommitter(world.ledger)
    try:
        jobs = [
            Job(Submission(adjust(world, "5100"), world.manager, "r1", key="k")),
            Job(Submission(adjust(world, "5100"), world.manager, "r2", key="k")),
        ]
        committer._process(jobs)
        assert jobs[0].future.result().version == 2
        assert isinstance(jobs[1].future.exception(), IdempotencyKeyInFlight)
        replay = committer.execute(
            adjust(world, "5100"), world.manager, correlation_id="r3", idempotency_key="k"
        )
        assert replay.replayed
        assert replay.events == jobs[0].future.result().events
    finally:
        committer.close()


def test_a_batch_that_loses_a_race_is_rerun_command_by_command(
    world: World, make_ledger: Callable[[], Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When another process writes an aggregate of the batch before it commits, nothing of
    the batch is written and each command is re-run alone against the new state."""
    other = make_ledger()
    committer = GroupCommitter(world.ledger)
    real_save = world.ledger.save
    raced: list[Any] = []

    def racing_save(*objs: Any, **kw: Any) -> Any:
        if not raced:
            raced.append(other.execute(adjust(world, "5900"), world.manager))
        return real_save(*objs, **kw)

    monkeypatch.setattr(world.ledger, "save", racing_save)
    try:
        jobs = [
            Job(Submission(adjust(world, "5100"), world.manager, "r1")),
            Job(Submission(adjust(world, "5200"), world.executive, "r2")),
        ]
        committer._process(jobs)
        assert [j.future.result().version for j in jobs] == [3, 4]
        history: list[Any] = list(world.ledger.events.get(world.campaign_id))
        assert [e.originator_version for e in history] == [1, 2, 3, 4]
        assert history[2].budget_from["amount"] == "5900"
    finally:
        committer.close()


def test_threads_sharing_a_committer_lose_nothing_and_duplicate_nothing(world: World) -> None:
    """Twenty-four threads adjusting one campaign: every command recorded once, versions
    contiguous, each caller's result names its own event."""
    committer = GroupCommitter(world.ledger)
    try:

        def send(i: int) -> int:
            result = committer.execute(
                adjust(world, str(5000 + 10 * (i + 1))), world.manager, correlation_id=f"t{i}"
            )
            return result.version

        with ThreadPoolExecutor(24) as pool:
            versions = list(pool.map(send, range(24)))
        assert sorted(versions) == list(range(2, 26))
        history: list[Any] = list(world.ledger.events.get(world.campaign_id))
        assert [e.originator_version for e in history] == list(range(1, 26))
        amounts = {e.budget_to["amount"] for e in history[1:]}
        assert amounts == {str(5000 + 10 * (i + 1)) for i in range(24)}
    finally:
        committer.close()


def test_a_right_revoked_by_another_process_is_not_honoured_from_the_writers_cache(
    world: World, make_ledger: Callable[[], Ledger]
) -> None:
    """The committer has the organization cached from an earlier batch; another process then
    revokes the manager's role. The manager's next command is refused, and nothing is
    appended: the organization's version is checked at commit time, not trusted."""
    committer = GroupCommitter(world.ledger)
    other = make_ledger()
    try:
        committer.execute(adjust(world, "5100"), world.manager, correlation_id="r1")
        assert world.org_id in committer.cache._items
        other.execute(
            c.RevokeMembership(
                organization_id=world.org_id,
                member_id=world.manager.actor_id,
                member_role=MemberRole("manager"),
                reason="left the company",
            ),
            world.admin,
        )
        before = world.events()
        with pytest.raises(NotFound):  # a former member no longer sees the campaign
            committer.execute(adjust(world, "5200"), world.manager, correlation_id="r2")
        assert world.events() == before
        assert committer.stale_batches == 1
    finally:
        committer.close()


def test_an_if_match_on_a_version_written_by_another_process_is_accepted(
    world: World, make_ledger: Callable[[], Ledger]
) -> None:
    """The committer's cached campaign is one version behind a write by another process; a
    command expecting the new version is accepted, not refused as a conflict."""
    committer = GroupCommitter(world.ledger)
    other = make_ledger()
    try:
        first = committer.execute(adjust(world, "5100"), world.manager, correlation_id="r1")
        moved = other.execute(adjust(world, "5150"), world.manager)
        assert moved.version == first.version + 1
        command = c.AdjustBudget(
            campaign_id=world.campaign_id, budget=budget("5200"), expected_version=moved.version
        )
        result = committer.execute(command, world.manager, correlation_id="r2")
        assert result.version == moved.version + 1
        history: list[Any] = list(world.ledger.events.get(world.campaign_id))
        assert history[-1].budget_from["amount"] == "5150"
        with pytest.raises(VersionConflict) as conflict:
            committer.execute(command, world.manager, correlation_id="r3")
        assert conflict.value.context["current_version"] == result.version
    finally:
        committer.close()


def test_a_key_recorded_by_another_process_is_replayed_not_recorded_twice(
    world: World, make_ledger: Callable[[], Ledger]
) -> None:
    """The same idempotency key sent to two processes: one event, and the second process
    answers with the first one's result."""
    committer = GroupCommitter(world.ledger)
    other = make_ledger()
    try:
        committer.execute(adjust(world, "5050"), world.manager, correlation_id="warm")
        first = other.execute(adjust(world, "5100"), world.manager, idempotency_key="same")
        before = world.events()
        again = committer.execute(
            adjust(world, "5100"), world.manager, correlation_id="r2", idempotency_key="same"
        )
        assert again.replayed
        assert again.events == first.events
        assert world.events() == before
    finally:
        committer.close()


def test_an_append_whose_reads_moved_on_writes_nothing(world: World) -> None:
    """The store refuses an append whose read set is stale, inside its own transaction."""
    organization: Any = world.ledger.repository.get(world.org_id)
    before = world.events()
    stale = {world.org_id: organization.version - 1}
    submission = Submission(adjust(world, "5300"), world.manager, "r")
    committer = GroupCommitter(world.ledger)
    try:
        view_events = Batch(world.ledger, Cache(10)).decide_one(submission).events
        with pytest.raises(StaleRead) as refused:
            world.ledger.save(*view_events, expect_versions=stale)
        assert refused.value.stale == [world.org_id]
        assert world.events() == before
        world.ledger.save(*view_events, expect_versions={world.org_id: organization.version})
        assert len(world.events()) == len(before) + 1
    finally:
        committer.close()


def test_a_batch_answers_each_submission_in_order_without_a_writer_thread(world: World) -> None:
    """The batch steps alone (no committer, no thread): one answer per submission, in order,
    the refusal as its error, the accepted ones saved with the key's record."""
    before = world.events()
    batch = Batch(world.ledger, Cache(10))
    answers = batch.run(
        [
            Submission(adjust(world, "5100"), world.manager, "r1"),
            Submission(c.LaunchCampaign(campaign_id=world.campaign_id), world.consultant, "r2"),
            Submission(adjust(world, "5200"), world.manager, "r3", key="k"),
        ]
    )
    first, refused, third = answers
    assert isinstance(refused, RoleRequired)
    assert isinstance(first, CommandResult)
    assert isinstance(third, CommandResult)
    assert (first.version, third.version) == (2, 3)
    assert not batch.stale
    assert len(world.events()) == len(before) + 3  # two changes and one key record


def test_a_store_lost_mid_batch_answers_every_command_with_store_unavailable(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store goes away after the first command of a batch was decided: every command,
    the decided one too, is answered 503-style, and nothing is appended."""
    other = world.plan()
    before = world.events()
    real_get = world.ledger.repository.get

    def get(aggregate_id: Any, **kw: Any) -> Any:
        if aggregate_id == other:
            raise OperationalError("connection lost")
        return real_get(aggregate_id, **kw)

    monkeypatch.setattr(world.ledger.repository, "get", get)
    answers = Batch(world.ledger, Cache(10)).run(
        [
            Submission(adjust(world, "5100"), world.manager, "r1"),
            Submission(c.AdjustBudget(campaign_id=other, budget=budget("10")), world.manager, "r2"),
        ]
    )
    assert [type(a) for a in answers] == [StoreUnavailable, StoreUnavailable]
    assert world.events() == before
