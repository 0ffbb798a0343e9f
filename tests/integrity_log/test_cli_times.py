"""The command line's time options (``ledger bundle export`` and ``ledger export``
``--from``/``--to``) read by the API's one parser: a plain date or an RFC 3339 time with a
zone is used; anything else is one ``error: ...`` line and exit code 2, never a traceback."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from tests.integrity_log.conftest import Log


def test_the_documented_bundle_example_with_plain_dates_writes_the_bundle(log: Log) -> None:
    """``--from 2026-01-01 --to 2026-04-01`` (docs/integrity.md) exports the period's events
    (the world was recorded on 2026-03-02) instead of ending in a traceback."""
    path = log.tmp_path / "q1.zip"
    args = ("--from", "2026-01-01", "--to", "2026-04-01")
    result = log.cli("bundle", "export", str(log.world.org_id), "-o", str(path), *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("wrote ")
    assert int(result.stdout.split()[1]) > 0
    assert "events.ndjson" in zipfile.ZipFile(path).namelist()


def test_a_bundle_period_after_the_events_holds_none(log: Log) -> None:
    """A plain date is that day at 00:00 UTC: from 2026-03-03 on, none of the events of
    2026-03-02 are in the bundle."""
    path = log.tmp_path / "later.zip"
    result = log.cli(
        "bundle", "export", str(log.world.org_id), "-o", str(path), "--from", "2026-03-03"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("wrote 0 events")


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--from", "0.5", "is not a time"),
        ("--to", "1700000000", "is not a time"),
        ("--from", "2026-03-01T00:00:00", "has no zone"),
        ("--to", "2026-02-30", "is not a time"),
        ("--from", "0001-01-01T00:00:00+14:00", "has no UTC equivalent"),
    ],
)
def test_a_bundle_time_in_any_other_form_is_one_error_line_and_exit_2(
    log: Log, option: str, value: str, reason: str
) -> None:
    """An epoch, a zoneless time, an impossible date: ``error: --from='0.5' is not a time;
    give ...`` on one line, exit 2, no bundle written."""
    path = log.tmp_path / "refused.zip"
    result = log.cli("bundle", "export", str(log.world.org_id), "-o", str(path), option, value)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {option}={value!r} {reason}"), lines[0]
    assert "RFC 3339" in lines[0]
    assert "Traceback" not in result.output
    assert not path.exists()


def test_the_audit_export_reads_its_period_with_the_same_parser(log: Log) -> None:
    """``ledger export --from <date>`` streams the entries of the period; ``--to`` with an
    epoch is one error line and exit 2."""
    org = str(log.world.org_id)
    result = log.cli("export", org, "--from", "2026-03-02", "--to", "2026-03-03T00:00:00+00:00")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows
    assert all(r["recorded_at"].startswith("2026-03-02") for r in rows)
    later = log.cli("export", org, "--from", "2026-03-03")
    assert later.exit_code == 0, later.output
    assert list(csv.DictReader(io.StringIO(later.stdout))) == []
    refused = log.cli("export", org, "--to", "0.5")
    assert refused.exit_code == 2, refused.output
    assert len(refused.stderr.splitlines()) == 1, refused.stderr
    assert refused.stderr.startswith("error: --to='0.5' is not a time"), refused.stderr
