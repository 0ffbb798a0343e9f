"""The fault tests, full versions: ``python -m bench.faults`` (or ``--quick``).

Runs ``tests/faults`` and ``tests/deployment`` under pytest with LEDGER_FAULTS_FULL=1 (the
long versions: more crashes, longer outages and overload), collects what each test
measured (the tests append JSON lines to $LEDGER_FAULTS_REPORT) and whether it passed, prints
one table, and appends the run to ``bench/results/faults-<date>.json`` with the machine and
the command.

    python -m bench.faults                  # full versions, several minutes
    python -m bench.faults --quick          # the quick versions CI runs
    python -m bench.faults -k overload      # a subset (pytest -k)

The fault tests start a private PostgreSQL cluster of their own (initdb into a temporary
folder) and never stop the shared server; the deployment test uses LEDGER_TEST_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/postgres), in a schema it drops afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.run import git_state

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# (what each test reports its figures as, the test, the row's label)
FAULTS = [
    ("api_kill9", "test_kill9_of_the_api_under_load", "1 kill -9 API under load"),
    ("postgres_immediate_stop", "test_postgres_stopped_in_immediate", "2 PostgreSQL stop"),
    ("projection_worker_kill9", "test_projection_worker_killed", "3 kill -9 projection worker"),
    ("idempotency_storm", "test_sixteen_clients_retrying", "4 idempotency storm + crash"),
    ("overload_1_5x", "test_overload_at_one_and_a_half", "5 overload at 1.5x capacity"),
    ("resource_limits", "test_oversized_nested_and_huge", "6 resource limits"),
    ("deployment_two_hosts", "test_two_api_servers", "deployment: 2 hosts + worker"),
]


def fault_of(test: str) -> tuple[str, str]:
    """(figures id, label) of a test, by the start of its name."""
    for figures, prefix, label in FAULTS:
        if test.startswith(prefix):
            return figures, label
    return test, test


def machine() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def junit(path: Path) -> dict[str, dict[str, Any]]:
    """test name -> {outcome, seconds, message}."""
    if not path.exists():
        return {}
    out: dict[str, dict[str, Any]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):  # noqa: S314 - our own file
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome = {"failure": "FAILED", "error": "ERROR", "skipped": "skipped"}[kind]
                message = (node.get("message") or "").splitlines()[0][:300]
                break
        out[case.get("name", "?")] = {
            "outcome": outcome,
            "seconds": round(float(case.get("time", 0)), 1),
            "message": message,
        }
    return out


def summary(fig: dict[str, Any]) -> str:
    """The figures that matter for each fault, in one line."""
    t = fig.get("test")
    if t == "api_kill9":
        return (
            f"{fig['crashes']} crashes, {fig['acked_events']} acked events, lost "
            f"{fig['lost']}; restart {fig['restart_s']} s; projections = rebuild, "
            f"caught up in {fig['catch_up_s']} s"
        )
    if t == "postgres_immediate_stop":
        outs = "; ".join(
            f"{o['outage_s']} s down: 503 in <= {o['max_503_s']} s, 2xx "
            f"{o['first_2xx_after_s']} s after return"
            for o in fig["outages"]
        )
        return f"{outs}; lost {fig['lost']} of {fig['acked_events']} acked"
    if t == "projection_worker_kill9":
        return (
            f"{fig['kills']} kills ({fig['kills_mid_batch']} mid-batch), skipped "
            f"{fig['skipped']}, duplicated {fig['duplicated']}, = rebuild"
        )
    if t == "idempotency_storm":
        return (
            f"{fig['clients']} clients x {fig['keys']} keys, crashes at "
            f"{[c[0] for c in fig['crashes']]} of the storm, {fig['answers']} 2xx "
            f"({fig['replayed']} replays), 1 event per key"
        )
    if t == "overload_1_5x":
        return (
            f"capacity {fig['capacity_rps']}/s, offered {fig['offered_rps']}/s for "
            f"the overload: {fig['overload_ok']} ok, {fig['overload_shed']} shed, "
            f"{fig['overload_other']} other; latency p50 {fig['overload_p50_s']} s, "
            f"p99 {fig['overload_p99_s']} s, max {fig['overload_max_s']} s; normal p99 "
            f"{fig['normal_p99_s']} s, back after {fig['recovered_after_s']} s"
        )
    if t == "resource_limits":
        statuses = sorted({k.split(" -> ")[1] for k in fig["outcomes"]})
        return (
            f"{fig['rounds']} rounds x {fig['parallel']} clients; answers {statuses}; "
            f"pages clamped {fig['page_sizes']}; slowest {fig['slowest_s']} s; "
            f"unhandled errors {fig['unhandled_errors']}"
        )
    if t == "deployment_two_hosts":
        return (
            f"{fig['acked_events']} acked events through both hosts; "
            f"{fig['read_your_writes']} cross-host read-your-writes, wait p50 "
            f"{fig['ryw_wait_p50_ms']} ms, max {fig['ryw_wait_max_ms']} ms; views identical"
        )
    return json.dumps(fig)[:200]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the quick versions (CI)")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression")
    args = parser.parse_args(argv)
    command = "python -m bench.faults" + (" --quick" if args.quick else "")
    if args.keyword:
        command += f" -k {args.keyword!r}"

    started = datetime.now(UTC)
    info = machine()
    with tempfile.TemporaryDirectory(prefix="ledger-faults-") as tmp:
        report_path = Path(tmp) / "figures.jsonl"
        junit_path = Path(tmp) / "junit.xml"
        env = {
            **os.environ,
            "LEDGER_FAULTS_REPORT": str(report_path),
            "LEDGER_TEST_POSTGRES_URL": os.environ.get("LEDGER_TEST_POSTGRES_URL", PG_URL),
            "LEDGER_REQUIRE_POSTGRES": "1",
        }
        if args.quick:
            env.pop("LEDGER_FAULTS_FULL", None)
        else:
            env["LEDGER_FAULTS_FULL"] = "1"
        pytest = [sys.executable, "-m", "pytest", "tests/faults", "tests/deployment"]
        pytest += ["-p", "no:cacheprovider", "-q", f"--junitxml={junit_path}"]
        if args.keyword:
            pytest += ["-k", args.keyword]
        t0 = time.monotonic()
        done = subprocess.run(pytest, cwd=ROOT, env=env, check=False)  # noqa: S603 - pytest with arguments built here
        wall = round(time.monotonic() - t0, 1)
        outcomes = junit(junit_path)
        figures = [
            json.loads(line)
            for line in (report_path.read_text().splitlines() if report_path.exists() else [])
        ]

    by_id = {f["test"]: f for f in figures}
    rows = []
    for name, result in outcomes.items():
        figures_id, label = fault_of(name)
        fig = by_id.get(figures_id)
        rows.append(
            {
                "fault": label,
                "test": name,
                **result,
                "figures": fig,
                "summary": summary(fig) if fig else result["message"],
            }
        )
    rows.sort(key=lambda r: r["fault"])

    print()
    print(f"Fault tests ({'quick' if args.quick else 'full'}), {started:%Y-%m-%d %H:%M} UTC,")
    print(f"{info['cpu']}, {info['cores']} cores, load {info['loadavg_at_start']}")
    print()
    print("| fault | result | s | what was measured |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['fault']} | {r['outcome']} | {r['seconds']} | {r['summary']} |")
    print(f"\npytest exit {done.returncode}, {wall} s in all")

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"faults-{started:%Y-%m-%d}.json"
    runs = json.loads(path.read_text())["runs"] if path.exists() else []
    runs.append(
        {
            "date": started.isoformat(timespec="seconds"),
            "command": command,
            "mode": "quick" if args.quick else "full",
            "machine": {**info, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
            "git": git_state(),
            "exit": done.returncode,
            "seconds": wall,
            "tests": rows,
        }
    )
    path.write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    print(f"written to {path.relative_to(ROOT)}")
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
