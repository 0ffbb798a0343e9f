"""Prometheus metrics: requests and latency by route and status, commands by type and
outcome, requests in flight and shed by admission control, projection lag and events set
aside (set by the projection runner when it runs in this process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "ledger_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "ledger_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
COMMANDS = Counter(
    "ledger_commands_total",
    "Commands by type and outcome",
    ["command", "outcome"],
    registry=REGISTRY,
)
SHED = Counter(
    "ledger_http_shed_total",
    "Requests answered 503 overloaded by admission control, by reason (full: over "
    "LEDGER_MAX_IN_FLIGHT; deadline: waited LEDGER_QUEUE_DEADLINE for a slot)",
    ["reason"],
    registry=REGISTRY,
)
IN_FLIGHT = Gauge(
    "ledger_http_in_flight",
    "Requests admitted in this worker, by state (running or waiting for a slot)",
    ["state"],
    registry=REGISTRY,
)
PROJECTION_LAG = Gauge(
    "ledger_projection_lag_events",
    "Events in the log not yet applied by a projection",
    ["projection"],
    registry=REGISTRY,
)
PROJECTION_POSITION = Gauge(
    "ledger_projection_position", "Last position applied", ["projection"], registry=REGISTRY
)
PROJECTION_FAILED = Gauge(
    "ledger_projection_failed_events",
    "Events a projection's active generation set aside (failed, or skipped after a failed "
    "event of their aggregate); `ledger projections status` lists them",
    ["projection"],
    registry=REGISTRY,
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def observe_command(command: str, outcome: str) -> None:
    COMMANDS.labels(command, outcome).inc()


def observe_shed(reason: str) -> None:
    SHED.labels(reason).inc()


def watch_in_flight(running: Callable[[], float], waiting: Callable[[], float]) -> None:
    """Read the admission gate's counts at each scrape (nothing to do per request)."""
    IN_FLIGHT.labels("running").set_function(running)
    IN_FLIGHT.labels("waiting").set_function(waiting)


def render() -> bytes:
    return generate_latest(REGISTRY)


def observe_projections(read_side: Any) -> None:
    """Set the lag gauges from the projections' positions (called before each scrape)."""
    if read_side is None:
        return
    for s in read_side.status():
        PROJECTION_LAG.labels(s.name).set(s.lag)
        PROJECTION_POSITION.labels(s.name).set(s.position)
        PROJECTION_FAILED.labels(s.name).set(s.failed)
