"""Events in, rows out: every kind of event the ledger records reaches the views."""

from __future__ import annotations

import inspect
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.application.service import Ledger
from ledger.domain import campaign, organization, recommendation
from ledger.domain.base import LedgerAggregate
from projections.queries.audit import AuditFilter, audit_trail
from projections.queries.campaigns import campaign_state
from projections.queries.exceptions import ExceptionKind, exception_counts
from projections.queries.register import recommendation as register_row
from projections.queries.report import handling_report
from projections.service import ReadSide
from tests.projections.scenario import Story, tell
from tests.support import World

ABSTRACT = {"Event", "Created", "Executed", "StatusChanged", "Decided"}


def event_types() -> set[str]:
    """Every concrete event class of the aggregates, by qualified name."""
    found = set()
    for module in (campaign, organization, recommendation):
        for _, agg in inspect.getmembers(module, inspect.isclass):
            if issubclass(agg, LedgerAggregate) and agg is not LedgerAggregate:
                for name, cls in vars(agg).items():
                    if (
                        isinstance(cls, type)
                        and issubclass(cls, LedgerAggregate.Event)
                        and name not in ABSTRACT
                    ):
                        found.add(cls.__qualname__)
    return found


def everything(world: World, read_side: ReadSide) -> tuple[Story, list[dict[str, Any]]]:
    story = tell(world)
    read_side.run_until_caught_up()
    rows, cursor = [], None
    while True:
        page = audit_trail(read_side.db, AuditFilter(), cursor=cursor, limit=500)
        rows += page.items
        if page.next_cursor is None:
            return story, rows
        cursor = page.next_cursor


def test_every_event_but_idempotency_records_becomes_one_audit_entry(
    world: World, read_side: ReadSide, ledger: Ledger
) -> None:
    """One entry per stored event, in log order, of every type; idempotency records none."""
    _, rows = everything(world, read_side)
    stored = ledger.recorder.select_notifications(0, 10_000, inclusive_of_start=False)
    expected = [n.id for n in stored if "CommandRecord" not in n.topic]
    assert len(expected) < len(stored), "the story records an idempotency key"
    assert [r["position"] for r in rows] == expected
    assert event_types() <= {r["event_type"] for r in rows}


def test_audit_entries_carry_who_what_why_and_the_links(world: World, read_side: ReadSide) -> None:
    """Decisions and executions link back to the recommendation, with before/after values."""
    story, rows = everything(world, read_side)
    about = [r for r in rows if r["recommendation_id"] == str(story.implemented)]
    assert [r["event_type"] for r in about] == [
        "Recommendation.Recommended",
        "Recommendation.Amended",
        "Recommendation.Approved",
        "Campaign.BudgetAdjusted",
        "Recommendation.Implemented",
    ]
    approved, executed, implemented = about[2], about[3], about[4]
    assert (approved["status_from"], approved["status_to"], approved["revision"]) == (
        "pending",
        "approved",
        2,
    )
    assert approved["role"] == "manager"
    assert approved["party"] == "client"
    assert approved["engagement_id"] == str(world.engagement_id)
    assert executed["budget_from"]["amount"] == "5000"
    assert executed["budget_to"]["amount"] == "5600"
    assert executed["as_approved"] == 1
    assert executed["campaign_id"] == str(world.campaign_id)
    assert implemented["execution_ref"] == f"{world.campaign_id}@{executed['version']}"
    assert about[0]["party"] == "agency"
    assert about[0]["actor_id"] == str(world.consultant.actor_id)
    rejected = next(r for r in rows if r["event_type"] == "Recommendation.Rejected")
    assert (rejected["reason_code"], rejected["reason"]) == ("timing", "peak season")
    deviation = [
        r
        for r in rows
        if r["recommendation_id"] == str(story.deviated)
        and r["event_type"] == "Campaign.BudgetAdjusted"
    ]
    assert deviation[0]["as_approved"] == 0
    assert deviation[0]["reason"] == "supplier capacity"
    paused = next(r for r in rows if r["event_type"] == "Campaign.Paused")
    assert (paused["status_from"], paused["status_to"]) == ("active", "paused")
    assert all(r["correlation_id"] and r["recorded_at"].endswith("+00:00") for r in rows)


