"""Issue 6 on the read side under write load, second half: the audit page's p99 (the first,
projection lag, is ``bench.projection_lag``).

``audit_page_p99``: a 2-worker server on the 1M-event dataset ``bench_ds_1m_seed42``
(quick: a small dataset built here; ``BENCH_AUDIT_SCHEMA=fresh``: one of ``--events``),
100 commands/s of the mix written open-loop in the background, and auditors fetching
50-row audit pages of one organization and a ``WINDOW_DAYS``-day window, open-loop at
``READ_RATE`` pages/s over ``READERS`` connections (a latency test: closed-loop readers
would measure the queue they make themselves). The baseline is the same SQL (the active
generation, its position, then the page's SELECT, in one transaction, as
``projections.queries.audit.audit_trail`` issues them) run through psycopg at the same rate
over as many connections and the same windows; the two sides alternate. After the runs,
``EXPLAIN (ANALYZE, BUFFERS)`` of the page query for the window with the most entries and
for its organization's whole span go into the result's params.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from bench.dataset import load_manifest, million
from bench.harness import Figure, Mode, Result, median
from bench.load import (
    Client,
    Session,
    Tally,
    drive_rate,
    summarize,
)
from bench.projection_lag import CATCH_UP_S, SUSTAINED, WRITERS, head, wait_caught_up
from bench.scenarios import issue_targets, ledger_server, pg_store
from bench.servers import (
    HOST,
    PG_CONNINFO,
    running,
)
from bench.workloads import MixSession, bearer, split
from ledger.settings import Settings
from projections.db import Tx
from projections.queries.audit import AuditFilter, select

AUDIT_WRITE_RATE = 100.0  # commands/s written while the audit pages are read
PAGE_TARGET_MS = 25.0
READERS = 4  # connections for the pages, each side
READ_RATE = 20.0  # pages/s asked of each side, open-loop
PAGE, WINDOW_DAYS, WINDOWS = 50, 30, 200
DATASET_1M = os.environ.get("BENCH_AUDIT_SCHEMA", "bench_ds_1m_seed42")  # full mode
BEHIND_OK = 1_000  # events the shared dataset's projections may trail its head by


# audit_page_p99


@dataclass(frozen=True)
class Window:
    org_id: str
    since: datetime
    until: datetime


def windows(
    schema: str, generation: int, orgs: list[str], last: int, n: int, seed: int = 42
) -> list[Window]:
    """``n`` windows of ``WINDOW_DAYS`` days, each in one organization's span of the
    dataset (positions up to ``last``: the runs' own commands are recorded at today's date,
    long after the dataset's simulated clock, and would stretch the spans into a gap)."""
    sql = (
        f'SELECT organization_id, min(recorded_at), max(recorded_at) FROM "{schema}".audit_g'
        f"{generation} WHERE organization_id = ANY(%s) AND position <= %s "
        "GROUP BY organization_id"
    )
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        rows = conn.execute(sql, (orgs, last)).fetchall()
    spans = {str(r[0]): (r[1], r[2]) for r in rows}
    rng, width, found = random.Random(seed), timedelta(days=WINDOW_DAYS), []
    names = sorted(spans)
    for _ in range(n):
        org = rng.choice(names)
        lo, hi = (datetime.fromisoformat(x) for x in spans[org])
        room = max(0.0, (hi - lo - width).total_seconds())
        since = lo + timedelta(seconds=rng.uniform(0, room))
        found.append(Window(org, since, since + width))
    return found


def page_sql(window: Window, generation: int) -> tuple[list[tuple[str, tuple[Any, ...]]], str]:
    """The statements ``audit.audit_trail`` sends for one page, with their parameters."""
    flt = AuditFilter(organization_id=UUID(window.org_id), since=window.since, until=window.until)
    where = flt.where()
    tx = Tx(None, "postgres", {"audit": f"audit_g{generation}"})
    page = tx.sql(select(where, PAGE + 1))
    return [
        (tx.sql("SELECT active FROM projection_generations WHERE projection = ?"), ("audit",)),
        (
            tx.sql(
                "SELECT position FROM projection_tracking WHERE projection = ? AND generation = ?"
            ),
            ("audit", generation),
        ),
        (page, tuple(where.params)),
    ], page


@dataclass
class AuditReader:
    """An auditor paging through the audit trail, one window after another."""

    windows: list[Window]
    keys: dict[str, str]  # organization -> its auditor's API key
    offset: int = 0

    async def step(self, client: Client) -> None:
        w = self.windows[self.offset % len(self.windows)]
        self.offset += 1
        query = urlencode(
            {"since": w.since.isoformat(), "until": w.until.isoformat(), "limit": PAGE}
        )
        path = f"/v1/organizations/{w.org_id}/audit-trail?{query}"
        await client.request("page", "GET", path, bearer(self.keys[w.org_id]))


async def sql_readers(
    schema: str,
    statements: list[list[tuple[str, tuple[Any, ...]]]],
    n: int,
    duration: float,
    rate: float = READ_RATE,
) -> dict[str, Any]:
    """The pages' statements through ``n`` psycopg connections, open-loop at ``rate`` pages
    a second for ``duration`` seconds, timed like the HTTP pages (from the first statement
    sent on a free connection to the last row read)."""
    tally = Tally()
    conns = [
        await psycopg.AsyncConnection.connect(
            PG_CONNINFO, autocommit=True, row_factory=dict_row, options=f"-c search_path={schema}"
        )
        for _ in range(n)
    ]
    idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
    for conn in conns:
        idle.put_nowait(conn)
    tasks: list[asyncio.Task[None]] = []

    async def page(conn: psycopg.AsyncConnection[Any], sent: list[tuple[str, Any]]) -> None:
        try:
            started = time.perf_counter()
            async with conn.transaction():
                for text, params in sent:
                    await (await conn.execute(text, params)).fetchall()
            tally.latencies.append(time.perf_counter() - started)
            tally.statuses[200] += 1
        finally:
            idle.put_nowait(conn)

    loop = asyncio.get_running_loop()
    start, k = loop.time(), 0
    try:
        while (due := start + k / rate) < start + duration:
            await asyncio.sleep(max(0.0, due - loop.time()))
            conn = await idle.get()
            tasks.append(asyncio.create_task(page(conn, statements[k % len(statements)])))
            k += 1
        await asyncio.gather(*tasks)
    finally:
        for conn in conns:
            await conn.close()
    return summarize([tally], duration)


@dataclass
class AuditRuns:
    http: list[dict[str, Any]] = field(default_factory=list)
    sql: list[dict[str, Any]] = field(default_factory=list)
    loadavg: list[float] = field(default_factory=list)
    writes: dict[str, Any] = field(default_factory=dict)


async def audit_alternating(
    port: int,
    schema: str,
    mode: Mode,
    writers: list[Session],
    readers: list[AuditReader],
    statements: list[list[tuple[str, tuple[Any, ...]]]],
) -> AuditRuns:
    """The writer in the background throughout; HTTP pages and direct SQL in turn."""
    out, stop = AuditRuns(), asyncio.Event()
    writer = asyncio.create_task(
        drive_rate(HOST, port, writers, rate=AUDIT_WRITE_RATE, duration=1e9, warmup=0.0, stop=stop)
    )
    try:
        await drive_rate(HOST, port, list(readers), rate=READ_RATE, duration=mode.first_warmup)
        await sql_readers(schema, statements, len(readers), mode.warmup)
        for _ in range(mode.repeats):
            out.loadavg.append(os.getloadavg()[0])
            http, _ = await drive_rate(
                HOST,
                port,
                list(readers),
                rate=READ_RATE,
                duration=mode.duration,
                warmup=mode.warmup,
            )
            out.http.append(http.as_dict())
            await asyncio.sleep(0.2)
            out.sql.append(await sql_readers(schema, statements, len(readers), mode.duration))
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        load, schedule = await writer
    out.writes = {"load": load.as_dict(), "schedule": schedule.as_dict()}
    return out


def auditor_keys(settings: Settings, manifest: dict[str, Any]) -> dict[str, str]:
    """An API key for the auditor of each organization (issued here, stored hashed)."""
    from api.keys import KeyStore

    store = KeyStore(settings)
    try:
        return {
            org["id"]: store.issue(UUID(org["auditor"]), label="bench").token
            for org in manifest["orgs"]
        }
    finally:
        store.close()


@contextmanager
def audit_store(mode: Mode) -> Iterator[tuple[str, Settings, dict[str, Any]]]:
    """Quick: a fresh small dataset. Full: the shared 1M-event dataset, read-only apart from
    the commands the writer appends and the API keys issued for the run; or a fresh one of
    ``mode.events`` with ``BENCH_AUDIT_SCHEMA=fresh``."""
    if mode.quick or DATASET_1M == "fresh":
        with pg_store("audit", mode) as found:
            yield found
        return
    settings = million(DATASET_1M)  # built once if missing
    catch_up_projections(settings)
    manifest = load_manifest(settings)
    assert manifest is not None
    yield DATASET_1M, settings, manifest


def catch_up_projections(settings: Settings) -> None:
    """Bring the dataset's read side to the head of its log, as ``ledger projections run``
    would (the first time: about a million events, a few minutes)."""
    from ledger.application.service import Ledger
    from projections.service import ReadSide

    ledger = Ledger(settings)
    try:
        with ReadSide(ledger) as read_side:
            read_side.install()
            started = time.perf_counter()
            applied = read_side.run_until_caught_up()
        if applied:
            print(
                f"  caught the dataset's projections up: {applied:,} applications in "
                f"{time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
    finally:
        ledger.close()


def active_audit_generation(schema: str) -> int:
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        row = conn.execute(
            f'SELECT active FROM "{schema}".projection_generations WHERE projection = %s',
            ("audit",),
        ).fetchone()
    if row is None:
        raise RuntimeError(f"no audit projection in {schema}")
    return int(row[0])


def audit_page_p99(mode: Mode) -> Result:
    """Audit page p99 over HTTP at 1M events while 100 commands/s are written, beside the
    same SQL run directly through psycopg."""
    with audit_store(mode) as (schema, settings, manifest), tempfile.TemporaryDirectory() as t:
        if schema == DATASET_1M:
            position, top = wait_caught_up(schema, 0.0)
            if top - position > BEHIND_OK:
                raise RuntimeError(
                    f"{schema}: projections at {position}, log head {top}: not caught up"
                )
        targets = issue_targets(settings, manifest)
        keys = auditor_keys(settings, manifest)
        server = ledger_server(
            settings.database_url, 2, Path(t), mode.launcher, dict(mode.ledger_env)
        )
        with running(server):
            before = wait_caught_up(schema, max(CATCH_UP_S, manifest["events"] / 300), server)
            generation = active_audit_generation(schema)
            chosen = windows(schema, generation, list(keys), int(manifest["events"]), WINDOWS)
            statements = [page_sql(w, generation)[0] for w in chosen]
            readers = [AuditReader(chosen, keys, offset=k * 7) for k in range(READERS)]
            hands = split(targets, min(WRITERS // 2, len(targets)))
            writers: list[Session] = [MixSession(h) for h in hands]
            runs = asyncio.run(
                audit_alternating(server.port, schema, mode, writers, readers, statements)
            )
            server.check_alive()
        with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
            rows = conn.execute(f'SELECT count(*) FROM "{schema}".audit_g{generation}').fetchone()
            events = head(conn, schema)
        found = plans(schema, generation, chosen)
    result = audit_result(
        mode, runs, before, events, int(rows[0]) if rows else 0, chosen[0], generation
    )
    result.params["plans"] = found
    return result


def plans(schema: str, generation: int, chosen: list[Window]) -> dict[str, list[str]]:
    """EXPLAIN (ANALYZE, BUFFERS) of the page query for the window with the most entries,
    and for the whole recorded span of its organization (after the measured runs)."""
    table = f'"{schema}".audit_g{generation}'
    count = (
        f"SELECT count(*) FROM {table} WHERE organization_id = %s "
        "AND recorded_at >= %s AND recorded_at < %s"
    )
    span = f"SELECT min(recorded_at), max(recorded_at) FROM {table} WHERE organization_id = %s"
    out: dict[str, list[str]] = {}
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')

        def entries(w: Window) -> int:
            _, params = page_sql(w, generation)[0][2]  # organization, since, until
            row = conn.execute(count, params).fetchone()
            return int(row[0]) if row else 0

        widest = max(chosen, key=entries)
        lo, hi = conn.execute(span, (widest.org_id,)).fetchone() or (None, None)
        whole = Window(
            widest.org_id,
            datetime.fromisoformat(lo),
            datetime.fromisoformat(hi) + timedelta(seconds=1),
        )
        for name, w in (("widest window", widest), ("whole span", whole)):
            text, params = page_sql(w, generation)[0][2]
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + text, params).fetchall()
            out[f"{name}: {entries(w)} entries, {w.since:%Y-%m-%d} to {w.until:%Y-%m-%d}"] = [
                str(r[0]) for r in rows
            ]
    return out


def audit_result(
    mode: Mode,
    runs: AuditRuns,
    before: tuple[int, int],
    events: int,
    rows: int,
    sample: Window,
    generation: int,
) -> Result:
    http_p99 = median([float(r["by_label"]["page"]["p99_ms"]) for r in runs.http])
    sql_p99 = median([float(r["p99_ms"]) for r in runs.sql])
    http_p50 = median([float(r["by_label"]["page"]["p50_ms"]) for r in runs.http])
    sql_p50 = median([float(r["p50_ms"]) for r in runs.sql])
    errors = sum(
        int(r["total"]["non_2xx"]) + int(r["total"]["transport_errors"]) for r in runs.http
    )
    written = runs.writes["load"]["total"]
    full = events >= 1_000_000
    figures = [
        Figure(
            "audit page p99 (HTTP)",
            round(http_p99, 1),
            "ms",
            round(sql_p99, 1),
            f"≤ {PAGE_TARGET_MS:.0f} ms at 1M events, 100 commands/s written",
            met=(http_p99 <= PAGE_TARGET_MS) if full else None,
            note="baseline: the same statements through psycopg",
        ),
        Figure("audit page p50 (HTTP)", round(http_p50, 1), "ms", round(sql_p50, 1)),
        Figure(
            "pages/s (HTTP)",
            round(median([float(r["by_label"]["page"]["ok_rps"]) for r in runs.http]), 1),
            "req/s",
            round(median([float(r["rps"]) for r in runs.sql]), 1),
        ),
        Figure("page errors", errors, "requests", target="0", met=errors == 0),
        Figure(
            "commands/s written meanwhile",
            round(float(written["ok_rps"]), 1),
            "req/s",
            target=f"≥ {SUSTAINED * AUDIT_WRITE_RATE:.0f}",
            met=float(written["ok_rps"]) >= SUSTAINED * AUDIT_WRITE_RATE,
            note=f"non-2xx {written['non_2xx']}",
        ),
        Figure("events stored", events, "events"),
        Figure("audit rows", rows, "rows"),
    ]
    return Result(
        "audit_page_p99",
        "measured",
        figures,
        params={
            "workers": 2,
            "readers": READERS,
            "read_rate": READ_RATE,
            "page": PAGE,
            "window_days": WINDOW_DAYS,
            "windows": WINDOWS,
            "write_rate": AUDIT_WRITE_RATE,
            "duration_s": mode.duration,
            "warmup_s": mode.warmup,
            "repeats": mode.repeats,
            "projections_before": {"position": before[0], "head": before[1]},
            "audit_generation": generation,
            "sample_sql": page_sql(sample, generation)[1],
            "launcher": mode.launcher,
            "ledger_env": dict(mode.ledger_env),
        },
        runs={
            "http": [
                {**r, "loadavg_1m": la} for r, la in zip(runs.http, runs.loadavg, strict=True)
            ],
            "sql": runs.sql,
            "writes": [runs.writes],
        },
    )
