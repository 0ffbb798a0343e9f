"""Projection catch-up on PostgreSQL: the project's runner beside the library's own way.

Both sides read the same stored events (a dataset schema, only ever read) and write the same
three views (audit, campaigns, register) into a schema of their own, created for the run and
dropped after it:

- **runner**: ``projections.runner.catch_up`` with one :class:`Runner` per view, from
  position 0, ``BATCH`` events per transaction per view (each batch read and decoded once).
- **baseline**: the eventsourcing library's one-event-per-transaction processing, as its
  ``ProjectionRunner`` does it: an ``ApplicationSubscription`` on the ledger's notification
  log, and for each event one transaction of a ``PostgresTrackingRecorder`` subclass that
  applies the event to the same three views (the same view code, given a batch of one) and
  records the tracking row (``_insert_tracking``). One transaction applies all three views,
  where the library would run three runners, three transactions: the kinder choice for the
  baseline.

Full mode reads the shared 1M-event dataset (``bench_ds_1m_seed42``, built with
``python -m bench.dataset --events 1000000 --pg-schema bench_ds_1m_seed42``): the runner over
all of it, then the runner and the baseline alternating over the same prefix (the baseline
over 1M events would take most of an hour). Quick mode builds a small dataset on the fly.
Peak memory is the highest resident set size seen while a side runs (sampled every 50 ms).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import ApplicationSubscription

from bench.dataset import build, load_manifest, million
from bench.harness import Figure, Mode, Result, median
from bench.servers import fresh_schema, schema_url
from ledger.application.service import Ledger
from ledger.settings import Settings
from projections import catalog
from projections.db import Database, Tx, target_of
from projections.runner import Runner, catch_up
from projections.source import EventSource, Positioned, open_source
from projections.views import ALL

DATASET = os.environ.get("BENCH_CATCHUP_SCHEMA", "bench_ds_1m_seed42")
BATCH = 5000
PREFIX = 10_000  # events the baseline is measured over in full mode (≈70/s when loaded)
ROUNDS = 2  # runner/baseline pairs over the prefix in full mode
TARGET = "≥ 10,000 events/s through all three views and ≥ 5x the baseline, 1M events"


class Capped:
    """A source that ends at position ``stop``: the runner measured over a prefix."""

    def __init__(self, source: EventSource, stop: int) -> None:
        self.source = source
        self.stop = stop

    def read(self, after: int, limit: int) -> Sequence[Positioned]:
        if after >= self.stop:
            return []
        return [p for p in self.source.read(after, limit) if p.position <= self.stop]

    def head(self) -> int:
        return min(self.source.head(), self.stop)

    def wait(self, timeout: float) -> None:
        self.source.wait(timeout)

    def nudge(self) -> None:
        self.source.nudge()

    def close(self) -> None:
        self.source.close()


class PeakRss:
    """The highest resident set size of this process while the block runs, in MiB."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_mib = 0.0
        self._stop = threading.Event()

    @staticmethod
    def now_mib() -> float:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mib = max(self.peak_mib, self.now_mib())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self.peak_mib = self.now_mib()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mib = max(self.peak_mib, self.now_mib())


def position_of(ledger: Ledger, count: int) -> int:
    """The position of the ``count``-th stored event (the last one if there are fewer)."""
    last = 0
    seen = 0
    while seen < count:
        records = ledger.recorder.select_notifications(
            last, min(10_000, count - seen), inclusive_of_start=False
        )
        if not records:
            break
        seen += len(records)
        last = records[-1].id
    return last


def run_runner(ledger: Ledger, stop: int) -> dict[str, Any]:
    """The project's runner: every view from position 0 to ``stop`` in a fresh schema."""
    with fresh_schema("catchup_runner") as schema:
        db = Database.from_settings(Settings(database_url=schema_url(schema)), pool_size=1)
        source = Capped(open_source(ledger, db), stop)
        runners = [Runner(db, source, p, batch_size=BATCH) for p in ALL]
        try:
            with PeakRss() as rss:
                started, cpu = time.perf_counter(), time.process_time()
                applied = catch_up(runners)
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            events = applied // len(ALL)
        finally:
            for runner in runners:
                runner.close()
            source.close()
            db.close()
    return _run(events, seconds, cpu, rss.peak_mib)