def test_campaign_state_follows_every_change_and_derives_kpis_in_decimal(
    world: World, read_side: ReadSide
) -> None:
    """Status, budget, targets, channels, last change, totals with the correction applied."""
    story, _ = everything(world, read_side)
    view, position = campaign_state(read_side.db, world.campaign_id)
    assert view is not None
    assert position > 0
    assert view.status == "completed"
    assert view.channels == ["ppc"]
    assert view.budget == {"amount": "8000", "currency": "EUR", "period": "monthly"}
    assert (view.last_change_type, view.last_change_by) == (
        "Campaign.Completed",
        str(world.manager.actor_id),
    )
    assert view.performance["records"] == 1  # the correction replaced the first record
    assert (view.performance["spend"], view.performance["clicks"]) == (Decimal(120), 150)
    assert view.derived["cpa"] == Decimal("24.0000")
    assert view.derived["roas"] == Decimal("4.1667")
    assert view.derived["ctr"] == Decimal("0.0150")
    checks = {k.metric: k for k in view.kpis}
    assert checks["cpa"].met is False
    assert checks["ctr"].actual == Decimal("1.5000")
    assert view.pending_recommendations == 1  # the escalated one awaits the executive
    other, _ = campaign_state(read_side.db, story.cancelled_campaign)
    assert other is not None
    assert other.status == "cancelled"
    assert other.derived["cpa"] is None
    assert other.derived["roas"] is None


def test_the_register_knows_status_decider_timing_and_implementation(
    world: World, read_side: ReadSide
) -> None:
    """Each recommendation's row tells how it was handled, and how fast."""
    story, _ = everything(world, read_side)

    def row(rec_id: UUID) -> dict[str, Any]:
        found, _ = register_row(read_side.db, rec_id)
        assert found is not None
        return found

    done = row(story.implemented)
    assert (done["status"], done["revision"], done["implementation"]) == (
        "implemented",
        2,
        "as_approved",
    )
    assert done["decided_by"] == str(world.manager.actor_id)
    assert done["decision_ms"] > 0
    assert done["agency_id"] == str(world.agency_id)
    deviated = row(story.deviated)
    assert (deviated["implementation"], deviated["decided_role"], deviated["escalated"]) == (
        "with_deviation",
        "executive",
        True,
    )
    assert row(story.escalated)["status"] == "awaiting_executive"
    assert (row(story.advisory)["decision"], row(story.advisory)["status"]) == (
        "ApprovedWithChanges",
        "implemented",
    )
    assert row(story.withdrawn)["status"] == "withdrawn"
    assert row(story.expired)["status"] == "expired"
    assert row(story.not_implemented)["implementation"] == "not_yet"
    assert row(story.rejected)["reason_code"] == "timing"


def test_exceptions_and_handling_report_are_answered_from_the_register(
    world: World, read_side: ReadSide
) -> None:
    """Each kind of exception is found, and the report counts outcomes per consultant."""
    everything(world, read_side)
    later = world.clock.now + timedelta(days=30)
    counts = exception_counts(
        read_side.db, now=later, older_than_days=14, organization_id=world.org_id
    )
    assert counts[ExceptionKind.EXECUTION_WITHOUT_RECOMMENDATION] == 7
    assert counts[ExceptionKind.DEVIATION] == 1
    assert counts[ExceptionKind.APPROVED_NOT_IMPLEMENTED] == 1
    # thirty days on, the escalation is past its expiry too: expired, not pending
    assert counts[ExceptionKind.ESCALATION_PENDING] == 0
    assert counts[ExceptionKind.EXPIRED_UNDECIDED] == 2  # one expired, the escalation lapsed
    now = exception_counts(read_side.db, now=world.clock.now, organization_id=world.org_id)
    assert now[ExceptionKind.ESCALATION_PENDING] == 1
    report = handling_report(read_side.db, organization_id=world.org_id)
    (consultant,) = report.consultants
    assert consultant.recommendations == 8
    assert consultant.consultant_id == str(world.consultant.actor_id)
    assert (consultant.accepted, consultant.rejected) == (4, 1)
    assert consultant.acceptance_rate == Decimal("0.8000")
    assert (
        consultant.implemented_as_recommended,
        consultant.implemented_with_changes,
        consultant.not_implemented,
    ) == (1, 2, 1)
    assert consultant.median_decision_ms is not None
    assert consultant.p90_decision_ms is not None
    managers = {m.actor_id: m for m in report.managers}
    manager = managers[str(world.manager.actor_id)]
    assert manager.executions_without_recommendation == 6  # the executive launched (ADR 0012)
    assert manager.by_decision == {
        "Approved": 3,
        "ApprovedWithChanges": 1,
        "Escalated": 1,
        "Rejected": 1,
    }


def test_the_audit_trail_shows_who_authorised_each_launch_and_budget_change(
    world: World, read_side: ReadSide
) -> None:
    """The executive's launch reads executive-authorised in the entry's details; the
    manager's budget changes read within the manager's allowance or executive-authorised."""
    _, rows = everything(world, read_side)
    launched = [r for r in rows if r["event_type"] == "Campaign.Launched"]
    assert launched
    assert launched[0]["details"]["authority"] == "executive"
    adjusted = [
        r["details"]["authority"] for r in rows if r["event_type"] == "Campaign.BudgetAdjusted"
    ]
    assert adjusted
    assert set(adjusted) <= {"manager_allowance", "executive"}
