"""``export_rows``: the audit trail exported as CSV and NDJSON beside PostgreSQL's own COPY.

Issue 6: "export of 1,000,000 audit entries (CSV and NDJSON) — baseline: ``COPY ... TO
STDOUT`` of the same rows — ≥ 50,000 rows/s; peak memory flat between 100,000 and
1,000,000 rows".

The trail: a fresh schema whose audit projection is installed by ``projections.catalog``
(same tables and indexes as the live read side) and filled with synthetic entries of one
organization by ``INSERT ... SELECT generate_series`` in the view's shape (ids, types,
times, budgets as JSON text, a details object of 60-120 bytes). The shared dataset is not
used: its projections are not caught up while it is being built, and it is read-only.

At 100,000 and then 1,000,000 rows (quick: 2,000 and 20,000), for CSV and then NDJSON,
alternating ``mode.repeats`` times:

- ``export``: ``projections.export.export_audit`` for the organization, the generator that
  ``ledger export`` and ``GET /v1/organizations/{id}/audit?format=...`` stream, each chunk
  written to ``os.devnull`` as UTF-8 text (as ``ledger export --output`` writes a file);
- ``baseline``: ``COPY (SELECT the same columns ... ORDER BY position) TO STDOUT (FORMAT
  csv, HEADER)`` through psycopg's ``cursor.copy()``, the blocks written to ``os.devnull``.

Memory, in separate runs so that tracing does not slow the timed ones: the peak of
``tracemalloc`` (Python allocations) and the process's RSS high-water mark (``VmHWM``,
reset through ``/proc/self/clear_refs`` before each run), at both sizes. The HTTP route is
the same generator behind a ``StreamingResponse``; it is not measured here.
"""

from __future__ import annotations

import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import psycopg
from psycopg import sql

from bench.harness import Figure, Mode, Result
from bench.servers import PG_CONNINFO, fresh_schema, schema_url
from ledger.settings import Settings
from projections import catalog
from projections.db import Database
from projections.export import export_audit
from projections.queries.audit import AuditFilter
from projections.views.audit import COLUMNS
from projections.views.audit import PROJECTION as AUDIT

ORG = UUID("6f1c2b1e-8d55-4a7a-9a57-0b5f3c1e2d40")
FORMATS: tuple[Literal["csv", "ndjson"], ...] = ("csv", "ndjson")
TARGET = 50_000

# One synthetic entry per position i, in the audit view's columns and value shapes.
FILL = """
INSERT INTO {table} ({columns})
SELECT i,
  md5('e' || i)::uuid::text,
  t.event_type, split_part(t.event_type, '.', 1),
  md5('a' || (i / 4))::uuid::text, 1 + i % 4,
  to_char(timestamp '2026-01-01' + i * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.US')
    || '+00:00',
  md5('u' || (i % 50))::uuid::text,
  (ARRAY['consultant', 'manager'])[1 + i % 2], (ARRAY['agency', 'client'])[1 + i % 2],
  {org}, md5('g' || (i % 7))::uuid::text, md5('c' || (i % 400))::uuid::text,
  md5('r' || (i / 4))::uuid::text, 1,
  CASE WHEN i % 4 = 3 THEN md5('c' || (i % 400))::uuid::text || '@' || (i % 9) END,
  CASE WHEN i % 4 = 3 THEN 1 END,
  CASE WHEN i % 4 = 1 THEN 'budget_shift' END,
  'Shift spend toward the better performing ad set ' || (i % 97),
  (ARRAY[NULL, 'pending', 'approved', 'approved'])[1 + i % 4],
  (ARRAY['pending', 'approved', 'approved', 'implemented'])[1 + i % 4],
  '{{"amount":"' || (1000 + i % 500) || '.00","currency":"EUR"}}',
  '{{"amount":"' || (1100 + i % 500) || '.00","currency":"EUR"}}',
  md5('k' || i)::uuid::text, NULL,
  '{{"channel":"search","note":"' || repeat('n', 40 + i % 60) || '"}}'
FROM generate_series({start}, {stop}) AS i,
  LATERAL (SELECT (ARRAY['Recommendation.Submitted', 'Recommendation.Approved',
    'Campaign.Adjusted', 'Campaign.Executed'])[1 + i % 4] AS event_type) AS t
"""


def sizes_for(mode: Mode) -> tuple[int, int]:
    return (2_000, 20_000) if mode.quick else (100_000, 1_000_000)


def fill(schema: str, table: str, start: int, stop: int) -> None:
    """Entries at positions start..stop (inclusive), in one statement."""
    statement = sql.SQL(FILL).format(
        table=sql.Identifier(schema, table),
        columns=sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS),
        org=sql.Literal(str(ORG)),
        start=sql.Literal(start),
        stop=sql.Literal(stop),
    )
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        conn.execute(statement)
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(schema, table)))
        # the view has "applied" them: an export covers the entries up to the view's position
        conn.execute(
            sql.SQL("UPDATE {} SET position = %s WHERE projection = %s").format(
                sql.Identifier(schema, "projection_tracking")
            ),
            (stop, AUDIT.name),
        )


def export(db: Database, fmt: Literal["csv", "ndjson"]) -> int:
    """The export path of ``ledger export``: rows written, counted from the lines."""
    lines = 0
    with open(os.devnull, "w", encoding="utf-8") as out:
        for chunk in export_audit(db, AuditFilter(organization_id=ORG), fmt):
            out.write(chunk)
            lines += chunk.count("\n")
    return lines - 1 if fmt == "csv" else lines


