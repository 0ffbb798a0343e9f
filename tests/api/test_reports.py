"""Every figure of the handling reports, recomputed from the audit trail (docs/reports.md),
on SQLite and PostgreSQL.

The audit trail is read as each reader may read it: the client's manager reads all of
client A's, the agency admin its agency's part of A's and B's. From those entries alone, by
the definitions of docs/reports.md and no code of the read side, the test rebuilds the
per-organization report's rows, its ``by_consultant`` and ``by_kind``, and the agency
report's ``overall``, ``by_client``, ``by_consultant`` and ``by_kind``, and compares.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from tests.api.agency_scene import build
from tests.api.conftest import Api

SETTLING = (
    "Recommendation.Approved",
    "Recommendation.ApprovedWithChanges",
    "Recommendation.Rejected",
)
ACCEPTED = ("Approved", "ApprovedWithChanges")
UNDECIDED = ("pending", "awaiting_executive")


def _trail(api: Api, who: str, org: UUID, after: int) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    params: dict[str, Any] = {"after": after, "limit": 500}
    while True:
        page = api.client.get(
            f"/v1/organizations/{org}/audit-trail", params=params, headers=api.auth(who)
        ).json()
        entries += page["items"]
        if page["next_cursor"] is None:
            return entries
        params["cursor"] = page["next_cursor"]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def recommendations(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each recommendation of the trail: who made it, for whom, of which kind, when; its
    last status; the decision that settled it and how long after delivery; its execution."""
    recs: dict[str, dict[str, Any]] = {}
    for e in sorted(entries, key=lambda e: e["position"]):
        kind, rid = e["event_type"], e["recommendation_id"]
        if kind == "Recommendation.Recommended":
            recs[rid] = {
                "organization_id": e["organization_id"],
                "engagement_id": e["engagement_id"],
                "consultant_id": e["actor_id"],
                "kind": e["details"]["kind"],
                "at": _at(e["recorded_at"]),
                "expires": _at(e["details"]["expires_at"]),
                "status": e["status_to"],
                "decision": None,
                "ms": None,
                "implementation": None,
            }
            continue
        if rid not in recs:
            continue
        r = recs[rid]
        if kind == "Recommendation.Amended":
            r["expires"] = _at(e["details"]["expires_at"])
        if kind in SETTLING and e["status_to"] != "awaiting_executive":
            r["decision"] = kind.partition(".")[2]
            r["ms"] = (_at(e["recorded_at"]) - r["at"]) // timedelta(milliseconds=1)
            r["implementation"] = "not_yet" if r["decision"] in ACCEPTED else None
        if kind == "Recommendation.Implemented":
            r["implementation"] = "as_approved" if e["as_approved"] else "with_deviation"
        if e["status_to"]:
            r["status"] = e["status_to"]
    return list(recs.values())


