"""The scenarios: each a function of the run mode, selectable by name.

Measured: ``http_pg``, ``http_pg_hot``, ``http_sqlite``, ``rss``. The others are stubs that
say "not measured yet" until someone writes them; they are never counted as results.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from bench.baseline_app import PG_COLUMNS
from bench.dataset import MILLION, build, load_manifest, million
from bench.harness import Figure, Mode, Result, Side, alternate, dump, med, stub, total
from bench.load import Session
from bench.servers import (
    PG_CONNINFO,
    Server,
    baseline_command,
    free_port,
    fresh_schema,
    ledger_command,
    memory_kb,
    running,
    schema_url,
)
from bench.workloads import BaselineSession, HotSession, MixSession, Target, split
from ledger.settings import Settings

OPEN = ("draft", "active", "paused")


def issue_targets(settings: Settings, manifest: dict[str, Any]) -> list[Target]:
    """One target per open campaign, with API keys for its organization's manager and one
    of the consultants engaged there (keys issued here, stored hashed like any other)."""
    from api.keys import KeyStore

    store = KeyStore(settings)
    keys: dict[str, str] = {}

    def key(actor_id: str) -> str:
        if actor_id not in keys:
            from uuid import UUID

            keys[actor_id] = store.issue(UUID(actor_id), label="bench").token
        return keys[actor_id]

    try:
        orgs = manifest["orgs"]
        targets = []
        for i, camp in enumerate(manifest["open_campaigns"]):
            if camp["status"] not in OPEN:
                continue
            org = orgs[camp["org"]]
            consultant = org["consultants"][i % len(org["consultants"])]
            targets.append(
                Target(
                    campaign_id=camp["id"],
                    org_id=org["id"],
                    engagement_id=org["engagement_id"],
                    consultant_key=key(consultant),
                    manager_key=key(org["manager"]),
                    budget=dict(camp["budget"]),
                )
            )
        return targets
    finally:
        store.close()


def ledger_server(
    url: str, workers: int, logs: Path, launcher: str = "cli", extra: dict[str, str] | None = None
) -> Server:
    port = free_port()
    env = {"LEDGER_DATABASE_URL": url, "LEDGER_LOG_FORMAT": "json", **(extra or {})}
    argv = ledger_command(workers, port, launcher)
    return Server("ledger", argv, port, env, logs / "ledger.log")


def mix_sessions(targets: list[Target], n: int) -> Callable[[], list[Session]]:
    hands = split(targets, n)
    return lambda: [MixSession(hand) for hand in hands]


def baseline_sessions(targets: list[Target], n: int) -> Callable[[], list[Session]]:
    ids = [t.campaign_id for t in targets]
    return lambda: [BaselineSession(ids[i::n]) for i in range(n)]


def peak_rss_mb(server: Server) -> float:
    peaks = [memory_kb(pid).get("VmHWM", 0) for pid in server.worker_pids()]
    return max(peaks, default=0) / 1024


def throughput_figures(ledger: Side, base: Side, workers: int) -> list[Figure]:
    ok, base_ok = med(ledger.results, "ok_rps"), med(base.results, "ok_rps")
    p99 = med(ledger.results, "p99_ms")
    errors = total(ledger.results, "non_2xx") + total(ledger.results, "transport_errors")
    figures = [
        Figure("commands/s", round(ok, 1), "req/s", round(base_ok, 1), "≥ 0.5x baseline"),
        Figure("p99", round(p99, 1), "ms", round(med(base.results, "p99_ms"), 1)),
        Figure(
            "p50",
            round(med(ledger.results, "p50_ms"), 1),
            "ms",
            round(med(base.results, "p50_ms"), 1),
        ),
        Figure("errors", errors, "requests", total(base.results, "non_2xx"), "0"),
    ]
    ratio = figures[0].ratio
    figures[0].met = ratio is not None and ratio >= 0.5
    figures[1].met = p99 <= 50 if workers > 1 else None
    figures[1].target = "≤ 50 ms" if workers > 1 else ""
    figures[3].met = errors == 0
    for label in ("recommend", "approve", "adjust"):
        figures.append(Figure(f"p99 {label}", round(med(ledger.results, "p99_ms", label), 1), "ms"))
    return figures


@contextmanager
def pg_store(name: str, mode: Mode) -> Iterator[tuple[str, Settings, dict[str, Any]]]:
    with fresh_schema(name) as schema:
        settings = Settings(database_url=schema_url(schema))
        yield schema, settings, build(settings, mode.events, min_open=mode.campaigns)


def http_pg(mode: Mode) -> Result:
    """Commands/s over HTTP on PostgreSQL, 2 workers, the mix, beside baseline (a)."""
    workers, n = 2, mode.connections
    with (
        pg_store("http_pg", mode) as (schema, settings, manifest),
        tempfile.TemporaryDirectory() as tmp,
    ):
        targets = issue_targets(settings, manifest)
        table = f'"{schema}".baseline_commands'
        with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE {table} ({PG_COLUMNS})")
        ledger = ledger_server(
            settings.database_url, workers, Path(tmp), mode.launcher, dict(mode.ledger_env)
        )
        base = Server(
            "baseline (a)",
            baseline_command("create_pg_app", workers, (port := free_port()), mode.launcher),
            port,
            {"BENCH_BASELINE_PG": PG_CONNINFO, "BENCH_BASELINE_TABLE": table},
            Path(tmp) / "baseline.log",
        )
        with running(ledger, base):
            sides = [
                Side("ledger", ledger, mix_sessions(targets, n)),
                Side("baseline", base, baseline_sessions(targets, n)),
            ]
            alternate(mode, sides)
            rss = peak_rss_mb(ledger)
    figures = throughput_figures(sides[0], sides[1], workers)
    figures.append(Figure("worker peak RSS", round(rss, 1), "MB", note="VmHWM, largest worker"))
    return Result(
        "http_pg",
        "measured",
        figures,
        params={
            **_params(mode, workers, manifest, "baseline (a): FastAPI + 1 INSERT via psycopg_pool"),
            **_starts(ledger, base),
        },
        runs={"ledger": dump(sides[0]), "baseline": dump(sides[1])},
    )


def http_pg_hot(mode: Mode) -> Result:
    """All connections on one campaign with If-Match: the 2xx/409 split, p99, no 5xx."""
    workers, n = 2, mode.connections
    with (
        pg_store("http_pg_hot", mode) as (_, settings, manifest),
        tempfile.TemporaryDirectory() as tmp,
    ):
        target = next(t for t in issue_targets(settings, manifest) if t.budget)
        ledger = ledger_server(
            settings.database_url, workers, Path(tmp), mode.launcher, dict(mode.ledger_env)
        )
        amounts = itertools.count()
        with running(ledger):
            side = Side("ledger", ledger, lambda: [HotSession(target, amounts) for _ in range(n)])
            alternate(mode, [side])
    r = side.results
    ok, conflicts = total(r, "ok", "adjust"), _status(r, "adjust", "409")
    posts = total(r, "requests", "adjust")
    server_errors = total(r, "server_errors")
    other = posts - ok - conflicts + total(r, "transport_errors")
    figures = [
        Figure("budget changes 2xx/s", round(med(r, "ok_rps", "adjust"), 1), "req/s"),
        Figure("2xx share of POSTs", round(100 * ok / posts, 1) if posts else None, "%"),
        Figure("409 share of POSTs", round(100 * conflicts / posts, 1) if posts else None, "%"),
        Figure("p99 POST", round(med(r, "p99_ms", "adjust"), 1), "ms"),
        Figure("p99 GET", round(med(r, "p99_ms", "get"), 1), "ms"),
        Figure("5xx", server_errors, "requests", target="0", met=server_errors == 0),
        Figure("other errors", other, "requests", target="0", met=other == 0),
    ]
    return Result(
        "http_pg_hot",
        "measured",
        figures,
        params={
            **_params(mode, workers, manifest, "none"),
            **_starts(ledger),
            "campaign": target.campaign_id,
        },
        runs={"ledger": dump(side)},
    )


def http_sqlite(mode: Mode) -> Result:
    """Commands/s over HTTP on the embedded SQLite default, 1 worker, beside baseline (b)."""
    workers, n = 1, mode.connections
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/ledger.db")
        manifest = build(settings, mode.events, min_open=mode.campaigns)
        targets = issue_targets(settings, manifest)
        ledger = ledger_server(
            settings.database_url, workers, Path(tmp), mode.launcher, dict(mode.ledger_env)
        )
        base = Server(
            "baseline (b)",
            baseline_command("create_sqlite_app", workers, (port := free_port()), mode.launcher),
            port,
            {"BENCH_BASELINE_SQLITE": f"{tmp}/baseline.db"},
            Path(tmp) / "baseline.log",
        )
        with running(ledger, base):
            sides = [
                Side("ledger", ledger, mix_sessions(targets, n)),
                Side("baseline", base, baseline_sessions(targets, n)),
            ]
            alternate(mode, sides)
            rss = peak_rss_mb(ledger)
    figures = throughput_figures(sides[0], sides[1], workers)
    figures.append(Figure("worker peak RSS", round(rss, 1), "MB", note="VmHWM"))
    return Result(
        "http_sqlite",
        "measured",
        figures,
        params={
            **_params(mode, workers, manifest, "baseline (b): FastAPI + 1 SQLite INSERT (WAL)"),
            **_starts(ledger, base),
        },
        runs={"ledger": dump(sides[0]), "baseline": dump(sides[1])},
    )


def rss(mode: Mode, schema: str | None = None) -> Result:
    """Peak RSS (VmHWM) of one API worker on PostgreSQL under the mix. With ``schema``, on
    an existing dataset built by ``python -m bench.dataset`` (the run appends to it)."""
    workers, n = 1, mode.connections
    with tempfile.TemporaryDirectory() as tmp, _store(schema, mode) as (settings, manifest):
        targets = issue_targets(settings, manifest)
        ledger = ledger_server(
            settings.database_url, workers, Path(tmp), mode.launcher, dict(mode.ledger_env)
        )
        with running(ledger):
            side = Side("ledger", ledger, mix_sessions(targets, n))
            started = peak_rss_mb(ledger)
            alternate(mode, [side])
            peak = peak_rss_mb(ledger)
        stored = stored_events(settings)
    met = peak <= 250 if stored >= 1_000_000 else None
    figures = [
        Figure("worker peak RSS", round(peak, 1), "MB", target="≤ 250 MB at 1M events", met=met),
        Figure("RSS after start-up", round(started, 1), "MB"),
        Figure("events stored", stored, "events"),
        Figure("commands/s (1 worker)", round(med(side.results, "ok_rps"), 1), "req/s"),
    ]
    return Result(
        "rss",
        "measured",
        figures,
        params={
            **_params(mode, workers, manifest, "none"),
            **_starts(ledger),
            "schema": schema or ("fresh" if mode.quick else MILLION),
        },
        runs={"ledger": dump(side)},
    )


def stored_events(settings: Settings) -> int:
    """Events in a PostgreSQL store now (the dataset plus what the runs appended)."""
    from ledger.persistence.store import APP_NAME, eventsourcing_env

    schema = eventsourcing_env(settings)["POSTGRES_SCHEMA"] or "public"
    with psycopg.connect(PG_CONNINFO) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{schema}".{APP_NAME}_events').fetchone()
    return int(row[0]) if row else 0


@contextmanager
def _store(schema: str | None, mode: Mode) -> Iterator[tuple[Settings, dict[str, Any]]]:
    if schema is None and mode.quick:
        with pg_store("rss", mode) as (_, settings, manifest):
            yield settings, manifest
        return
    settings = million(schema or MILLION)  # full mode: the issue's 1,000,000 events stored
    stored = load_manifest(settings)
    assert stored is not None
    yield settings, stored


def _starts(*servers: Server) -> dict[str, Any]:
    """Servers that failed to start before they did: reported beside the figures."""
    failed = {s.name: s.failed_starts for s in servers if s.failed_starts}
    return {"failed_starts": failed} if failed else {}


def _status(results: list[Any], label: str, status: str) -> int:
    return sum(int(r.by_label.get(label, {}).get("status", {}).get(status, 0)) for r in results)


def _params(mode: Mode, workers: int, manifest: dict[str, Any], baseline: str) -> dict[str, Any]:
    return {
        "workers": workers,
        "connections": mode.connections,
        "duration_s": mode.duration,
        "warmup_s": mode.warmup,
        "repeats": mode.repeats,
        "dataset_events": manifest["events"],
        "open_campaigns": len(manifest["open_campaigns"]),
        "baseline": baseline,
        "launcher": mode.launcher,
        "ledger_env": dict(mode.ledger_env),
    }


STUBS: dict[str, tuple[str, str]] = {
    "projection_catchup": (
        "≥ 10,000 events/s and ≥ 5x the library's one-event-per-transaction runner, 1M events",
        "projections: catch-up of a 1M-event store (bench.dataset --events 1000000)",
    ),
    "projection_lag": ("p99 ≤ 100 ms while sustaining 250 commands/s", "projections"),
    "audit_page_p99": (
        "p99 ≤ 25 ms, 50 rows by organization and time, 1M events, 100 commands/s written",
        "api/projections: beside the same SQL run directly through psycopg",
    ),
    "export_rows": (
        "≥ 50,000 rows/s CSV and NDJSON, memory flat 100k→1M rows",
        "projections/export: beside COPY ... TO STDOUT",
    ),
    "verify_events": ("≥ 100,000 events/s on 1M events", "integrity: beside hashlib in a loop"),
}


def run_stub(name: str) -> Result:
    target, hint = STUBS[name]
    return stub(name, target, hint)


def timed(name: str, func: Callable[[], Result]) -> Result:
    started = time.perf_counter()
    try:
        result = func()
    except Exception as e:  # a failed scenario is reported, and the others still run
        result = Result(name, "failed", error=f"{type(e).__name__}: {e}")
    result.seconds = time.perf_counter() - started
    return result
