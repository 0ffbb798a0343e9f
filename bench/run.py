"""The one entry point: ``python -m bench [SCENARIO ...] [--quick]``.

Runs the scenarios named (default: every measured one), prints each figure beside its
baseline as a table, and appends the run to ``bench/results/<date>.json`` with the machine,
the command and every repeated run's raw figures. Everything targets 127.0.0.1; each
scenario is bounded in time (duration x repeats) and in requests (``--max-requests``).

    python -m bench --quick                    # seconds per scenario: CI smoke
    python -m bench http_pg http_pg_hot        # full: 3 x 20 s per side
    python -m bench rss --rss-schema bench_ds_1m_seed42 --duration 30
    python -m bench --list
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import scenarios as s
from bench.harness import NOT_MEASURED, Mode, Result
from bench.servers import ROOT, postgres_version

RESULTS = Path(__file__).resolve().parent / "results"
HTTP = ("http_pg", "http_pg_hot", "http_sqlite", "rss")


def registry(args: argparse.Namespace) -> dict[str, Callable[[Mode], Result]]:
    funcs: dict[str, Callable[[Mode], Result]] = {
        "http_pg": s.http_pg,
        "http_pg_hot": s.http_pg_hot,
        "http_sqlite": s.http_sqlite,
        "rss": lambda mode: s.rss(mode, args.rss_schema),
    }
    for name, where in READ_SIDE.items():
        funcs[name] = lambda mode, name=name, where=where: _lazy(name, where)(mode)  # type: ignore[misc]
    return funcs


# The scenarios of the read side and of integrity, each in a module of its own.
READ_SIDE = {
    "projection_catchup": "bench.catchup:projection_catchup",
    "projection_lag": "bench.projection_lag:projection_lag",
    "audit_page_p99": "bench.audit_page:audit_page_p99",
    "export_rows": "bench.exports:export_rows",
    "verify_events": "bench.verifying:verify_events",
}


def measured() -> list[str]:
    """Every scenario written so far (the stubs excluded)."""
    import importlib.util

    written = [n for n, w in READ_SIDE.items() if importlib.util.find_spec(w.split(":")[0])]
    return [*HTTP, *written]


def _lazy(name: str, where: str) -> Callable[[Mode], Result]:
    """The scenario's function, or its stub while its module is not written."""
    import importlib

    module, func = where.split(":")
    try:
        return getattr(importlib.import_module(module), func)  # type: ignore[no-any-return]
    except ModuleNotFoundError:
        return lambda _mode: s.run_stub(name)