def figures(recs: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The figures of docs/reports.md for ``recs``."""
    accepted = sum(r["decision"] in ACCEPTED for r in recs)
    rejected = sum(r["decision"] == "Rejected" for r in recs)
    times = sorted(r["ms"] for r in recs if r["ms"] is not None)
    status = Counter(
        "expired" if r["status"] in UNDECIDED and r["expires"] <= now else r["status"] for r in recs
    )
    rate = Decimal(accepted) / Decimal(accepted + rejected) if accepted + rejected else None
    done = [(r["implementation"], r["decision"]) for r in recs]
    return {
        "recommendations": len(recs),
        "by_status": dict(sorted(status.items())),
        "accepted": accepted,
        "rejected": rejected,
        "acceptance_rate": None if rate is None else str(rate.quantize(Decimal("0.0001"))),
        "median_decision_ms": statistics.median_low(times) if times else None,
        "p90_decision_ms": times[math.ceil(0.9 * len(times)) - 1] if times else None,
        "implemented_as_recommended": done.count(("as_approved", "Approved")),
        "implemented_with_changes": sum(
            how == "with_deviation" or (how == "as_approved" and d == "ApprovedWithChanges")
            for how, d in done
        ),
        "not_implemented": sum(how == "not_yet" for how, _ in done),
    }


def breakdown(
    recs: list[dict[str, Any]], key: Callable[[dict[str, Any]], tuple[str, ...]], now: datetime
) -> dict[tuple[str, ...], dict[str, Any]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        groups[key(r)].append(r)
    return {k: figures(v, now) for k, v in groups.items()}


def rows(
    answer: list[dict[str, Any]], keys: tuple[str, ...]
) -> dict[tuple[str, ...], dict[str, Any]]:
    """The report's rows by their key columns, the figures alone (without the keys and the
    names the directory puts beside ids)."""
    return {
        tuple(str(row[k]) for k in keys): {
            k: v for k, v in row.items() if k not in keys and not k.endswith("_name")
        }
        for row in answer
    }


def test_every_figure_of_the_organization_report_is_recomputed_from_the_audit_trail(
    api: Api,
) -> None:
    """The rows per engagement and consultant, per consultant and per kind equal the figures
    rebuilt from the client's audit trail."""
    s = build(api)
    org = api.world.org_id
    report = api.client.get(
        f"/v1/organizations/{org}/reports/handling",
        params={"after": s.after},
        headers=api.auth("manager"),
    ).json()
    now = datetime.now(UTC)
    recs = recommendations(_trail(api, "manager", org, s.after))
    consultants = [
        {k: v for k, v in r.items() if k not in ("agency_id", "agency_name")}
        for r in report["consultants"]
    ]
    assert rows(consultants, ("engagement_id", "consultant_id", "period")) == {
        (*k, "all"): v
        for k, v in breakdown(recs, lambda r: (r["engagement_id"], r["consultant_id"]), now).items()
    }
    assert rows(report["by_consultant"], ("consultant_id",)) == breakdown(
        recs, lambda r: (r["consultant_id"],), now
    )
    assert rows(report["by_kind"], ("kind",)) == breakdown(recs, lambda r: (r["kind"],), now)
    n1 = rows(report["by_consultant"], ("consultant_id",))[(str(s.n1.actor_id),)]
    assert (n1["accepted"], n1["rejected"], n1["by_status"].get("withdrawn")) == (2, 1, 1)
    assert n1["implemented_as_recommended"] == 1
    assert n1["median_decision_ms"] is not None


def test_every_figure_of_the_agency_report_is_recomputed_from_the_admins_audit_trail(
    api: Api,
) -> None:
    """In all, per client, per consultant and per kind, the agency report equals the figures
    rebuilt from the parts of both clients' audit trails its admin reads."""
    s = build(api)
    report = api.client.get(
        f"/v1/agencies/{s.agency_id}/reports/handling",
        params={"after": s.after},
        headers=api.auth("agency_admin"),
    ).json()
    now = datetime.now(UTC)
    trail = [
        e
        for org in (api.world.org_id, s.client_b)
        for e in _trail(api, "agency_admin", org, s.after)
    ]
    recs = recommendations(trail)
    assert {str(r) for r in s.ours.values()} == {
        e["recommendation_id"] for e in trail if e["event_type"] == "Recommendation.Recommended"
    }
    assert report["agency_name"] is None  # no display name set in this world
    assert report["overall"] == figures(recs, now)
    assert rows(report["by_client"], ("organization_id",)) == breakdown(
        recs, lambda r: (r["organization_id"],), now
    )
    assert rows(report["by_consultant"], ("consultant_id",)) == breakdown(
        recs, lambda r: (r["consultant_id"],), now
    )
    assert rows(report["by_kind"], ("kind",)) == breakdown(recs, lambda r: (r["kind"],), now)
    assert report["overall"]["by_status"].get("expired") == 1


def test_the_agency_report_filters_by_consultant_kind_and_time(api: Api) -> None:
    """consultant_id, kind, since and until narrow the recommendations counted; a reversed
    period is refused."""
    s = build(api)
    path = f"/v1/agencies/{s.agency_id}/reports/handling"

    def count(**params: Any) -> int:
        r = api.client.get(
            path, params={"after": s.after, **params}, headers=api.auth("agency_admin")
        )
        assert r.status_code == 200, r.text
        return int(r.json()["overall"]["recommendations"])

    assert count() == len(s.ours)
    assert count(consultant_id=str(s.n2.actor_id)) == 2
    assert count(kind="content") == 1
    assert count(since="2999-01-01T00:00:00Z") == 0
    assert count(until="2000-01-01T00:00:00Z") == 0
    reversed_period = api.client.get(
        path,
        params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        headers=api.auth("agency_admin"),
    )
    assert reversed_period.status_code in (400, 422), reversed_period.text
