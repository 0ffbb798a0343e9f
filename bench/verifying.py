"""``verify_events``: ``ledger verify`` throughput beside hashing the same rows in one loop.

Issue 6: "``ledger verify`` on 1,000,000 events — baseline: hashing the same rows with
``hashlib`` in one loop — target ≥ 100,000 events/s".

Stores (full mode: 1,000,000 events; quick: 20,000):

- SQLite: a file in a temporary directory, filled by ``bench.integrity.fill`` (a small world
  built by commands, then copies of a recommendation's record under new aggregate ids,
  appended through the recorder so the Merkle log grows with them);
- PostgreSQL: in full mode, the shared dataset schema (``BENCH_VERIFY_SCHEMA``, default
  ``bench_ds_1m_seed42``) when it holds at least that many leaves, read only (the checkpoint
  is signed in memory by a throw-away key, never stored); otherwise a fresh schema filled
  like SQLite.

On each store, alternating ``mode.repeats`` times:

- ``verify``: ``ledger.integrity.verify.verify`` with one checkpoint of the whole tree;
- ``baseline``: the same events read in one snapshot by the same cursor as ``verify`` reads
  them (``ledger.persistence.sql.snapshot``), each hashed once with ``sha256`` in one loop: the
  floor for any verifier that reads the rows from this store. It reads no leaves or nodes.

Figures are medians of events per second (wall clock), with the process CPU time beside
them: on a shared machine the wall clock mostly says how busy the other engineers are.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.harness import Figure, Mode, Result
from bench.integrity import fill
from bench.servers import PG_CONNINFO, fresh_schema, schema_url
from ledger.application.service import Ledger
from ledger.integrity.checkpoint import Checkpoint, SigningKey
from ledger.integrity.keyring import Keyring
from ledger.integrity.notary import Notary
from ledger.integrity.verify import CHUNK_LEVELS, read_events, verify
from ledger.persistence.sql import snapshot
from ledger.settings import Settings

SHARED = os.environ.get("BENCH_VERIFY_SCHEMA", "bench_ds_1m_seed42")
TARGET = 100_000


def events_for(mode: Mode) -> int:
    return 20_000 if mode.quick else 1_000_000


def shared_size(schema: str) -> int:
    """Leaves in the shared dataset's Merkle log (0 if it is not there)."""
    try:
        with psycopg.connect(PG_CONNINFO, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(
                sql.SQL("SELECT COALESCE(MAX(leaf_index) + 1, 0) FROM {}.merkle_leaves").format(
                    sql.Identifier(schema)
                )
            ).fetchone()
    except psycopg.Error:
        return 0
    return int(row[0]) if row else 0


@contextmanager
def sqlite_store(
    events: int, tmp: Path
) -> Iterator[tuple[Ledger, Checkpoint, dict[str, Any], str]]:
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'ledger.db'}", signing_key_path=tmp / "keys" / "k.pem"
    )
    yield from _filled(settings, events, "filled: bench.integrity.fill")


@contextmanager
def pg_store(events: int, tmp: Path) -> Iterator[tuple[Ledger, Checkpoint, dict[str, Any], str]]:
    if events >= 1_000_000 and shared_size(SHARED) >= events:
        settings = Settings(database_url=schema_url(SHARED), signing_key_path=tmp / "k.pem")
        ledger = Ledger(settings)
        try:
            key = SigningKey.generate()
            merkle = ledger.recorder.merkle  # type: ignore[attr-defined]
            with snapshot(ledger.recorder) as snap:
                size, _ = merkle.tail(snap.cur)
                checkpoint = key.sign_checkpoint(size, merkle.root(snap.cur, size))
            yield ledger, checkpoint, {key.key_id: key.public_key}, f"shared schema {SHARED}"
        finally:
            ledger.close()
        return
    with fresh_schema("verify") as schema:
        settings = Settings(database_url=schema_url(schema), signing_key_path=tmp / "k.pem")
        yield from _filled(settings, events, f"filled: bench.integrity.fill into {schema}")


def _filled(
    settings: Settings, events: int, how: str
) -> Iterator[tuple[Ledger, Checkpoint, dict[str, Any], str]]:
    ledger = Ledger(settings)
    try:
        fill(ledger, events, batch=5000)
        notary = Notary(ledger, Keyring.load(settings))
        checkpoint = notary.issue_checkpoint()
        yield ledger, checkpoint, dict(notary.keyring.public_keys()), how
    finally:
        ledger.close()


def hash_rows(ledger: Ledger, stop: int) -> int:
    """The baseline: every event up to position ``stop`` read as ``verify`` reads them,
    hashed once with hashlib in one loop; the number of rows."""
    count = 0
    sha256 = hashlib.sha256
    with snapshot(ledger.recorder) as snap:
        for rows in read_events(snap, ledger.recorder, stop, 1 << CHUNK_LEVELS):
            for position, ident, version, topic, payload in rows:
                head = b"%d|%s|%d|%s|" % (position, ident.encode(), version, topic.encode())
                sha256(head + payload).digest()
            count += len(rows)
    return count


def timed(run: Callable[[], int]) -> dict[str, float]:
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    rows = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"rows": rows, "per_s": rows / wall, "cpu_per_s": rows / cpu, "loadavg_1m": load}


def measure(
    label: str, store: Any, mode: Mode, runs: dict[str, list[dict[str, Any]]]
) -> tuple[list[Figure], dict[str, Any]]:
    events = events_for(mode)
    with tempfile.TemporaryDirectory() as tmp, store(events, Path(tmp)) as found:
        ledger, checkpoint, keys, how = found
        with snapshot(ledger.recorder) as snap:
            _, last_position = ledger.recorder.merkle.tail(snap.cur)

        def run_verify() -> int:
            report = verify(ledger, [checkpoint], keys)
            if not report.ok or report.events != checkpoint.tree_size:
                raise RuntimeError(f"verify failed on an untouched store: {report.findings[:1]}")
            return report.events

        mine, base = (
            runs.setdefault(f"{label} verify", []),
            runs.setdefault(f"{label} baseline", []),
        )
        for _ in range(mode.repeats):
            mine.append(timed(run_verify))
            base.append(timed(lambda: hash_rows(ledger, last_position)))
    value = statistics.median(r["per_s"] for r in mine)
    baseline = statistics.median(r["per_s"] for r in base)
    cpu = statistics.median(r["cpu_per_s"] for r in mine)
    cpu_base = statistics.median(r["cpu_per_s"] for r in base)
    load = statistics.median(r["loadavg_1m"] for r in mine)
    figures = [
        Figure(
            f"verify {label}",
            round(value),
            "events/s",
            round(baseline),
            f"≥ {TARGET:,} events/s",
            value >= TARGET,
            f"{checkpoint.tree_size:,} events; CPU-time rate {cpu:,.0f}/s (baseline "
            f"{cpu_base:,.0f}/s); median load {load:.1f}",
        )
    ]
    return figures, {f"{label}_store": how, f"{label}_events": checkpoint.tree_size}


def verify_events(mode: Mode) -> Result:
    """``ledger verify`` on SQLite and PostgreSQL beside hashing the same rows once."""
    runs: dict[str, list[dict[str, Any]]] = {}
    figures: list[Figure] = []
    params: dict[str, Any] = {"repeats": mode.repeats, "chunk_leaves": 1 << CHUNK_LEVELS}
    for label, store in (("sqlite", sqlite_store), ("postgres", pg_store)):
        found, info = measure(label, store, mode, runs)
        figures += found
        params.update(info)
    return Result("verify_events", "measured", figures, params, runs)