class BaselineView(PostgresTrackingRecorder):
    """The three views as one library materialised view: one event, one transaction."""

    names: dict[str, str]

    def process(self, item: Positioned, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            tx = Tx(curs.connection, "postgres", self.names)
            for projection in ALL:
                projection.apply(tx, [item])
            self._insert_tracking(curs, tracking)


def run_baseline(ledger: Ledger, settings: Settings, stop: int) -> dict[str, Any]:
    """The library's way, from position 0 to ``stop``, in a fresh schema."""
    with fresh_schema("catchup_baseline") as schema:
        db = Database.from_settings(Settings(database_url=schema_url(schema)), pool_size=1)
        session = db.session()
        names: dict[str, str] = {}
        try:
            for projection in ALL:
                catalog.install(session, projection, schema)
                names.update({k: f"{schema}.{v}" for k, v in projection.names(1).items()})
        finally:
            session.close()
            db.close()
        env = target_of(settings).connect_kwargs
        datastore = PostgresDatastore(
            env["dbname"], env["host"], env["port"], env["user"], env["password"] or "",
            schema=schema,
        )  # fmt: skip
        view = BaselineView(datastore, tracking_table_name="baseline_tracking")
        view.names = names
        view.create_table()
        events = 0
        try:
            with PeakRss() as rss:
                started, cpu = time.perf_counter(), time.process_time()
                with ApplicationSubscription(ledger, gt=0) as subscription:
                    for event, tracking in subscription:
                        view.process(Positioned(tracking.notification_id, event), tracking)  # type: ignore[arg-type]
                        events += 1
                        if tracking.notification_id >= stop:
                            break
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            datastore.close()
    return _run(events, seconds, cpu, rss.peak_mib)


def _run(events: int, seconds: float, cpu: float, peak_mib: float) -> dict[str, Any]:
    """One side's run; ``cpu_seconds`` is this process's CPU time (PostgreSQL's is not in
    it), steadier than wall time on a shared machine."""
    return {
        "events": events,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "cpu_us_per_event": round(cpu / events * 1e6, 1) if events else 0.0,
        "events_per_s": round(events / seconds, 1) if seconds else 0.0,
        "peak_rss_mib": round(peak_mib, 1),
        "loadavg_1m": os.getloadavg()[0],
    }


@contextmanager
def dataset(mode: Mode) -> Iterator[tuple[Settings, int]]:
    """The events to read: the shared 1M dataset (full) or a small one built now (quick)."""
    if not mode.quick:
        settings = million(DATASET)
        manifest = load_manifest(settings)
        assert manifest is not None
        yield settings, int(manifest["events"])
        return
    with fresh_schema("catchup_ds") as schema:
        settings = Settings(database_url=schema_url(schema))
        manifest = build(settings, mode.events, min_open=mode.campaigns)
        yield settings, int(manifest["events"])


def projection_catchup(mode: Mode) -> Result:
    """Events/s through all three views: the runner (1M, and the prefix) and the baseline
    (the prefix), alternating over the prefix."""
    runs: dict[str, list[dict[str, Any]]] = {"runner_full": [], "runner": [], "baseline": []}
    with dataset(mode) as (settings, stored):
        ledger = Ledger(settings)
        try:
            head = position_of(ledger, stored)
            prefix = stored if mode.quick else min(PREFIX, stored)
            stop = position_of(ledger, prefix)
            if not mode.quick:
                runs["runner_full"].append(run_runner(ledger, head))
            rounds: list[tuple[str, Callable[[], dict[str, Any]]]] = [
                ("runner", lambda: run_runner(ledger, stop)),
                ("baseline", lambda: run_baseline(ledger, settings, stop)),
            ]
            for _ in range(1 if mode.quick else ROUNDS):
                for side, run in rounds:
                    runs[side].append(run())
        finally:
            ledger.close()
    return _result(mode, runs, stored, prefix)


def _result(mode: Mode, runs: dict[str, list[dict[str, Any]]], stored: int, prefix: int) -> Result:
    def med(side: str, key: str) -> float:
        return median([float(r[key]) for r in runs[side]])

    ours, base = med("runner", "events_per_s"), med("baseline", "events_per_s")
    full = runs["runner_full"] or runs["runner"]
    full_rate = median([float(r["events_per_s"]) for r in full])
    return Result(
        "projection_catchup",
        "measured",
        [
            Figure(
                "catch-up, all views, runner",
                full_rate,
                "events/s",
                base,
                TARGET,
                met=full_rate >= 10_000 and ours >= 5 * base,
                note=f"{full[0]['events']:,} events; baseline over the first {prefix:,}",
            ),
            Figure(
                f"catch-up over the first {prefix:,} events, runner vs baseline",
                ours,
                "events/s",
                base,
                "≥ 5x the library's one-event-per-transaction processing",
                met=ours >= 5 * base,
            ),
            Figure("peak RSS, runner", max(r["peak_rss_mib"] for r in full), "MiB"),
            Figure("peak RSS, baseline", med("baseline", "peak_rss_mib"), "MiB"),
        ],
        params={
            "dataset": "built now" if mode.quick else DATASET,
            "stored_events": stored,
            "prefix_events": prefix,
            "batch": BATCH,
            "views": [p.name for p in ALL],
            "baseline": "ApplicationSubscription + PostgresTrackingRecorder, one event and "
            "its tracking row per transaction, same view code",
        },
        runs=runs,
    )
