"""Admission control at the edge of a worker: a bounded number of requests in flight.

A worker runs at most ``max_running`` requests at once and lets at most
``max_in_flight - max_running`` more wait for a slot, first come first served, each for at
most ``queue_deadline`` seconds. A request beyond that bound, or one whose wait ran out, is
answered at once with 503 ``overloaded`` (problem+json, ``Retry-After``) before any route
runs: nothing is appended and its Idempotency-Key stays unused, so the client may retry
with the same key.

Why a queue of our own: FastAPI runs every sync dependency and endpoint in anyio's thread
pool (40 tokens per process), one hop at a time, and a request waits for a token again at
each hop, behind every newer request. Unbounded, that queue made latency grow with the
length of an overload (docs/performance.md, fault test 5). ``max_running`` stays below the
40 tokens, so an admitted request never waits for a thread and the probes still find one.

The probes (``/healthz``, ``/readyz``, ``/metrics``) pass the gate: an overloaded worker is
alive and ready (taking it out of a load balancer would only move its load to the others),
and its metrics must stay readable while it sheds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp, Receive, Scope, Send

from api.http import metrics, problems

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
Refusal = Literal["full", "deadline"]


class AdmissionSettings(BaseSettings):
    """The bound of each worker, from the environment (prefix ``LEDGER_``).

    The defaults, from the pool and the measured capacity (docs/operations.md, "Failing
    fast and shedding load"): 16 running, well below the 40 threads and as many as a worker
    served at its capacity in the overload test (32 closed-loop clients on 2 workers; more
    only wait inside the group committer), plus 48 waiting, about 0.4 s of a worker's
    capacity (~125 commands/s); the deadline of 1 s catches a worker slower than that.
    """

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    max_in_flight: int = Field(
        default=64,
        ge=0,
        description="Requests a worker holds at once, running or waiting; beyond: 503 "
        "overloaded at once. 0: no bound.",
    )
    max_running: int = Field(
        default=16,
        ge=1,
        description="Requests a worker runs at once (below the 40 threads of its pool)",
    )
    queue_deadline: float = Field(
        default=1.0, gt=0, description="Seconds a request may wait for a running slot"
    )
    retry_after: int = Field(default=1, ge=1, description="Retry-After of a shed request")


class Gate:
    """The requests of one worker (one event loop): ``running`` hold a slot, the others wait
    in arrival order. A slot given back goes straight to the oldest waiter."""

    def __init__(self, running: int, waiting: int) -> None:
        self.running_limit = running
        self.waiting_limit = waiting
        self.running = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def enter(self, deadline: float) -> Refusal | None:
        """None once the caller holds a slot (it must ``leave``), else why it was refused."""
        if self.running < self.running_limit and not self._waiters:
            self.running += 1
            return None
        if len(self._waiters) >= self.waiting_limit:
            return "full"
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(deadline):
                await waiter
        except BaseException as e:
            if waiter.done() and not waiter.cancelled():
                self.leave()  # handed a slot just as the wait ended: pass it on
            elif waiter in self._waiters:  # (``leave`` drops cancelled waiters it meets)
                self._waiters.remove(waiter)
            if isinstance(e, TimeoutError):
                return "deadline"
            raise
        return None

    def leave(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.running -= 1


class AdmissionMiddleware:
    """Sheds what the gate refuses with 503 ``overloaded``; place it inside the edge
    middleware, which gives the request its id and logs and counts the answer."""

    def __init__(self, app: ASGIApp, settings: AdmissionSettings) -> None:
        self.app = app
        self.settings = settings
        running = min(settings.max_running, settings.max_in_flight)
        self.gate = Gate(running, settings.max_in_flight - running)
        metrics.watch_in_flight(lambda: self.gate.running, lambda: self.gate.waiting)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.settings.max_in_flight or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        refusal = await self.gate.enter(self.settings.queue_deadline)
        if refusal is not None:
            metrics.observe_shed(refusal)
            await self._shed(scope, receive, send, refusal)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.leave()

    def detail(self, refusal: Refusal) -> str:
        gate, s = self.gate, self.settings
        if refusal == "full":
            return (
                f"this worker already holds {s.max_in_flight} requests (LEDGER_MAX_IN_FLIGHT): "
                f"{gate.running} running, {gate.waiting} waiting; retry after {s.retry_after} s"
            )
        return (
            f"the request waited {s.queue_deadline:g} s (LEDGER_QUEUE_DEADLINE) for one of "
            f"this worker's {gate.running_limit} running slots; retry after {s.retry_after} s"
        )

    async def _shed(self, scope: Scope, receive: Receive, send: Send, refusal: Refusal) -> None:
        answer = problems.answer(
            503,
            "overloaded",
            "Too many requests in flight; retry shortly",
            self.detail(refusal),
            path=scope["path"],
            request_id=scope.get("state", {}).get("request_id") or uuid.uuid4().hex,
            headers={"Retry-After": str(self.settings.retry_after)},
            context={"reason": refusal, "max_in_flight": self.settings.max_in_flight},
        )
        await answer(scope, receive, send)
