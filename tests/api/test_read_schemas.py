"""Every read answers in the schema it declares, over a ledger with every kind of row."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from api.http import read_schemas as s
from ledger import commands as c
from ledger.values import Money, ProposedChange, RejectionReason
from tests.api.conftest import Api
from tests.support import budget


def busy_world(api: Api) -> tuple[int, Any]:
    """Approved with changes and implemented, escalated, rejected, an unplanned execution
    and a performance record: each row shape of the views at least once."""
    w = api.world
    w.launch()
    done = w.recommend()
    w.run(
        w.manager,
        c.ApproveWithChanges(
            recommendation_id=done,
            revision=1,
            approved_change=ProposedChange(budget=budget("5400")),
            note="a little less",
        ),
    )
    w.run(
        w.manager,
        c.AdjustBudget(campaign_id=w.campaign_id, budget=budget("5400"), implements=done),
    )
    escalated = w.recommend(change=ProposedChange(budget=budget("9000")))
    w.run(w.manager, c.Escalate(recommendation_id=escalated, revision=1))
    rejected = w.recommend(kind="pause")
    w.run(
        w.manager,
        c.Reject(
            recommendation_id=rejected,
            revision=1,
            reason_code=RejectionReason.TIMING,
            reason_text="not now",
        ),
    )
    w.run(w.manager, c.AdjustBudget(campaign_id=w.campaign_id, budget=budget("5300")))
    eur = {"currency": "EUR"}
    last = w.run(
        w.manager,
        c.RecordPerformance(
            campaign_id=w.campaign_id,
            period_start=datetime(2026, 1, 1, tzinfo=UTC),
            period_end=datetime(2026, 2, 1, tzinfo=UTC),
            spend=Money(amount=Decimal("1200.50"), **eur),
            impressions=10_000,
            clicks=250,
            conversions=12,
            revenue=Money(amount=Decimal("3000"), **eur),
        ),
    )
    return last.position, done


def read(api: Api, model: type[BaseModel], path: str, **params: Any) -> Any:
    r = api.client.get(path, params=params, headers=api.auth("auditor"))
    assert r.status_code == 200, r.text
    return model.model_validate(r.json())


def test_every_view_answers_in_its_declared_schema(api: Api) -> None:
    """Pages, states, the handling report, both shapes of exceptions and the verification
    all validate against their response models, with the rows present."""
    position, done = busy_world(api)
    org = f"/v1/organizations/{api.world.org_id}"
    trail = read(api, s.AuditPage, f"{org}/audit-trail", after=position, limit=500)
    assert {e.status_to for e in trail.items} >= {"approved_with_changes", "implemented"}
    states = read(api, s.CampaignStatesPage, f"{org}/campaign-states", after=position)
    assert states.items[0].kpis is not None
    state = read(api, s.CampaignStateOut, f"/v1/campaigns/{api.world.campaign_id}/state")
    assert state.derived["cpc"] is not None
    register = read(api, s.RegisterPage, f"{org}/register")
    assert {r.status for r in register.items} >= {"implemented", "rejected"}
    handling = read(api, s.HandlingOut, f"/v1/recommendations/{done}/handling")
    assert handling.recommendation is not None
    assert handling.decisions
    report = read(api, s.HandlingReportOut, f"{org}/reports/handling")
    assert report.consultants
    assert report.managers
    counts = read(api, s.ExceptionCounts, f"{org}/exceptions")
    assert counts.escalation_pending == 1
    assert counts.execution_without_recommendation >= 1
    for kind, whole in [("escalation_pending", True), ("execution_without_recommendation", False)]:
        page = read(api, s.ExceptionsPage, f"{org}/exceptions", kind=kind)
        assert page.items, kind
        assert all(i.exception == kind for i in page.items), kind
        assert all((i.recommendation is not None) == whole for i in page.items), kind
        assert all((i.execution is None) == whole for i in page.items), kind
    decisions = read(api, s.DecisionReportPage, f"{org}/decisions")
    assert {r.status for r in decisions.items} >= {"implemented", "rejected"}
    verified = read(api, s.VerifyOut, f"{org}/integrity/verify")
    assert verified.ok
