"""Stored events are a contract: their topics and bytes must not change by accident.

Golden files under ``tests/fixtures/events/golden`` hold one event of each aggregate type
(and the two that carry decisions and executions) exactly as the library stores them:
topic, originator id and version, and the state bytes. Events are built here with fixed ids
and times, so any change to a class name, module, field or encoding fails a test. An
intended change needs an upcaster (``class_version`` + ``upcast_vN_vN+1``), a line in
docs/events.md and ADR 0001, and then ``LEDGER_UPDATE_GOLDEN=1 pytest tests/ledger`` to
rewrite these files.

Files under ``tests/fixtures/events/v1`` hold events as an earlier class version wrote
them; they are history and are never regenerated: loading them proves the upcasters work.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from ledger.application.service import Ledger
from ledger.domain.agency import Agency
from ledger.domain.base import LedgerAggregate
from ledger.domain.campaign import Campaign
from ledger.domain.idempotency import CommandRecord
from ledger.domain.organization import Organization
from ledger.domain.recommendation import Recommendation
from ledger.policy.limits import used_by
from tests.ledger.test_tenancy_and_envelope import event_classes

FIXTURES = Path(__file__).parents[1] / "fixtures" / "events"
DOCS = Path(__file__).parents[2] / "docs" / "events.md"
UPDATE = os.environ.get("LEDGER_UPDATE_GOLDEN", "") not in ("", "0")

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORG = UUID("0f000000-0000-4000-8000-000000000001")
CAMPAIGN = UUID("0c000000-0000-4000-8000-000000000002")
REC = UUID("0e000000-0000-4000-8000-000000000003")
RECORD = UUID("0d000000-0000-4000-8000-000000000004")
ENGAGEMENT = UUID("0a000000-0000-4000-8000-000000000005")
AGENCY = UUID("0b000000-0000-4000-8000-000000000006")
OPERATOR = UUID("a0000000-0000-4000-8000-00000000000a")
MANAGER = UUID("a0000000-0000-4000-8000-00000000000b")
CONSULTANT = UUID("a0000000-0000-4000-8000-00000000000c")
BUDGET = {"amount": "5000", "currency": "EUR", "period": "monthly"}
RAISED = {"amount": "5500", "currency": "EUR", "period": "monthly"}


def envelope(actor: UUID, role: str, party: str, engagement: UUID | None = None) -> dict[str, Any]:
    return {
        "actor_id": actor,
        "role": role,
        "party": party,
        "organization_id": ORG,
        "engagement_id": engagement,
        "correlation_id": "corr-golden",
        "causation_id": "cause-golden",
        "timestamp": AT,
    }


CLIENT = envelope(MANAGER, "manager", "client")


def golden_events() -> dict[str, LedgerAggregate.Event]:
    """One event per aggregate type, plus a decision and an execution, with fixed values."""
    return {
        "organization-created": Organization.Created(
            originator_id=ORG,
            originator_version=1,
            originator_topic=get_topic(Organization),
            name="Client A",
            default_currency="EUR",
            approval_limit=Decimal("1000"),
            **envelope(OPERATOR, "operator", "platform"),
        ),
        "agency-registered": Agency.Registered(
            originator_id=AGENCY,
            originator_version=1,
            originator_topic=get_topic(Agency),
            name="Agency North",
            **{**envelope(OPERATOR, "operator", "platform"), "organization_id": AGENCY},
        ),
        "campaign-planned": Campaign.Planned(
            originator_id=CAMPAIGN,
            originator_version=1,
            originator_topic=get_topic(Campaign),
            name="Spring sale",
            objective="Grow online sales",
            channels=["ppc", "social"],
            budget=BUDGET,
            kpi_targets=[{"metric": "cpa", "target": "12.50", "unit": "EUR"}],
            **CLIENT,
        ),
        "campaign-budget-adjusted": Campaign.BudgetAdjusted(
            originator_id=CAMPAIGN,
            originator_version=2,
            implements={"recommendation_id": str(REC), "revision": 1},
            deviation_reason=None,
            note="as approved",
            budget_from=BUDGET,
            budget_to=RAISED,
            authority="manager_allowance",
            allowance_used="500",
            **CLIENT,
        ),
        "recommendation-recommended": Recommendation.Recommended(
            originator_id=REC,
            originator_version=1,
            originator_topic=get_topic(Recommendation),
            campaign_id=CAMPAIGN,
            kind="adjust_budget",
            change={"budget": RAISED},
            rationale="CPA is falling on PPC",
            evidence=["report-2026-02"],
            expected_impact="+12% conversions",
            expires_at=AT + timedelta(days=14),
            **envelope(CONSULTANT, "consultant", "agency", ENGAGEMENT),
        ),
        "recommendation-approved": Recommendation.Approved(
            originator_id=REC,
            originator_version=2,
            revision=1,
            approved_change={"budget": RAISED},
            awaiting_executive=False,
            note=None,
            **CLIENT,
        ),
        "command-record-recorded": CommandRecord.Recorded(
            originator_id=RECORD,
            originator_version=1,
            originator_topic=get_topic(CommandRecord),
            idempotency_key="k-1",
            command_type="AdjustBudget",
            fingerprint="0" * 64,
            outcome={"command": "AdjustBudget", "version": 2, "events": []},
            **CLIENT,
        ),
    }


@dataclass(frozen=True)
class EventFile:
    """A stored event as a fixture: ``<key> <value>`` lines, the state bytes last."""

    topic: str
    originator_id: UUID
    originator_version: int
    state: bytes

    @classmethod
    def read(cls, path: Path) -> EventFile:
        lines = path.read_bytes().split(b"\n")
        fields = dict(line.split(b" ", 1) for line in lines[:4])
        return cls(
            topic=fields[b"topic"].decode(),
            originator_id=UUID(fields[b"originator_id"].decode()),
            originator_version=int(fields[b"originator_version"]),
            state=fields[b"state"],
        )

    @classmethod
    def of(cls, stored: StoredEvent) -> EventFile:
        return cls(
            stored.topic, UUID(str(stored.originator_id)), stored.originator_version, stored.state
        )

    def write(self, path: Path) -> None:
        path.write_bytes(
            b"topic %s\noriginator_id %s\noriginator_version %d\nstate %s\n"
            % (
                self.topic.encode(),
                str(self.originator_id).encode(),
                self.originator_version,
                self.state,
            )
        )

    def stored(self) -> StoredEvent:
        return StoredEvent(self.originator_id, self.originator_version, self.topic, self.state)


@pytest.mark.parametrize("name", list(golden_events()))
def test_the_current_serialization_matches_the_golden_file_byte_for_byte(
    ledger: Ledger, name: str
) -> None:
    """Given a fixed event, its stored topic, ids and state bytes equal the golden file."""
    path = FIXTURES / "golden" / f"{name}.event"
    current = EventFile.of(ledger.mapper.to_stored_event(golden_events()[name]))
    if UPDATE:
        current.write(path)
    assert current == EventFile.read(path), (
        f"the stored form of {current.topic} changed: add an upcaster and a line in "
        "docs/events.md, then LEDGER_UPDATE_GOLDEN=1 to rewrite the golden file"
    )


def test_golden_events_round_trip_through_the_store(ledger: Ledger) -> None:
    """Given the golden files inserted into a fresh store, each reads back as it was built."""
    built = golden_events()
    files = {name: EventFile.read(FIXTURES / "golden" / f"{name}.event") for name in built}
    ledger.recorder.insert_events([f.stored() for f in files.values()])
    for name, event in built.items():
        (stored,) = ledger.recorder.select_events(
            event.originator_id, gt=event.originator_version - 1, lte=event.originator_version
        )
        assert stored.state == files[name].state
        assert vars(ledger.mapper.to_domain_event(stored)) == vars(event), name
    campaign: object = ledger.repository.get(CAMPAIGN)
    assert isinstance(campaign, Campaign)
    assert (campaign.version, campaign.state.budget) == (2, RAISED)


def test_a_version_1_recommendation_without_evidence_loads_with_none(ledger: Ledger) -> None:
    """Given a Recommended event as version 1 wrote it (no evidence), it loads with []."""
    v1 = EventFile.read(FIXTURES / "v1" / "recommendation-recommended.event")
    assert b'"evidence"' not in v1.state
    assert b'"class_version"' not in v1.state
    approved = EventFile.read(FIXTURES / "golden" / "recommendation-approved.event")
    ledger.recorder.insert_events([v1.stored(), approved.stored()])
    rec: object = ledger.repository.get(v1.originator_id)
    assert isinstance(rec, Recommendation)
    assert rec.state.revisions[0].evidence == []
    assert rec.state.revisions[0].rationale == "CPA is falling on PPC"
    assert rec.state.author_id == CONSULTANT
    assert rec.state.engagement_id == ENGAGEMENT
    assert rec.state.status == "approved"
    first: Any = ledger.repository.get(v1.originator_id, version=1)
    assert first.state.status == "pending"


def test_a_version_1_file_differs_from_the_current_form_only_by_the_upcast_field() -> None:
    """Given the v1 and golden Recommended, they differ only in evidence and class_version."""
    v1 = json.loads(EventFile.read(FIXTURES / "v1" / "recommendation-recommended.event").state)
    now = json.loads(EventFile.read(FIXTURES / "golden" / "recommendation-recommended.event").state)
    assert now.pop("class_version") == Recommendation.Recommended.class_version == 2
    assert now.pop("evidence") == ["report-2026-02"]
    assert v1 == now


def test_a_version_1_budget_adjustment_loads_and_counts_by_its_role(ledger: Ledger) -> None:
    """Given a BudgetAdjusted written before ADR 0012, it loads with no authority and the
    manager's allowance reckons its 500 increase (a manager's, on a launched campaign)."""
    v1 = EventFile.read(FIXTURES / "v1" / "campaign-budget-adjusted.event")
    assert b'"authority"' not in v1.state
    planned = EventFile.read(FIXTURES / "golden" / "campaign-planned.event")
    ledger.recorder.insert_events([planned.stored(), v1.stored()])
    campaign: object = ledger.repository.get(v1.originator_id)
    assert isinstance(campaign, Campaign)
    assert campaign.state.budget == RAISED
    (entry,) = campaign.state.commitments
    assert entry["used"] is None
    assert entry["draft"] is True
    assert used_by({**entry, "draft": False}) == Decimal(500)


def test_the_version_1_budget_adjustment_differs_only_by_the_upcast_fields() -> None:
    """Given the v1 and golden BudgetAdjusted, they differ only in the ADR 0012 fields."""
    v1 = json.loads(EventFile.read(FIXTURES / "v1" / "campaign-budget-adjusted.event").state)
    now = json.loads(EventFile.read(FIXTURES / "golden" / "campaign-budget-adjusted.event").state)
    assert now.pop("class_version") == Campaign.BudgetAdjusted.class_version == 2
    assert (now.pop("authority"), now.pop("allowance_used")) == ("manager_allowance", "500")
    assert v1 == now


def test_only_events_with_an_upcaster_declare_a_class_version_above_1() -> None:
    """Given every event class, each above version 1 has an upcaster for every step."""
    for cls in event_classes():
        version = getattr(cls, "class_version", 1)
        for step in range(1, version):
            assert callable(getattr(cls, f"upcast_v{step}_v{step + 1}", None)), cls.__qualname__


# Bases for code only: no stored row has their topic.
NEVER_STORED = {
    "Organization.Event",
    "Agency.Event",
    "Agency.Created",
    "Campaign.Event",
    "Campaign.Created",
    "Campaign.Executed",
    "Campaign.StatusChanged",
    "Recommendation.Event",
    "Recommendation.Created",
    "Recommendation.Decided",
    "CommandRecord.Event",
    "CommandRecord.Created",
}


def test_docs_list_every_event_topic_with_its_class_version_and_fields() -> None:
    """Given docs/events.md, every stored event's topic, version and own fields are listed."""
    text = DOCS.read_text()
    envelope_fields = set(CLIENT) | {"originator_id", "originator_version", "originator_topic"}
    stored = [cls for cls in event_classes() if cls.__qualname__ not in NEVER_STORED]
    assert len(stored) == 30
    for cls in stored:
        topic = get_topic(cls)
        match = re.search(rf"^### `{re.escape(topic)}`.*?(?=^##|\Z)", text, re.M | re.S)
        assert match, f"{topic} is not documented in docs/events.md"
        section = match.group(0)
        version = getattr(cls, "class_version", 1)
        assert f"class_version {version}." in section, topic
        for f in dataclasses.fields(cls):
            if f.name not in envelope_fields:
                assert f"`{f.name}`" in section, f"{topic}: field {f.name} undocumented"
    never = text[text.index("## Classes that are never stored") :]
    for name in NEVER_STORED:
        assert f"`{name}`" in never, name
    for field in envelope_fields:
        assert f"| `{field}` |" in text, field