def machine() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem_kb = int(line.split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024**2, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": postgres_version(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def git_state() -> dict[str, Any]:
    def git(*argv: str) -> str:
        out = subprocess.run(  # noqa: S603 - fixed git arguments
            ["git", *argv],  # noqa: S607 - git from PATH
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--short"))}


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    whole = abs(value) >= 100 or float(value).is_integer()
    text = f"{value:,.0f}" if whole else f"{value:,.1f}"
    return f"{text} {unit}".strip()


def table(results: list[Result]) -> str:
    head = ("scenario", "figure", "value", "baseline", "ratio", "target", "met")
    rows: list[tuple[str, ...]] = [head]
    for r in results:
        if r.status != "measured":
            rows.append(
                (
                    r.scenario,
                    r.status if r.status != "failed" else f"FAILED: {r.error}"[:90],
                    "",
                    "",
                    "",
                    r.figures[0].target if r.figures else "",
                    "",
                )
            )
            continue
        for f in r.figures:
            ratio = f.ratio
            met = "" if f.met is None else ("yes" if f.met else "NO")
            rows.append(
                (
                    r.scenario,
                    f.name,
                    fmt(f.value, f.unit),
                    fmt(f.baseline, f.unit) if f.baseline is not None else "",
                    f"{ratio:.2f}x" if ratio is not None else "",
                    f.target,
                    met,
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write(record: dict[str, Any], output: Path | None) -> Path:
    path = output or RESULTS / f"{datetime.now(UTC).date().isoformat()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    if path.exists():
        try:
            runs = json.loads(path.read_text()).get("runs", [])
        except (ValueError, AttributeError):
            runs = []
    runs.append(record)
    path.write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    return path


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument(
        "scenarios", nargs="*", help=f"default: {' '.join(measured())}; 'all' adds the stubs"
    )
    p.add_argument("--quick", action="store_true", help="seconds per scenario (CI smoke)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--repeats", type=int, help="measured runs per side (median reported)")
    p.add_argument("--duration", type=float, help="seconds per measured run")
    p.add_argument("--warmup", type=float, help="seconds before each measured run")
    p.add_argument("--connections", type=int, help="concurrent connections (default 16)")
    p.add_argument("--events", type=int, help="events in each scenario's dataset")
    p.add_argument("--campaigns", type=int, help="open campaigns in each scenario's dataset")
    p.add_argument("--max-requests", type=int, help="cap on measured requests per run")
    p.add_argument(
        "--launcher",
        choices=("cli", "tcp"),
        help="cli: ledger serve and the uvicorn CLI (default); tcp: bench.tcp_serve, a "
        "listening socket with IPPROTO_TCP so that multi-worker responses get TCP_NODELAY",
    )
    p.add_argument(
        "--ledger-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the ledger servers, e.g. LEDGER_PROJECTIONS=external (repeatable)",
    )
    p.add_argument(
        "--rss-schema",
        help="run 'rss' on this bench.dataset schema (full mode: the shared 1M-event one, "
        "built first if missing; quick mode: a small fresh one)",
    )
    p.add_argument("--output", type=Path, help="JSON file (default bench/results/<date>.json)")
    return p.parse_args(argv)


def _pair(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name.startswith("LEDGER_"):
        raise SystemExit(f"--ledger-env wants LEDGER_NAME=VALUE, not {item!r}")
    return name, value


def main(argv: list[str] | None = None) -> int:
    from api.logs import configure_logging

    args = parse(argv)
    configure_logging("json", level=30)  # the in-process ledgers: warnings only, no line per event
    funcs = registry(args)
    if args.list:
        for name in funcs:
            print(f"{name:<20} {'measured' if name in measured() else NOT_MEASURED}")
        return 0
    names = args.scenarios or measured()
    if names == ["all"]:
        names = list(funcs)
    unknown = [n for n in names if n not in funcs]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; see --list", file=sys.stderr)
        return 2
    mode = Mode.make(
        args.quick,
        repeats=args.repeats,
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        events=args.events,
        campaigns=args.campaigns,
        max_requests=args.max_requests,
        launcher=args.launcher,
        ledger_env=tuple(_pair(item) for item in args.ledger_env) or None,
    )
    started = datetime.now(UTC)
    info = machine()
    results = []
    for name in names:
        print(f"{name} ...", file=sys.stderr, flush=True)
        result = s.timed(name, lambda name=name: funcs[name](mode))  # type: ignore[misc]
        print(f"{name}: {result.status} in {result.seconds:.0f}s", file=sys.stderr, flush=True)
        for server, errors in result.params.get("failed_starts", {}).items():
            print(f"  note: {server} failed to start {len(errors)}x first", file=sys.stderr)
        results.append(result)
    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    record = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "mode": "quick" if mode.quick else "full",
        "settings": mode.__dict__,
        "machine": info,
        "git": git_state(),
        "scenarios": [r.as_dict() for r in results],
    }
    path = write(record, args.output)
    print(table(results))
    if mode.quick:
        print(
            "\nquick mode: one short run per side on a small dataset, a smoke test of every "
            "scenario; its ratios and 'met' verdicts are indicative only (full mode: medians "
            "of repeated runs, docs/performance.md)"
        )
    print(f"\nwritten to {path}")
    return 1 if any(r.status == "failed" for r in results) else 0
