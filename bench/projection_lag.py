"""Issue 6 on the read side under write load, first half: projection lag (the second half,
the audit page's p99, is ``bench.audit_page``).

``projection_lag``: ``ledger serve --workers 2`` on PostgreSQL, the mix of ``http_pg``
written open-loop at a fixed rate (250 commands/s; quick: 50). The lag of a command is the
time from its 2xx to the first moment every projection's tracking row (the active
generation's, in ``projection_tracking``) has reached the position the answer gave. A
thread of this process polls that one-row-per-projection minimum every ``POLL_S`` seconds
on its own connection and keeps the time each new position was first seen, so a lag is
over-stated by at most one poll interval plus one poll's round trip (reported beside the
figures); polling the table is cheaper than asking the API (``?after=``), which would add
requests and a read-side wait to the server under test. Measured with the read side
embedded in the API workers (the default) and with ``LEDGER_PROJECTIONS=external`` plus one
``ledger projections run`` process, alternating. When the server cannot sustain the rate,
the rate it did sustain is reported, and the lag is measured again at 80 % of it.

The log-position helpers here (``positions``, ``head``, ``wait_caught_up``) serve
``bench.audit_page`` too.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.harness import Figure, Mode, Result, median
from bench.load import (
    LoadResult,
    Response,
    Schedule,
    drive_rate,
    percentile,
)
from bench.scenarios import issue_targets, ledger_server, pg_store
from bench.servers import (
    HOST,
    PG_CONNINFO,
    STARTUP_SETTLE,
    Server,
    running,
    schema_url,
)
from bench.workloads import MixSession, split

LAG_RATE, LAG_RATE_QUICK = 250.0, 50.0  # commands/s asked for
WRITERS = 64  # open-loop sessions: commands in flight at most
SUSTAINED = 0.95  # share of the asked rate that counts as sustained
REDUCED = 0.8  # when not sustained, measure again at this share of the sustained rate
POLL_S = 0.002  # tracking poll interval
LAG_TARGET_MS = 100.0
CATCH_UP_S = 300.0  # at most, before a run, for the projections to reach the log's head
VISIBLE_S = 10.0  # at most, after a run, for its last command to become visible

TRACKING = (
    'SELECT t.projection, t.position FROM "{0}".projection_tracking t '
    'JOIN "{0}".projection_generations g '
    "ON g.projection = t.projection AND g.active = t.generation"
)
HEAD = 'SELECT coalesce(max(notification_id), 0) FROM "{0}".ledger_events'
PROJECTIONS = 3  # audit, campaigns, register


# Where the projections stand


def positions(conn: psycopg.Connection[Any], schema: str) -> dict[str, int]:
    """The position each projection's active generation has applied ({} before the read
    side is installed)."""
    try:
        rows = conn.execute(TRACKING.format(schema)).fetchall()
    except psycopg.errors.UndefinedTable:
        return {}
    return {str(name): int(position) for name, position in rows}


def projected(conn: psycopg.Connection[Any], schema: str) -> tuple[int, int]:
    """The lowest position every projection has applied, and how many are tracked."""
    found = positions(conn, schema)
    return min(found.values(), default=0), len(found)


def head(conn: psycopg.Connection[Any], schema: str) -> int:
    row = conn.execute(HEAD.format(schema)).fetchone()
    return int(row[0]) if row else 0


def wait_caught_up(schema: str, timeout: float, server: Server | None = None) -> tuple[int, int]:
    """Wait until every projection has applied the log's head; (position, head) at the end.
    With ``server``, not getting there in time is an error that shows the server's log."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        while True:
            top = head(conn, schema)
            position, tracked = projected(conn, schema)
            if tracked >= PROJECTIONS and position >= top:
                return position, top
            if time.monotonic() > deadline:
                if server is None:
                    return position, top
                raise RuntimeError(
                    f"projections at {position} of {top} after {timeout:.0f}s\n{server.tail()}"
                )
            if server is not None:
                server.check_alive()
            time.sleep(0.2)


class Seen:
    """When each new position was first seen (positions strictly increasing)."""

    def __init__(self) -> None:
        self.times: list[float] = []  # time.perf_counter() of the poll...
        self.positions: list[int] = []  # ...that first saw this position

    def add(self, at: float, position: int) -> None:
        if not self.positions or position > self.positions[-1]:
            self.times.append(at)
            self.positions.append(position)

    def at(self, position: int) -> float | None:
        """When ``position`` or a later one was first seen."""
        i = bisect.bisect_left(self.positions, position)
        return self.times[i] if i < len(self.times) else None


