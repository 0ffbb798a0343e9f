"""What every scenario shares: the run mode, figures beside their baselines, repeated runs.

A figure is a median over repeated runs. When a scenario has a baseline, its runs and the
baseline's alternate (ledger, baseline, ledger, baseline...) against servers that are both
up, so a slow moment of a shared machine hits both sides rather than one.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.load import LoadResult, Session, run_load
from bench.servers import HOST, Server

NOT_MEASURED = "not measured yet"


@dataclass(frozen=True)
class Mode:
    """How long and how often; ``quick`` runs in seconds, for CI smoke use."""

    quick: bool
    duration: float  # seconds measured per run
    warmup: float  # seconds before each measured run, not recorded
    first_warmup: float  # seconds of load on a freshly started server, not recorded
    repeats: int
    connections: int
    events: int  # events in the dataset built for a scenario
    campaigns: int  # open campaigns the dataset keeps
    max_requests: int
    launcher: str = "cli"  # "cli": ledger serve / uvicorn; "tcp": bench.tcp_serve (NODELAY)
    ledger_env: tuple[tuple[str, str], ...] = ()  # extra LEDGER_* settings for the servers

    @classmethod
    def make(cls, quick: bool, **overrides: Any) -> Mode:
        if quick:
            base = cls(True, 2.0, 0.5, 1.0, 1, 16, 1_000, 64, 20_000)
        else:
            base = cls(False, 20.0, 2.0, 5.0, 3, 16, 20_000, 400, 1_000_000)
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls(**{**asdict(base), **given})


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        return {**asdict(self), "ratio": None if ratio is None else round(ratio, 3)}


@dataclass
class Result:
    scenario: str
    status: str  # "measured", "not measured yet" or "failed"
    figures: list[Figure] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "status": self.status,
            "figures": [f.as_dict() for f in self.figures],
            "params": self.params,
            "runs": self.runs,
            "seconds": round(self.seconds, 1),
            "error": self.error,
        }


def stub(name: str, target: str, owner_hint: str) -> Result:
    """A scenario nobody has written yet: reported, never counted as a result."""
    return Result(
        name,
        NOT_MEASURED,
        [Figure(name, None, "", target=target, note=owner_hint)],
    )


@dataclass
class Side:
    """One server under load: the ledger or a baseline, and how to make its sessions."""

    label: str
    server: Server
    sessions: Callable[[], list[Session]]
    results: list[LoadResult] = field(default_factory=list)
    loadavg: list[float] = field(default_factory=list)

    def load(self, mode: Mode, duration: float, warmup: float) -> LoadResult:
        self.server.check_alive()
        return run_load(
            HOST,
            self.server.port,
            self.sessions(),
            duration=duration,
            warmup=warmup,
            max_requests=mode.max_requests,
        )


def alternate(mode: Mode, sides: list[Side]) -> None:
    """Warm every side up, then run them in turn ``mode.repeats`` times."""
    for side in sides:
        side.load(mode, mode.first_warmup, 0.0)
    for _ in range(mode.repeats):
        for side in sides:
            side.loadavg.append(os.getloadavg()[0])
            side.results.append(side.load(mode, mode.duration, mode.warmup))
            time.sleep(0.5)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def med(results: list[LoadResult], key: str, label: str | None = None) -> float:
    """The median over runs of one summary figure, overall or for one request label."""
    picked = [(r.by_label.get(label) if label else r.total) for r in results]
    return median([float(p[key]) for p in picked if p is not None])


def total(results: list[LoadResult], key: str, label: str | None = None) -> int:
    picked = [(r.by_label.get(label) if label else r.total) for r in results]
    return sum(int(p[key]) for p in picked if p is not None)


def dump(side: Side) -> list[dict[str, Any]]:
    return [
        {**r.as_dict(), "loadavg_1m": la} for r, la in zip(side.results, side.loadavg, strict=True)
    ]
