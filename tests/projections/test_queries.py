"""Queries: filters, cursors, clamped limits, tenant restriction, exports, as-of, status."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger.application.service import Ledger
from ledger.domain.base import LedgerAggregate
from projections import catalog, flat
from projections.asof import campaign_as_of, recommendation_as_of
from projections.errors import InvalidQuery
from projections.export import _object, export_audit
from projections.flat import CSV_COLUMNS, NAME_COLUMNS, NAMED_COLUMNS, REPEATED
from projections.queries.audit import AuditFilter, audit_trail
from projections.queries.campaigns import campaigns
from projections.queries.exceptions import ExceptionKind, exceptions
from projections.queries.paging import MAX_LIMIT
from projections.queries.register import recommendations
from projections.queries.report import handling_report
from projections.service import ReadSide
from projections.views import audit
from tests.projections.checks import logged
from tests.projections.scenario import Story, tell
from tests.support import World


@pytest.fixture
def story(world: World, read_side: ReadSide) -> Story:
    told = tell(world)
    read_side.run_until_caught_up()
    return told


def every_page(read_side: ReadSide, flt: AuditFilter, limit: int) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        page = audit_trail(read_side.db, flt, cursor=cursor, limit=limit)
        pages.append([int(r["position"]) for r in page.items])
        if (cursor := page.next_cursor) is None:
            return pages


def test_cursor_pages_list_every_entry_once_in_log_order(
    story: Story, read_side: ReadSide, ledger: Ledger
) -> None:
    """Pages of 7 cover the trail without gap or overlap; the last page has no cursor."""
    pages = every_page(read_side, AuditFilter(), 7)
    assert [p for page in pages for p in page] == logged(ledger)
    assert all(len(page) == 7 for page in pages[:-1])


def test_limits_are_clamped_and_foreign_cursors_refused(story: Story, read_side: ReadSide) -> None:
    """A limit below 1 gives one row, above the maximum the maximum; a bad cursor is an error."""
    assert len(audit_trail(read_side.db, AuditFilter(), limit=0).items) == 1
    assert len(audit_trail(read_side.db, AuditFilter(), limit=10**6).items) <= MAX_LIMIT
    with pytest.raises(InvalidQuery):
        audit_trail(read_side.db, AuditFilter(), cursor="1; DROP TABLE audit_g1")


def test_filters_select_by_campaign_recommendation_actor_role_type_and_time(
    story: Story, world: World, read_side: ReadSide
) -> None:
    """Each filter returns exactly the matching entries."""
    db = read_side.db
    everything = audit_trail(db, AuditFilter(), limit=500).items

    def ids(flt: AuditFilter) -> list[int]:
        return [r["position"] for r in audit_trail(db, flt, limit=500).items]

    def expect(pred: object) -> list[int]:
        return [r["position"] for r in everything if pred(r)]  # type: ignore[operator]

    cid, rid = str(world.campaign_id), str(story.implemented)
    assert ids(AuditFilter(campaign_id=world.campaign_id)) == expect(
        lambda r: r["campaign_id"] == cid
    )
    assert ids(AuditFilter(recommendation_id=story.implemented)) == expect(
        lambda r: r["recommendation_id"] == rid
    )
    consultant = str(world.consultant.actor_id)
    assert ids(AuditFilter(actor_id=world.consultant.actor_id)) == expect(
        lambda r: r["actor_id"] == consultant
    )
    assert ids(AuditFilter(roles=("executive",))) == expect(lambda r: r["role"] == "executive")
    assert ids(AuditFilter(parties=("agency",))) == expect(lambda r: r["party"] == "agency")
    kinds = ("Recommendation.Rejected", "Campaign.Paused")
    assert ids(AuditFilter(event_types=kinds)) == expect(lambda r: r["event_type"] in kinds)
    middle = everything[len(everything) // 2]["recorded_at"]
    since = datetime.fromisoformat(middle)
    assert ids(AuditFilter(since=since)) == expect(lambda r: r["recorded_at"] >= middle)
    assert ids(AuditFilter(until=since)) == expect(lambda r: r["recorded_at"] < middle)
    assert ids(AuditFilter(organization_id=uuid4())) == []


def test_a_consultant_sees_only_its_engagements_rows(
    story: Story, world: World, read_side: ReadSide
) -> None:
    """Restricted to its engagement, a consultant sees its recommendations and how they
    were handled, and no manager-initiated execution; no engagement means nothing."""
    db, mine = read_side.db, {world.engagement_id}
    rows = audit_trail(db, AuditFilter(visible_to=mine), limit=500).items
    assert rows
    assert {r["engagement_id"] for r in rows} == {str(world.engagement_id)}
    assert "Recommendation.Approved" in {r["event_type"] for r in rows}
    assert "Campaign.Paused" not in {r["event_type"] for r in rows}
    assert audit_trail(db, AuditFilter(visible_to=set()), limit=500).items == []
    assert len(recommendations(db, visible_to=mine, limit=500).items) == 8
    assert recommendations(db, visible_to={uuid4()}).items == []
    assert {v.campaign_id for v in campaigns(db, visible_to=mine).items} == {
        str(world.campaign_id),
        str(story.cancelled_campaign),
    }
    assert campaigns(db, visible_to={uuid4()}).items == []
    later = world.clock.now + timedelta(days=30)
    assert (
        exceptions(
            db, ExceptionKind.EXECUTION_WITHOUT_RECOMMENDATION, now=later, visible_to=mine
        ).items
        == []
    )
    report = handling_report(db, visible_to=mine, period="month")
    assert all(m.executions_without_recommendation is None for m in report.managers)
    assert [row.period for row in report.consultants] == ["2026-03"]


def test_exceptions_are_listed_a_page_at_a_time_with_their_kind(
    story: Story, world: World, read_side: ReadSide
) -> None:
    """The deviation, the escalation and the approval left undone are each found."""
    later = world.clock.now + timedelta(days=30)
    deviation = exceptions(read_side.db, ExceptionKind.DEVIATION, now=later).items
    assert [(r["exception"], r["recommendation_id"]) for r in deviation] == [
        ("deviation", str(story.deviated))
    ]
    now = world.clock.now
    pending = exceptions(read_side.db, ExceptionKind.ESCALATION_PENDING, now=now).items
    assert [r["recommendation_id"] for r in pending] == [str(story.escalated)]
    # thirty days on, it is past its expiry: expired, no longer a pending escalation
    assert exceptions(read_side.db, ExceptionKind.ESCALATION_PENDING, now=later).items == []
    undone = exceptions(
        read_side.db, ExceptionKind.APPROVED_NOT_IMPLEMENTED, now=later, older_than_days=14
    )
    assert [r["recommendation_id"] for r in undone.items] == [str(story.not_implemented)]
    assert (
        exceptions(
            read_side.db,
            ExceptionKind.APPROVED_NOT_IMPLEMENTED,
            now=world.clock.now,
            older_than_days=14,
        ).items
        == []
    )
    first = exceptions(
        read_side.db, ExceptionKind.EXECUTION_WITHOUT_RECOMMENDATION, now=later, limit=3
    )
    assert len(first.items) == 3
    rest = exceptions(
        read_side.db,
        ExceptionKind.EXECUTION_WITHOUT_RECOMMENDATION,
        now=later,
        cursor=first.next_cursor,
    )
    assert len(rest.items) == 4
    assert rest.next_cursor is None


def test_exports_stream_the_filtered_trail_as_csv_and_ndjson(
    story: Story, world: World, read_side: ReadSide
) -> None:
    """Both formats hold the same entries as the query, in order, JSON columns intact."""
    flt = AuditFilter(campaign_id=world.campaign_id)
    expected = [r["position"] for r in audit_trail(read_side.db, flt, limit=500).items]
    rows = list(csv.DictReader(io.StringIO("".join(export_audit(read_side.db, flt, "csv")))))
    assert [int(r["position"]) for r in rows] == expected
    lines = "".join(export_audit(read_side.db, flt, "ndjson", chunk_rows=3)).splitlines()
    objects = [json.loads(line) for line in lines]
    assert [o["position"] for o in objects] == expected
    every = "".join(export_audit(read_side.db, AuditFilter(), "ndjson", chunk_rows=7))
    reference = [
        json.dumps(_object(row), separators=(",", ":"), ensure_ascii=False)
        for row in map(itemgetter(*NAMED_COLUMNS), stream_all(read_side))
    ]  # no directory given: every name is null
    assert every.splitlines() == reference  # the copied JSON text is what re-encoding gives
    adjusted = next(o for o in objects if o["event_type"] == "Campaign.BudgetAdjusted")
    assert adjusted["budget_to"]["currency"] == "EUR"
    chunks = export_audit(read_side.db, AuditFilter(), "ndjson", chunk_rows=1)
    next(chunks)
    chunks.close()  # a client that goes away mid-export gives the connection back
    assert audit_trail(read_side.db, AuditFilter(), limit=1).items


def stream_all(read_side: ReadSide) -> list[dict[str, Any]]:
    """Every audit row as stored, in log order, with no names (no directory)."""
    with read_side.db.transaction() as tx:
        vtx, _, _ = catalog.readable(tx, audit.PROJECTION)
        rows = list(vtx.all("SELECT * FROM {audit} ORDER BY position"))
    return [{**row, **dict.fromkeys(NAME_COLUMNS.values())} for row in rows]


def fill_audit(read_side: ReadSide, rows: int) -> None:
    """Copies of one entry at fresh positions: cheap bulk for the memory measurement."""
    with read_side.db.transaction(write=True) as tx:
        vtx, _, _ = catalog.readable(tx, audit.PROJECTION)
        template = vtx.one("SELECT * FROM {audit} ORDER BY position DESC LIMIT 1")
        assert template is not None
        start = int(template["position"]) + 1
        columns = list(template)
        marks = ", ".join("?" * len(columns))
        sql = "INSERT INTO {audit} (" + ", ".join(columns) + ") VALUES (" + marks + ")"
        values = [template[c] for c in columns]
        vtx.executemany(sql, [[start + i, *values[1:]] for i in range(rows)])
        vtx.execute(  # the view has applied them: an export covers up to its position
            "UPDATE projection_tracking SET position = ? WHERE projection = ?",
            (start + rows - 1, audit.PROJECTION.name),
        )


def peak_export_memory(read_side: ReadSide) -> tuple[int, int]:
    tracemalloc.start()
    try:
        total = sum(len(chunk) for chunk in export_audit(read_side.db, AuditFilter(), "csv"))
        return tracemalloc.get_traced_memory()[1], total
    finally:
        tracemalloc.stop()


def test_an_export_runs_in_memory_that_does_not_grow_with_the_row_count(
    story: Story, read_side: ReadSide
) -> None:
    """Five times the rows, not five times the memory: the peak stays within a bound set
    by one fetch and one chunk."""
    fill_audit(read_side, 10_000)
    small, small_bytes = peak_export_memory(read_side)
    fill_audit(read_side, 40_000)
    large, large_bytes = peak_export_memory(read_side)
    assert large_bytes > 4 * small_bytes
    assert large < small * 1.5 + 256 * 1024, (small, large)


def recorded_at(ledger: Ledger, aggregate_id: UUID) -> dict[str, datetime]:
    """When each kind of event of one aggregate was recorded (the last of its kind)."""
    times = {}
    for event in ledger.events.get(aggregate_id):
        assert isinstance(event, LedgerAggregate.Event)
        times[type(event).__qualname__] = event.timestamp
    return times


def test_as_of_answers_from_the_events_for_any_past_moment(
    story: Story, world: World, ledger: Ledger
) -> None:
    """Before planning there is no campaign; at its launch it is active with the planned
    budget; a recommendation is approved at its approval and implemented at its execution."""
    times = recorded_at(ledger, world.campaign_id)
    launched = times["Campaign.Launched"]
    assert campaign_as_of(ledger, world.campaign_id, launched - timedelta(days=30)) is None
    at_launch = campaign_as_of(ledger, world.campaign_id, launched)
    assert at_launch is not None
    assert (at_launch.status, at_launch.budget["amount"]) == ("active", "5000")
    now = campaign_as_of(ledger, world.campaign_id, world.clock.now)
    assert now is not None
    assert (now.status, now.budget["amount"]) == ("completed", "8000")
    steps = recorded_at(ledger, story.implemented)
    approved = recommendation_as_of(ledger, story.implemented, steps["Recommendation.Approved"])
    assert approved is not None
    assert (approved.status, approved.revision, approved.version) == ("approved", 2, 3)
    done = recommendation_as_of(ledger, story.implemented, steps["Recommendation.Implemented"])
    assert done is not None
    assert done.status == "implemented"
    assert recommendation_as_of(ledger, story.rejected, launched) is None


def test_status_reports_position_and_lag_per_projection(
    world: World, read_side: ReadSide, ledger: Ledger
) -> None:
    """Lag is the whole log before the runners ran, and none after."""
    head = logged(ledger)[-1]
    assert {s.lag for s in read_side.status()} == {head}
    read_side.run_until_caught_up()
    assert {(s.position, s.lag, s.generation) for s in read_side.status()} == {(head, 0, 1)}


def test_every_kind_of_event_exports_to_named_csv_columns_with_nothing_left_over(
    story: Story, read_side: ReadSide
) -> None:
    """The story records every kind of event: each CSV row fills only named columns
    (``details.other`` stays empty), and every event field of the row has a cell."""
    text = "".join(export_audit(read_side.db, AuditFilter(), "csv"))
    rows = list(csv.DictReader(io.StringIO(text)))
    stored = stream_all(read_side)
    assert len(rows) == len(stored)
    assert {r["event_type"] for r in rows} >= {
        "Organization.SettingsChanged",
        "Organization.EngagementAmended",
        "Campaign.PerformanceRecorded",
        "Recommendation.ApprovedWithChanges",
        "Recommendation.Implemented",
    }
    assert [r["details.other"] for r in rows] == [""] * len(rows)
    for row, entry in zip(rows, stored, strict=True):
        details = json.loads(entry["details"])
        for key, value in details.items():
            if key in REPEATED or not holds_a_value(value):
                continue
            filled = [c for c in row if c.startswith(f"details.{key}") and row[c]]
            assert filled, (entry["event_type"], key)


def holds_a_value(value: Any) -> bool:
    if isinstance(value, dict):
        return any(holds_a_value(v) for v in value.values())
    return value not in (None, [])


def test_an_event_field_without_a_column_is_kept_in_details_other() -> None:
    """A field added after the column list was written lands in details.other as
    path=value, in path order; the known fields keep their columns."""
    row = dict.fromkeys(NAMED_COLUMNS)
    row.update(
        position=7,
        details=json.dumps({"note": "ok", "new_field": "=1+1", "nested": {"x": [1, 2]}}),
        budget_to=json.dumps({"amount": "-5.00", "currency": "EUR", "cap": "9"}),
    )
    cells = dict(zip(CSV_COLUMNS, flat.cells(row), strict=True))
    assert cells["details.note"] == "ok"
    assert cells["budget_to.amount"] == "-5.00"
    other = "budget_to.cap=9; details.nested.x=1; 2; details.new_field==1+1"
    assert cells["details.other"] == other
    assert cells["position"] == 7
