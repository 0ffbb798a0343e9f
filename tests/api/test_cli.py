"""The ``ledger`` command line explains itself: every mistake of every command ends in one
line (``error: ...``) and exit status 2, read commands never create a store, and ``ledger
export`` works beside a running server or projection worker and writes whole files only."""

from __future__ import annotations

import csv
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from projections.flat import CSV_COLUMNS
from tests.faults.harness import LEDGER, ApiServer, Process, ledger_env, seed_demo

NOBODY = "00000000-0000-0000-0000-00000000abcd"


def ledger(args: list[str], workdir: Path, url: str, timeout: float = 120) -> Any:
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [str(LEDGER), *args],
        cwd=workdir,
        env=ledger_env(url, workdir),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A folder with an SQLite store holding the demo data: (folder, url, organization)."""
    workdir = tmp_path_factory.mktemp("seeded")
    url = f"sqlite:///{workdir / 'ledger.db'}"
    data = seed_demo(url, workdir)
    return workdir, url, data["organizations"]["client_a"]


ORG = "{org}"  # replaced by the seeded organization's id
# (name, arguments, store: "none" for a folder without a store, "seeded" for the demo store,
#  what the line says after "error: ")
MISTAKES = [
    ("export without a store", ["export", NOBODY], "none", "no ledger store at"),
    ("status without a store", ["projections", "status"], "none", "no ledger store at"),
    ("rebuild without a store", ["projections", "rebuild", "audit"], "none", "no ledger store"),
    ("verify without a store", ["verify"], "none", "no ledger store at"),
    ("checkpoint without a store", ["checkpoint"], "none", "no ledger store at"),
    ("bundle without a store", ["bundle", "export", NOBODY, "-o", "b.zip"], "none", "no ledger"),
    ("revoke without a store", ["keys", "revoke", "k1"], "none", "no ledger store at"),
    ("name shown without a store", ["names", "show", NOBODY], "none", "no ledger store at"),
    ("unknown organization", ["export", NOBODY], "seeded", "not_found: organization not found"),
    ("id that is no UUID", ["export", "acme"], "seeded", "Invalid value for 'organization'"),
    ("unknown format", ["export", ORG, "--format", "xml"], "seeded", "Invalid value for '--fo"),
    ("unreadable time", ["export", ORG, "--from", "soon"], "seeded", "--from='soon' is not a time"),
    (
        "reversed period",
        ["export", ORG, "--from", "2026-02-01", "--to", "2026-01-01"],
        "seeded",
        "the period starts",
    ),
    (
        "output in a missing folder",
        ["export", ORG, "-o", "missing/trail.csv"],
        "seeded",
        "No such file or directory: missing/trail.csv",
    ),
    ("output that is a folder", ["export", ORG, "-o", "."], "seeded", "is a folder"),
    (
        "byte order mark on NDJSON",
        ["export", ORG, "--format", "ndjson", "--bom"],
        "seeded",
        "--bom applies to CSV only",
    ),
    ("unknown projection", ["projections", "rebuild", "nosuch"], "seeded", "no projection has"),
    ("bad currency", ["orgs", "create", "X", "--currency", "XYZ"], "seeded", "default_currency"),
    ("blank organization name", ["orgs", "create", "   "], "seeded", "name: text may not be blank"),
    (
        "negative approval limit",
        ["orgs", "create", "X", "--approval-limit", "-5"],
        "seeded",
        "approval_limit",
    ),
    (
        "approval limit finer than its currency",
        ["orgs", "create", "X", "--currency", "EUR", "--approval-limit", "1.234"],
        "seeded",
        "invalid_command: approval_limit 1.234 EUR has more decimals than EUR has",
    ),
    (
        "approval limit that is no number",
        ["orgs", "create", "X", "--approval-limit", "lots"],
        "seeded",
        "--approval-limit must be a decimal",
    ),
    ("unknown role", ["roles", "grant", NOBODY, NOBODY, "boss"], "seeded", "Invalid value for"),
    (
        "negative engagement length",
        [
            "engagements",
            "start",
            NOBODY,
            "--agency",
            NOBODY,
            "--consultant",
            NOBODY,
            "--channel",
            "ppc",
            "--days",
            "-3",
        ],
        "seeded",
        "ends_at must be after starts_at",
    ),
    ("missing checkpoint file", ["verify", "--against", "none.json"], "seeded", "No such file"),
    (
        "bundle that does not exist",
        ["bundle", "verify", "none.zip"],
        "none",
        "No such file or directory: none.zip",
    ),
    ("bundle that is a folder", ["bundle", "verify", "."], "none", "Is a directory: ."),
    ("missing demo file", ["demo-env", "--path", "none.json"], "seeded", "no demo data at"),
    ("demo file of another kind", ["demo-env", "--path", "ledger.db"], "seeded", "is not the"),
    ("unknown key id", ["keys", "revoke", "k-none"], "seeded", "no active key has the id"),
    ("id without a name", ["names", "show", NOBODY], "seeded", "not_found: the id has no name"),
    ("name with a control", ["names", "set", NOBODY, "actor", "a\x01b"], "seeded", "the name is"),
    ("unknown command", ["exprot", ORG], "seeded", "No such command 'exprot'"),
    ("missing argument", ["export"], "seeded", "Missing argument 'organization'"),
    ("unknown option", ["export", ORG, "--colour"], "seeded", "No such option: --colour"),
    ("demo on a store with data", ["demo"], "seeded", "is not empty"),
    ("unwritable openapi", ["openapi", "--output", "missing/o.json"], "seeded", "No such file"),
]


@pytest.mark.parametrize(
    ("args", "store", "says"),
    [pytest.param(args, store, says, id=name) for name, args, store, says in MISTAKES],
)
def test_every_mistake_of_every_command_ends_in_one_error_line_and_exit_status_2(
    args: list[str], store: str, says: str, seeded: tuple[Path, str, str], tmp_path: Path
) -> None:
    """Exit 2, stderr is one line starting `error:` that says what is wrong, nothing on
    stdout (no log line, no result), no traceback; in a folder without a store, no store is
    created."""
    workdir, url, org = seeded
    if store == "none":
        workdir, url = tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}"
    demo_keys = (workdir / ".ledger" / "demo.json").read_bytes() if store == "seeded" else b""
    done = ledger([a.replace(ORG, org) for a in args], workdir, url)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ")
    assert says in line
    assert done.stdout == ""
    if store == "none":
        assert not (tmp_path / "ledger.db").exists()
    else:
        assert (workdir / ".ledger" / "demo.json").read_bytes() == demo_keys
        assert not list(workdir.glob(".*.part"))


def test_a_readable_file_that_is_no_bundle_fails_verification_with_exit_status_1(
    tmp_path: Path,
) -> None:
    """A file that can be read but is no audit bundle is a failed verification, not a
    mistake: `FAILED: not a readable audit bundle`, exit 1."""
    (tmp_path / "b.zip").write_text("no zip at all")
    done = ledger(["bundle", "verify", "b.zip"], tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "FAILED: not a readable audit bundle: File is not a zip file"
    ]


def exported(workdir: Path, url: str, org: str, name: str = "trail.csv") -> list[dict[str, str]]:
    """``ledger export ORG -o NAME``: exit 0, the file and its sidecar; the rows."""
    done = ledger(["export", org, "-o", name, "--bom"], workdir, url)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    path = workdir / name
    meta = json.loads((workdir / f"{name}.meta.json").read_text())
    with path.open(encoding="utf-8-sig", newline="") as f:  # the BOM, asked for, is read away
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        rows = list(reader)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert meta["rows"] == len(rows) > 0
    assert meta["filter"] == {"organization_id": org}
    assert meta["columns"] == list(CSV_COLUMNS)
    positions = [int(r["position"]) for r in rows]
    assert positions == sorted(positions)
    assert positions[-1] <= meta["position"]
    assert {r["organization_id"] for r in rows} == {org}
    return rows


def test_ledger_export_runs_while_ledger_serve_runs_on_the_same_store(
    store_url: str, tmp_path: Path
) -> None:
    """The server's embedded worker holds the views' leases: the export reads the views
    anyway (exit 0, every entry, no LeaseNotHeld); the NDJSON to stdout is UTF-8 lines."""
    data = seed_demo(store_url, tmp_path)
    org = data["organizations"]["client_a"]
    server = ApiServer.make("api", store_url, tmp_path)
    try:
        server.start()
        rows = exported(tmp_path, store_url, org)
        assert {r["event_type"] for r in rows} >= {"Organization.Created", "Campaign.Launched"}
        done = ledger(["export", org, "--format", "ndjson"], tmp_path, store_url)
        assert done.returncode == 0, done.stderr
        lines = [json.loads(line) for line in done.stdout.splitlines()]
        assert [line["position"] for line in lines] == [int(r["position"]) for r in rows]
        server.check_alive()
    finally:
        server.stop()


def test_ledger_export_runs_while_a_projection_worker_runs_on_the_same_store(
    store_url: str, tmp_path: Path
) -> None:
    """`ledger projections run` holds every lease; the export waits for it to reach the
    head instead, and holds every entry of the organization."""
    data = seed_demo(store_url, tmp_path)
    org = data["organizations"]["client_a"]
    worker = Process(
        "worker", [str(LEDGER), "projections", "run"], ledger_env(store_url, tmp_path), tmp_path
    )
    try:
        worker.start()
        first = exported(tmp_path, store_url, org, "one.csv")
        second = exported(tmp_path, store_url, org, "two.csv")
        assert first == second
        worker.check_alive()
    finally:
        worker.stop()


def test_a_failed_export_leaves_no_file_behind_and_keeps_the_one_it_would_replace(
    seeded: tuple[Path, str, str],
) -> None:
    """An unknown organization fails after the output was opened: the earlier file of that
    name is untouched, and no partial file is left in the folder."""
    workdir, url, _ = seeded
    kept = workdir / "kept.csv"
    kept.write_text("earlier export\n")
    done = ledger(["export", NOBODY, "-o", "kept.csv"], workdir, url)
    assert done.returncode == 2
    assert kept.read_text() == "earlier export\n"
    assert not (workdir / "kept.csv.meta.json").exists()
    assert [p.name for p in workdir.glob(".kept.csv.*")] == []


def test_each_exported_row_is_matched_by_its_position_to_the_event_a_bundle_proves(
    seeded: tuple[Path, str, str],
) -> None:
    """`ledger export` and `ledger bundle export` of one organization: every CSV row's
    position names the bundle line of the same aggregate, version and event type."""
    workdir, url, org = seeded
    rows = exported(workdir, url, org, "matched.csv")
    done = ledger(["bundle", "export", org, "-o", "matched.zip"], workdir, url)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(workdir / "matched.zip") as bundle:
        lines = [json.loads(line) for line in bundle.read("events.ndjson").splitlines()]
    proven = {line["position"]: line for line in lines}
    for row in rows:
        line = proven[int(row["position"])]
        assert (line["aggregate_id"], line["version"]) == (row["aggregate_id"], int(row["version"]))
        assert line["topic"].endswith(":" + row["event_type"])
