"""Expiry that is visible (finding 5 of issue 11): a recommendation past its expiry reads
``expired`` in every read from that instant, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger import commands as c
from ledger.values import ProposedChange, RecommendationKind
from tests.api.conftest import Api


def test_a_recommendation_past_its_expiry_reads_expired_everywhere_without_an_event(
    api: Api,
) -> None:
    """The aggregate read, the lists, the register (and its status filters) and the handling
    answer ``expired`` once ``expires_at`` has passed, though no Expired event exists yet."""
    w = api.world
    made = w.run(
        w.consultant,
        c.Recommend(
            organization_id=w.org_id,
            engagement_id=w.engagement_id,
            campaign_id=w.campaign_id,
            kind=RecommendationKind.STRATEGY,
            change=ProposedChange(),
            rationale="a brand refresh",
            evidence=(),
            expected_impact="recall",
            expires_at=datetime.now(UTC) + timedelta(seconds=1),
        ),
    )
    rec, after = str(made.aggregate_id), made.position
    time.sleep(1.2)

    def get(path: str, **params: Any) -> Any:
        r = api.client.get(path, params=params, headers=api.auth("auditor"))
        assert r.status_code == 200, r.text
        return r.json()

    def view(path: str, **params: Any) -> Any:  # the read side's views wait for ``after``
        return get(path, after=after, **params)

    org = f"/v1/organizations/{w.org_id}"
    assert get(f"/v1/recommendations/{rec}")["status"] == "expired"
    listed = get(f"{org}/recommendations")["items"]
    assert [i["status"] for i in listed if i["id"] == rec] == ["expired"]
    register = view(f"{org}/register")["items"]
    assert [i["status"] for i in register if i["recommendation_id"] == rec] == ["expired"]
    expired = view(f"{org}/register", status="expired")["items"]
    assert [i["recommendation_id"] for i in expired] == [rec]
    assert view(f"{org}/register", status="pending")["items"] == []
    handled = view(f"/v1/recommendations/{rec}/handling")["recommendation"]
    assert handled["status"] == "expired"
    history = get(f"/v1/aggregates/{rec}/events")["events"]
    assert [e["type"] for e in history] == ["Recommendation.Recommended"]


def test_the_handling_report_counts_a_recommendation_past_its_expiry_as_expired(
    api: Api,
) -> None:
    """Before any Expired event, the handling report's by_status counts a lapsed
    recommendation as expired, not pending, as the register reads it."""
    w = api.world
    w.recommend()  # pending for fourteen days: still pending
    w.recommend()
    expires_at = datetime.now(UTC) + timedelta(seconds=2)
    made = w.run(
        w.consultant,
        c.Recommend(
            organization_id=w.org_id,
            engagement_id=w.engagement_id,
            campaign_id=w.campaign_id,
            kind=RecommendationKind.STRATEGY,
            change=ProposedChange(),
            rationale="a brand refresh",
            evidence=(),
            expected_impact="recall",
            expires_at=expires_at,
        ),
    )
    after = made.position

    def by_status() -> dict[str, int]:
        r = api.client.get(
            f"/v1/organizations/{w.org_id}/reports/handling",
            params={"after": after},
            headers=api.auth("auditor"),
        )
        assert r.status_code == 200, r.text
        [row] = r.json()["consultants"]
        counts: dict[str, int] = row["by_status"]
        return counts

    assert by_status() == {"pending": 3}
    time.sleep(max((expires_at - datetime.now(UTC)).total_seconds(), 0) + 0.2)
    assert by_status() == {"expired": 1, "pending": 2}
    history = api.client.get(
        f"/v1/aggregates/{made.aggregate_id}/events", headers=api.auth("auditor")
    ).json()["events"]
    assert [e["type"] for e in history] == ["Recommendation.Recommended"]
