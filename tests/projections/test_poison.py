"""A store that already holds text a database cannot store: the views escape it, serve
every tenant, and rebuild."""

from __future__ import annotations

from uuid import UUID

from ledger import commands as c
from ledger.application.service import Ledger
from ledger.values import Channel
from projections.queries.audit import AuditFilter, audit_trail
from projections.queries.campaigns import campaign_state, campaigns
from projections.queries.register import recommendations
from projections.rebuild import checksum
from projections.service import ReadSide
from projections.views import ALL
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
