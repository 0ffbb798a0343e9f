"""`ledger report decisions ORG`: the decision report on the command line, on SQLite and
PostgreSQL, with names, filters, and mistakes as one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.api.test_cli import ledger
from tests.faults.harness import seed_demo


def test_the_decision_report_lists_each_recommendation_whole_with_names(
    store_url: str, tmp_path: Path
) -> None:
    """--json: one row per recommendation of the demo, each with its author's name, its
    decisions with their deciders' names, and the executed values where it was executed;
    --deviation keeps only the deviations; a terminal-less run prints the table."""
    data = seed_demo(store_url, tmp_path)
    org = data["organizations"]["client_a"]
    done = ledger(["report", "decisions", org, "--json"], tmp_path, store_url)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == len({r["recommendation_id"] for r in rows}) >= 3
    assert all(r["organization_id"] == org for r in rows)
    assert all(r["recommended_by_name"] for r in rows)
    decided = [d for r in rows for d in r["decisions"]]
    assert decided
    assert all(d["actor_name"] for d in decided)
    on_campaigns = [r for r in rows if r["status"] == "implemented" and r["campaign_id"]]
    assert on_campaigns
    assert all(r["executions"] for r in on_campaigns)
    assert all(r["executed"] for r in on_campaigns)
    deviations = ledger(["report", "decisions", org, "--json", "--deviation"], tmp_path, store_url)
    kept = [json.loads(line) for line in deviations.stdout.splitlines()]
    assert kept
    assert all(r["deviation"] for r in kept)
    assert len(kept) < len(rows)
    table = ledger(["report", "decisions", org], tmp_path, store_url)
    assert table.returncode == 0, table.stderr
    assert f"{len(rows)} recommendation(s)" in table.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--decided-since", "yesterday"], "--decided-since='yesterday' is not a time"),
        (["--status", "Pending"], "Invalid value for '--status'"),
        (["--decided-since", "2026-12-01", "--decided-until", "2026-11-01"], "starts"),
    ],
)
def test_a_mistake_in_the_report_is_one_line_and_exit_2(
    args: list[str], says: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    data = seed_demo(url, tmp_path)
    done = ledger(["report", "decisions", data["organizations"]["client_a"], *args], tmp_path, url)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert says in lines[0]


def test_an_unknown_organization_is_an_error_and_no_store_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    nobody = "00000000-0000-0000-0000-00000000abcd"
    done = ledger(["report", "decisions", nobody], tmp_path, url)
    assert done.returncode == 2
    assert "no ledger store" in done.stderr
    assert not (tmp_path / "ledger.db").exists()
    seed_demo(url, tmp_path)
    done = ledger(["report", "decisions", nobody], tmp_path, url)
    assert done.returncode == 2
    assert "not_found" in done.stderr
