"""Audit-trail exports over HTTP, on SQLite and PostgreSQL: flat CSV columns people can
read, UTF-8 text, formulas neutralised, an optional BOM, and the log position on every row
and in the headers."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import commands as c
from ledger.values import RecommendationKind, RejectionReason
from projections.flat import CSV_COLUMNS, neutral
from tests.api.conftest import Api
from tests.support import budget

VIETNAMESE = "Nhu cầu tăng mạnh"


def trail(api: Api, **params: Any) -> Any:
    w = api.world
    r = api.client.get(
        f"/v1/organizations/{w.org_id}/audit-trail", params=params, headers=api.auth("auditor")
    )
    assert r.status_code == 200, r.text
    return r


def rows_of(api: Api, **params: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(trail(api, format="csv", **params).text)))


def recommend(api: Api, rationale: str, impact: str) -> Any:
    w = api.world
    return w.run(
        w.consultant,
        c.Recommend(
            organization_id=w.org_id,
            engagement_id=w.engagement_id,
            campaign_id=w.campaign_id,
            kind=RecommendationKind.STRATEGY,
            rationale=rationale,
            evidence=("report-1", "report-2"),
            expected_impact=impact,
            expires_at=w.clock.now + timedelta(days=7),
        ),
    )


def reject(api: Api, recommendation: Any, reason: str) -> Any:
    w = api.world
    return w.run(
        w.manager,
        c.Reject(
            recommendation_id=recommendation,
            revision=1,
            reason_code=RejectionReason.OTHER,
            reason_text=reason,
        ),
    )


def caught_up(api: Api, position: int) -> None:
    trail(api, after=position, limit=1)


def test_a_csv_export_has_flat_columns_in_the_documented_order_and_no_json_in_any_cell(
    api: Api,
) -> None:
    """The header is the fixed column list; budgets and event fields are spread over columns
    named by their path; lists are joined; no cell holds a JSON object or array."""
    w = api.world
    adjusted = w.run(w.manager, c.AdjustBudget(campaign_id=w.campaign_id, budget=budget("5100")))
    caught_up(api, adjusted.position)
    text = trail(api, format="csv").text
    header = next(csv.reader(io.StringIO(text)))
    assert tuple(header) == CSV_COLUMNS
    rows = list(csv.DictReader(io.StringIO(text)))
    change = next(r for r in rows if r["event_type"] == "Campaign.BudgetAdjusted")
    assert (change["budget_from.amount"], change["budget_to.amount"]) == ("5000", "5100")
    assert change["budget_to.currency"] == "EUR"
    planned = next(r for r in rows if r["event_type"] == "Campaign.Planned")
    assert planned["details.channels"] == "ppc; social"
    cells = [v for r in rows for v in r.values()]
    assert not [v for v in cells if v.startswith(("{", "["))]
    assert all(r["details.other"] == "" for r in rows)  # every field has its column


def test_every_exported_row_carries_its_log_position_and_the_headers_say_what_it_holds(
    api: Api,
) -> None:
    """CSV and NDJSON rows carry the position of the paged trail; X-Ledger-Position is the
    last position the export covers, with the export time and the filter."""
    w = api.world
    launched = w.launch()
    caught_up(api, launched.position)
    paged = [e["position"] for e in trail(api, limit=500).json()["items"]]
    r = trail(api, format="csv", campaign_id=str(w.campaign_id))
    rows = list(csv.DictReader(io.StringIO(r.text)))
    campaign = [e["position"] for e in trail(api, campaign_id=str(w.campaign_id)).json()["items"]]
    assert [int(row["position"]) for row in rows] == campaign
    assert int(r.headers["x-ledger-position"]) >= max(paged)
    assert r.headers["x-ledger-exported-at"].endswith("+00:00")
    assert json.loads(r.headers["x-ledger-export-filter"]) == {
        "organization_id": str(w.org_id),
        "campaign_id": str(w.campaign_id),
    }
    lines = trail(api, format="ndjson").text.splitlines()
    assert [json.loads(line)["position"] for line in lines] == paged


def test_text_is_written_as_utf_8_characters_in_csv_and_ndjson_never_as_escapes(
    api: Api,
) -> None:
    """A Vietnamese rationale reads as itself in both formats, in UTF-8 bytes."""
    result = recommend(api, VIETNAMESE, "more leads")
    caught_up(api, result.position)
    r = trail(api, format="csv")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert VIETNAMESE.encode() in r.content
    assert b"\\u" not in r.content
    [row] = [x for x in rows_of(api) if x["event_type"] == "Recommendation.Recommended"]
    assert row["details.rationale"] == VIETNAMESE
    assert row["details.evidence"] == "report-1; report-2"
    n = trail(api, format="ndjson")
    assert n.headers["content-type"] == "application/x-ndjson; charset=utf-8"
    assert VIETNAMESE.encode() in n.content
    assert b"\\u" not in n.content


def test_a_byte_order_mark_begins_the_csv_only_when_asked_for(api: Api) -> None:
    """bom=true puts U+FEFF first (spreadsheets then read UTF-8); by default there is none,
    and NDJSON never has one."""
    assert trail(api, format="csv", bom="true").content.startswith(b"\xef\xbb\xbfposition,")
    assert trail(api, format="csv").content.startswith(b"position,")
    assert trail(api, format="ndjson").content.startswith(b'{"position":')


def refused(api: Api, headers: dict[str, str] | None = None, **params: Any) -> str:
    """The audit trail's answer to ``params``: 400 invalid_query; its detail."""
    w = api.world
    r = api.client.get(
        f"/v1/organizations/{w.org_id}/audit-trail",
        params=params,
        headers={**api.auth("auditor"), **(headers or {})},
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "invalid_query"
    return str(body["detail"])


@pytest.mark.parametrize(
    ("params", "headers", "named"),
    [
        ({"format": "csv", "limit": "2"}, None, "limit"),
        ({"format": "ndjson", "limit": "2"}, None, "limit"),
        ({"format": "csv", "cursor": "zzz"}, None, "cursor"),
        ({"limit": "2"}, {"Accept": "text/csv"}, "limit"),
        ({"format": "csv", "limit": "2", "cursor": "zzz"}, None, "limit and cursor"),
    ],
)
def test_limit_or_cursor_on_an_export_is_refused_because_an_export_streams_every_entry(
    api: Api, params: dict[str, str], headers: dict[str, str] | None, named: str
) -> None:
    """An export holds every matching entry: a limit or cursor it would ignore is 400
    invalid_query naming the parameter and why, never a silently complete export."""
    detail = refused(api, headers, **params)
    assert detail.startswith(f"{named} with a ")
    assert "an export streams every matching entry" in detail
    assert "limit and cursor page the JSON view only" in detail


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"format": "ndjson", "bom": "true"}, None),
        ({"bom": "true"}, None),
        ({"bom": "true"}, {"Accept": "application/x-ndjson"}),
    ],
)
def test_bom_outside_a_csv_export_is_refused_because_it_applies_to_csv_only(
    api: Api, params: dict[str, str], headers: dict[str, str] | None
) -> None:
    """bom=true on an NDJSON export or on the JSON view is 400 invalid_query naming bom;
    bom=true with Accept: text/csv is a CSV export and keeps its mark."""
    detail = refused(api, headers, **params)
    assert detail.startswith("bom with ")
    assert "bom applies to CSV only" in detail
    w = api.world
    r = api.client.get(
        f"/v1/organizations/{w.org_id}/audit-trail",
        params={"bom": "true"},
        headers={**api.auth("auditor"), "Accept": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"\xef\xbb\xbfposition,")


def test_limit_and_cursor_still_page_the_json_view(api: Api) -> None:
    """The JSON view keeps its paging: limit=2 gives two entries and a cursor to the rest."""
    first = trail(api, limit=2).json()
    assert len(first["items"]) == 2
    rest = trail(api, limit=2, cursor=first["next_cursor"]).json()
    assert {e["position"] for e in first["items"]}.isdisjoint(e["position"] for e in rest["items"])


@pytest.mark.parametrize(
    ("written", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("-5.00", "-5.00"),
        ("plain words", "plain words"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_prefixed_with_a_quote(
    api: Api, written: str, cell: str
) -> None:
    """A free-text reason and a rationale starting with = + - or @ come out behind a single
    quote; a plain decimal number such as -5.00 stays a number. (Commands strip leading
    whitespace, so a tab or carriage return start is checked on ``neutral`` below.)"""
    made = recommend(api, written, written)
    rejected = reject(api, made.aggregate_id, written)
    caught_up(api, rejected.position)
    rows = rows_of(api, recommendation_id=str(made.aggregate_id))
    recommended, decided = rows
    assert recommended["details.rationale"] == cell
    assert recommended["details.expected_impact"] == cell
    assert decided["reason"] == cell
    assert decided["details.reason_text"] == cell
    ndjson = json.loads(trail(api, format="ndjson", event_type="Recommendation.Rejected").text)
    assert ndjson["reason"] == written  # NDJSON is data, not a spreadsheet: kept as written


def test_only_a_plain_decimal_number_escapes_the_quote() -> None:
    """-5.00, +3 and -12 are numbers; -5.00e3, -1,5, a lone sign and a tab or carriage
    return start are prefixed."""
    assert [neutral(v) for v in ("-5.00", "+3", "-12", "5")] == ["-5.00", "+3", "-12", "5"]
    assert [neutral(v) for v in ("-5.00e3", "-1,5", "-", "=1", "\tx", "\rx")] == [
        "'-5.00e3",
        "'-1,5",
        "'-",
        "'=1",
        "'\tx",
        "'\rx",
    ]


def test_docs_api_md_lists_the_csv_columns_in_their_order() -> None:
    """The column list between the csv-columns markers of docs/api.md is CSV_COLUMNS."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    block = doc.split("<!-- csv-columns -->")[1].split("<!-- /csv-columns -->")[0]
    assert tuple(re.findall(r"`([^`]+)`", block)) == CSV_COLUMNS


def test_exports_carry_the_directory_name_right_after_each_actor_and_organization_id(
    api: Api,
) -> None:
    """CSV has actor_name right after actor_id and organization_name right after
    organization_id (empty without a name, formulas neutralised); NDJSON has the same fields
    in the same places (null without a name); the ids stay as they were."""
    w = api.world
    for subject, kind, name in [
        (w.manager.actor_id, "actor", "Mia Manager"),
        (w.org_id, "organization", "=Acme"),
    ]:
        r = api.client.put(
            f"/v1/names/{subject}", json={"kind": kind, "name": name}, headers=api.auth("operator")
        )
        assert r.status_code == 200, r.text
    adjusted = w.run(w.manager, c.AdjustBudget(campaign_id=w.campaign_id, budget=budget("5100")))
    caught_up(api, adjusted.position)
    header = CSV_COLUMNS[: CSV_COLUMNS.index("engagement_id")]
    assert header[-6:] == ("actor_id", "actor_name", "role", "party", "organization_id",
                           "organization_name")  # fmt: skip
    rows = rows_of(api)
    change = next(r for r in rows if r["event_type"] == "Campaign.BudgetAdjusted")
    assert (change["actor_id"], change["actor_name"]) == (str(w.manager.actor_id), "Mia Manager")
    assert {r["organization_name"] for r in rows} == {"'=Acme"}
    assert {r["actor_name"] for r in rows if r["actor_id"] != str(w.manager.actor_id)} == {""}
    lines = [json.loads(line) for line in trail(api, format="ndjson").text.splitlines()]
    keys = list(lines[0])
    assert keys[keys.index("actor_id") + 1] == "actor_name"
    assert keys[keys.index("organization_id") + 1] == "organization_name"
    entry = next(e for e in lines if e["event_type"] == "Campaign.BudgetAdjusted")
    assert (entry["actor_name"], entry["organization_name"]) == ("Mia Manager", "=Acme")
    assert {e["actor_name"] for e in lines if e["actor_id"] != str(w.manager.actor_id)} == {None}