def copy_out(schema: str, table: str) -> int:
    """The baseline: PostgreSQL's COPY of the same rows and columns, as CSV; rows written."""
    query = sql.SQL(
        "COPY (SELECT {columns} FROM {table} WHERE organization_id = {org} ORDER BY position) "
        "TO STDOUT (FORMAT csv, HEADER)"
    ).format(
        columns=sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS),
        table=sql.Identifier(schema, table),
        org=sql.Literal(str(ORG)),
    )
    lines = 0
    with (
        psycopg.connect(PG_CONNINFO, autocommit=True) as conn,
        conn.cursor() as cur,
        cur.copy(query) as copy,
        open(os.devnull, "wb") as out,
    ):
        for block in copy:
            out.write(block)
            lines += bytes(block).count(b"\n")
    return lines - 1


def high_water_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def reset_high_water() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def timed(run: Callable[[], int], expected: int) -> dict[str, float]:
    load = os.getloadavg()[0]
    reset = reset_high_water()
    wall, cpu = time.perf_counter(), time.process_time()
    rows = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if rows != expected:
        raise RuntimeError(f"{rows} rows written, {expected} expected")
    return {
        "rows": rows,
        "per_s": rows / wall,
        "cpu_per_s": rows / cpu,
        "rss_hwm_mb": high_water_kb() / 1024 if reset else -1.0,
        "loadavg_1m": load,
    }


def traced_peak_mb(run: Callable[[], int]) -> float:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure_size(
    db: Database, schema: str, table: str, n: int, mode: Mode, runs: dict[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fmt in FORMATS:
        mine, base = runs.setdefault(f"{fmt} {n}", []), runs.setdefault(f"copy {fmt} {n}", [])
        for _ in range(mode.repeats):
            mine.append(timed(lambda fmt=fmt: export(db, fmt), n))  # type: ignore[misc]
            base.append(timed(lambda: copy_out(schema, table), n))
        out[fmt] = {
            "per_s": statistics.median(r["per_s"] for r in mine),
            "copy_per_s": statistics.median(r["per_s"] for r in base),
            "cpu_per_s": statistics.median(r["cpu_per_s"] for r in mine),
            "rss_hwm_mb": max(r["rss_hwm_mb"] for r in mine),
            "traced_peak_mb": traced_peak_mb(lambda fmt=fmt: export(db, fmt)),  # type: ignore[misc]
            "load": statistics.median(r["loadavg_1m"] for r in mine),
        }
    return out


def figures_of(small: int, large: int, at: dict[int, dict[str, Any]]) -> list[Figure]:
    figures = []
    for fmt in FORMATS:
        big, few = at[large][fmt], at[small][fmt]
        figures.append(
            Figure(
                f"export {fmt} {large:,} rows",
                round(big["per_s"]),
                "rows/s",
                round(big["copy_per_s"]),
                f"≥ {TARGET:,} rows/s",
                big["per_s"] >= TARGET,
                f"baseline COPY csv; CPU-time rate {big['cpu_per_s']:,.0f}/s; "
                f"median load {big['load']:.1f}",
            )
        )
        flat: bool | None = big["traced_peak_mb"] <= 1.25 * few["traced_peak_mb"] + 1
        if small < 100_000:  # quick sizes sit below one database fetch: not judged
            flat = None
        figures.append(
            Figure(
                f"export {fmt} peak memory {large:,} rows",
                round(big["traced_peak_mb"], 2),
                "MiB traced",
                None,  # no baseline: the comparison is with the same export at fewer rows
                f"flat: ≤ 1.25x the {small:,}-row peak",
                flat,
                f"{few['traced_peak_mb']:.2f} MiB traced at {small:,} rows; "
                f"RSS high-water {big['rss_hwm_mb']:.0f} "
                f"MiB at {large:,}, {few['rss_hwm_mb']:.0f} MiB at {small:,}",
            )
        )
    return figures


def export_rows(mode: Mode) -> Result:
    """CSV and NDJSON export of the audit trail beside COPY, at two sizes."""
    small, large = sizes_for(mode)
    runs: dict[str, Any] = {}
    at: dict[int, dict[str, Any]] = {}
    with fresh_schema("export") as schema:
        db = Database.from_settings(Settings(database_url=schema_url(schema)), pool_size=2)
        try:
            session = db.session()
            try:
                generation = catalog.install(session, AUDIT, schema)
            finally:
                session.close()
            table = AUDIT.names(generation)["audit"]
            filled = 0
            for n in (small, large):
                started = time.perf_counter()
                fill(schema, table, filled + 1, n)
                runs.setdefault("fill_seconds", []).append(
                    {"rows": n - filled, "seconds": time.perf_counter() - started}
                )
                filled = n
                at[n] = measure_size(db, schema, table, n, mode, runs)
        finally:
            db.close()
    params = {
        "rows": [small, large],
        "repeats": mode.repeats,
        "trail": "synthetic entries of one organization in a fresh schema (see module doc)",
        "export": "projections.export.export_audit (ledger export / HTTP ?format=)",
        "baseline": "COPY (SELECT same columns ...) TO STDOUT (FORMAT csv, HEADER)",
        "summary": at,
    }
    return Result("export_rows", "measured", figures_of(small, large, at), params, runs)