class Tracker:
    """Polls each projection's applied position in a thread; remembers when every one, and
    each one, first reached each position."""

    def __init__(self, schema: str, interval: float = POLL_S) -> None:
        self.schema, self.interval = schema, interval
        self.all = Seen()  # the lowest of the projections: visible everywhere
        self.each: dict[str, Seen] = {}
        self.round_trips: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-tracker", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> Tracker:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        try:
            with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
                while not self._stop.is_set():
                    started = time.perf_counter()
                    found = positions(conn, self.schema)
                    seen = time.perf_counter()
                    self.round_trips.append(seen - started)
                    if len(found) >= PROJECTIONS:
                        self.all.add(seen, min(found.values()))
                    for name, position in found.items():
                        self.each.setdefault(name, Seen()).add(seen, position)
                    self._stop.wait(self.interval)
        except BaseException as e:  # reported by the run that reads the tracker
            self.error = e

    def wait_for(self, position: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.all.at(position) is None:
            if time.monotonic() > deadline or not self._thread.is_alive():
                return False
            time.sleep(0.05)
        return True


@dataclass
class Acknowledged:
    """The 2xx answers of the measured window: when each arrived, and its position."""

    commands: list[tuple[float, int]] = field(default_factory=list)

    def __call__(self, label: str, response: Response, at: float) -> None:
        del label
        if 200 <= response.status < 300:
            position = response.json().get("position")
            if isinstance(position, int):
                self.commands.append((at, position))


def lags_ms(acked: Acknowledged, seen: Seen) -> tuple[list[float], int]:
    """Each command's lag (sorted, ms) until ``seen`` reached its position; and how many
    never got there."""
    lags, unseen = [], 0
    for at, position in acked.commands:
        when = seen.at(position)
        if when is None:
            unseen += 1
        else:
            lags.append(max(0.0, when - at) * 1000)
    return sorted(lags), unseen


def lag_summary(acked: Acknowledged, tracker: Tracker) -> dict[str, Any]:
    lags, unseen = lags_ms(acked, tracker.all)
    trips = sorted(t * 1000 for t in tracker.round_trips)
    each = {}
    for name, seen in sorted(tracker.each.items()):
        one, _ = lags_ms(acked, seen)
        each[name] = {
            "p50_ms": round(percentile(one, 50), 2),
            "p99_ms": round(percentile(one, 99), 2),
        }
    return {
        "commands": len(acked.commands),
        "unseen": unseen,
        "lag_p50_ms": round(percentile(lags, 50), 2),
        "lag_p95_ms": round(percentile(lags, 95), 2),
        "lag_p99_ms": round(percentile(lags, 99), 2),
        "lag_max_ms": round(lags[-1], 2) if lags else 0.0,
        "by_projection": each,
        "polls": len(trips),
        "poll_round_trip_p50_ms": round(percentile(trips, 50), 3),
        "poll_round_trip_p99_ms": round(percentile(trips, 99), 3),
    }


# The projection worker process


class ProjectionWorker(Server):
    """``ledger projections run``: no HTTP to ask; up when it stays up for a moment."""

    def wait_ready(self) -> None:
        time.sleep(STARTUP_SETTLE)
        self.check_alive()


def projection_worker(url: str, logs: Path) -> ProjectionWorker:
    exe = Path(sys.executable).parent / "ledger"
    env = {"LEDGER_DATABASE_URL": url, "LEDGER_LOG_FORMAT": "json"}
    return ProjectionWorker(
        "projections", [str(exe), "projections", "run"], 0, env, logs / "projections.log"
    )


VARIANTS = ("embedded", "external")


def lag_servers(variant: str, url: str, mode: Mode, logs: Path) -> list[Server]:
    env = {**dict(mode.ledger_env), "LEDGER_PROJECTIONS": variant}
    api = ledger_server(url, 2, logs, mode.launcher, env)
    return [api] if variant == "embedded" else [api, projection_worker(url, logs)]


# projection_lag


@dataclass
class LagRun:
    variant: str
    rate: float
    load: LoadResult
    schedule: Schedule
    lag: dict[str, Any]
    loadavg_1m: float
    caught_up: tuple[int, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "rate": self.rate,
            "loadavg_1m": self.loadavg_1m,
            "caught_up_before": {"position": self.caught_up[0], "head": self.caught_up[1]},
            "lag": self.lag,
            "schedule": self.schedule.as_dict(),
            "load": self.load.as_dict(),
        }


def lag_run(
    variant: str, rate: float, schema: str, mode: Mode, targets: list[Any], logs: Path
) -> LagRun:
    """Start the servers of ``variant``, let the projections catch up, write at ``rate``
    through a warm-up and a measured window, and measure each command's lag."""
    servers = lag_servers(variant, schema_url(schema), mode, logs)
    hands = split(targets, min(WRITERS, len(targets)))
    with running(*servers):
        caught_up = wait_caught_up(schema, CATCH_UP_S, servers[-1])
        acked = Acknowledged()
        loadavg = os.getloadavg()[0]
        with Tracker(schema) as tracker:
            load, schedule = asyncio.run(
                drive_rate(
                    HOST,
                    servers[0].port,
                    [MixSession(hand) for hand in hands],
                    rate=rate,
                    duration=mode.duration,
                    warmup=mode.first_warmup + mode.warmup,
                    observe=acked,
                )
            )
            last = max((p for _, p in acked.commands), default=0)
            tracker.wait_for(last, VISIBLE_S)
        for server in servers:
            server.check_alive()
    if tracker.error is not None:
        raise tracker.error
    return LagRun(variant, rate, load, schedule, lag_summary(acked, tracker), loadavg, caught_up)


def lag_phase(
    rate: float, schema: str, mode: Mode, targets: list[Any], logs: Path
) -> dict[str, list[LagRun]]:
    """``mode.repeats`` runs of each variant at ``rate``, alternating."""
    runs: dict[str, list[LagRun]] = {v: [] for v in VARIANTS}
    for _ in range(mode.repeats):
        for variant in VARIANTS:
            runs[variant].append(lag_run(variant, rate, schema, mode, targets, logs))
            time.sleep(0.5)
    return runs


def sustained(runs: list[LagRun]) -> float:
    return median([float(r.load.total["ok_rps"]) for r in runs])


def by_projection(runs: list[LagRun]) -> str:
    names = sorted({n for r in runs for n in r.lag["by_projection"]})
    return ", ".join(
        f"{n} {median([float(r.lag['by_projection'][n]['p99_ms']) for r in runs]):.0f} ms"
        for n in names
    )


def lag_figures(rate: float, runs: dict[str, list[LagRun]], asked: float) -> list[Figure]:
    figures = []
    for variant, rs in runs.items():
        ok = sustained(rs)
        held = ok >= SUSTAINED * rate
        p99 = median([float(r.lag["lag_p99_ms"]) for r in rs])
        unseen = sum(int(r.lag["unseen"]) for r in rs)
        at = f"{variant}, {rate:.0f}/s asked"
        figures += [
            Figure(
                f"lag p99 ({at})",
                round(p99, 1),
                "ms",
                target=f"≤ {LAG_TARGET_MS:.0f} ms at {asked:.0f} commands/s",
                met=p99 <= LAG_TARGET_MS and held and rate >= asked and unseen == 0,
                note=f"p50 {median([float(r.lag['lag_p50_ms']) for r in rs]):.1f} ms, "
                f"max {max(float(r.lag['lag_max_ms']) for r in rs):.0f} ms, "
                f"{unseen} commands never seen; p99 by projection: {by_projection(rs)}",
            ),
            Figure(
                f"commands/s sustained ({at})",
                round(ok, 1),
                "req/s",
                target=f"≥ {SUSTAINED * rate:.0f} (95 % of {rate:.0f})",
                met=held,
                note="start delay p99 "
                f"{median([float(r.schedule.as_dict()['start_delay_p99_ms']) for r in rs]):.0f}"
                " ms, backlog at end "
                f"{median([float(r.schedule.due - r.schedule.started) for r in rs]):.0f}",
            ),
        ]
    return figures


def projection_lag(mode: Mode) -> Result:
    """Projection lag p99 at 250 commands/s (quick: 50), embedded and external runner."""
    asked = LAG_RATE_QUICK if mode.quick else LAG_RATE
    with pg_store("lag", mode) as (schema, settings, manifest), tempfile.TemporaryDirectory() as t:
        targets = issue_targets(settings, manifest)
        phases = {asked: lag_phase(asked, schema, mode, targets, Path(t))}
        weakest = min(sustained(rs) for rs in phases[asked].values())
        if weakest < SUSTAINED * asked:
            reduced = float(max(10, int(REDUCED * weakest)))
            print(
                f"projection_lag: {weakest:.0f} of {asked:.0f} commands/s sustained; "
                f"measuring again at {reduced:.0f}/s",
                file=sys.stderr,
                flush=True,
            )
            phases[reduced] = lag_phase(reduced, schema, mode, targets, Path(t))
    figures = [f for rate, runs in phases.items() for f in lag_figures(rate, runs, asked)]
    poll = [
        float(r.lag["poll_round_trip_p99_ms"])
        for p in phases.values()
        for rs in p.values()
        for r in rs
    ]
    return Result(
        "projection_lag",
        "measured",
        figures,
        params={
            "workers": 2,
            "rate_asked": asked,
            "rates_measured": list(phases),
            "writer_sessions": min(WRITERS, len(targets)),
            "duration_s": mode.duration,
            "warmup_s": mode.first_warmup + mode.warmup,
            "repeats": mode.repeats,
            "dataset_events": manifest["events"],
            "poll_interval_ms": POLL_S * 1000,
            "poll_round_trip_p99_ms": round(median(poll), 3),
            "measurement": "2xx time to first poll of projection_tracking (active "
            "generations, min over projections) at or past the answer's position",
            "launcher": mode.launcher,
            "ledger_env": dict(mode.ledger_env),
        },
        runs={
            f"{variant}@{rate:.0f}": [r.as_dict() for r in rs]
            for rate, runs in phases.items()
            for variant, rs in runs.items()
        },
    )
