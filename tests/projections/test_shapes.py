"""A release that changes a view's columns: the view is rebuilt in its new shape, and no
query reads (or runner writes) the old tables meanwhile (ADR 0014)."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.application.service import Ledger
from projections import catalog
from projections.catalog import Projection
from projections.errors import ProjectionNotReady
from projections.queries.register import recommendations
from projections.service import ReadSide
from projections.views.register import EXECUTIONS
from projections.views.register import PROJECTION as REGISTER
from tests.projections.scenario import tell
from tests.support import World


def next_release() -> Projection:
    """The register as a later release declares it: its executions gain a column."""
    wider = dataclasses.replace(EXECUTIONS, columns=EXECUTIONS.columns + ", later_note TEXT")
    tables = tuple(wider if t.slot == EXECUTIONS.slot else t for t in REGISTER.tables)
    return dataclasses.replace(REGISTER, tables=tables)


def rows(side: ReadSide, projection: Projection) -> int:
    with side.db.transaction() as tx:
        bound, _, _ = catalog.readable(tx, projection)
        return int(bound.scalar("SELECT COUNT(*) FROM {recommendations}"))


def test_a_view_whose_columns_changed_answers_not_ready_then_is_rebuilt_in_its_new_shape(
    world: World, ledger: Ledger, read_side: ReadSide
) -> None:
    """Installed and filled by one release, read by the next: its queries answer
    ProjectionNotReady (not a missing-column error), and its runner rebuilds the view into
    a new generation with the new columns and every row, then serves it."""
    tell(world)
    read_side.run_until_caught_up()
    before = rows(read_side, REGISTER)
    assert before > 0
    later = next_release()
    assert later.shape != REGISTER.shape
    with ReadSide(ledger, projections=(later,), lease_ttl=1.0) as side:
        side.install()
        with side.db.transaction() as tx, pytest.raises(ProjectionNotReady, match="new shape"):
            catalog.readable(tx, later)
        [state] = side.status()
        assert not state.in_shape
        side.run_until_caught_up()
        [state] = side.status()
        assert state.in_shape
        assert state.generation == 2
        assert rows(side, later) == before
        with side.db.transaction() as tx:
            bound, _, _ = catalog.readable(tx, later)
            assert "later_note" in bound.columns("executions_g2")
    # The older release now finds the view in a shape it does not read: it says so.
    with read_side.db.transaction() as tx, pytest.raises(ProjectionNotReady):
        catalog.readable(tx, REGISTER)


def test_tables_from_before_shapes_were_recorded_are_kept_when_their_columns_match(
    world: World, read_side: ReadSide
) -> None:
    """A store installed before shapes were recorded has no shape rows: install records
    the code's shape when the tables' columns are the declared ones, and nothing is
    rebuilt."""
    tell(world)
    read_side.run_until_caught_up()
    with read_side.db.transaction(write=True) as tx:
        tx.execute("DELETE FROM projection_shapes")
    read_side.install()
    with read_side.db.transaction() as tx:
        assert catalog.shape_of(tx, REGISTER.name, 1) == REGISTER.shape
    page = recommendations(read_side.db, organization_id=world.org_id)
    assert page.items


def test_tables_from_before_shapes_were_recorded_are_rebuilt_when_their_columns_differ(
    world: World, ledger: Ledger, read_side: ReadSide
) -> None:
    """The same store read by a release whose columns differ: the shape is recorded as
    unknown, and the runner rebuilds the view."""
    tell(world)
    read_side.run_until_caught_up()
    with read_side.db.transaction(write=True) as tx:
        tx.execute("DELETE FROM projection_shapes")
    later = next_release()
    with ReadSide(ledger, projections=(later,), lease_ttl=1.0) as side:
        side.install()
        with side.db.transaction() as tx:
            assert catalog.shape_of(tx, later.name, 1) == "unknown"
        side.run_until_caught_up()
        assert [s.generation for s in side.status()] == [2]
        assert rows(side, later) > 0
