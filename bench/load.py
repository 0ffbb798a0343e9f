"""An in-process HTTP/1.1 load generator: asyncio streams, keep-alive, no dependencies.

N sessions, one keep-alive connection each, run a workload's ``step`` in a loop until a
fixed duration has passed or a request budget is spent, whichever comes first. Every
request is timed and recorded under a label (``"adjust"``, ``"get"``...) with its status,
the ``code`` of a problem+json body, or the transport error that ended it. Requests made
during the warm-up are not recorded.

A plain asyncio client is used instead of httpx because httpx spends several times more CPU
per request, and on a 2-core machine the client shares the cores with the servers it
measures: the cheaper the client, the less it distorts the figures. ``client_cpu_s`` says
what the client cost in each run.

Only 127.0.0.1 (or another loopback address) is accepted as a target.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

REQUEST_TIMEOUT = 10.0  # seconds; a request slower than this is recorded as an error
MAX_HEAD = 64 * 1024


class LoadError(Exception):
    """The target is not loopback, or a response could not be parsed."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects after an error or ``Connection: close``."""

    def __init__(self, host: str, port: int) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise LoadError(f"refusing to load {host}: benchmarks target 127.0.0.1 only")
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def usable(self) -> bool:
        """Connected, and the server has not closed its side (a new one connects lazily)."""
        return self._reader is None or not self._reader.at_eof()

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        try:
            return await self._request(method, path, headers or {}, body)
        except BaseException:
            await self.close()
            raise

    async def _request(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD:
            raise LoadError("response head too large")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        got: dict[str, str] = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                got[name.strip().lower()] = value.strip()
        if "content-length" in got:
            data = await self._reader.readexactly(int(got["content-length"]))
        elif got.get("transfer-encoding", "").lower() == "chunked":
            data = await self._chunked()
        else:
            data = b""
        if got.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, got, data)

    async def _chunked(self) -> bytes:
        assert self._reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.readline()).split(b";")[0].strip(), 16)
            if size == 0:
                await self._reader.readline()
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readline()


@dataclass
class Tally:
    """What one label's requests did in the measured window."""

    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)  # problem codes of non-2xx answers
    errors: Counter[str] = field(default_factory=Counter)  # transport errors and timeouts


class Client:
    """What a workload sends requests through: times and records each one."""

    def __init__(self, connection: Connection, recorder: Recorder) -> None:
        self.connection = connection
        self._recorder = recorder

    async def request(
        self,
        label: str,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Response | None:
        """The response, or None after a transport error or timeout (recorded as an error)."""
        body = None if json_body is None else json.dumps(json_body).encode()
        if body is not None:
            headers = {"Content-Type": "application/json", **(headers or {})}
        started = time.perf_counter()
        try:
            response = await asyncio.wait_for(
                self.connection.request(method, path, headers, body), REQUEST_TIMEOUT
            )
        except (TimeoutError, OSError, asyncio.IncompleteReadError, LoadError, ValueError) as e:
            self._recorder.error(label, type(e).__name__)
            return None
        self._recorder.record(label, response, time.perf_counter() - started)
        return response


Observer = Callable[[str, Response, float], None]
"""Called with (label, response, ``time.perf_counter()`` at its end) for each answer recorded."""


class Recorder:
    def __init__(self, observe: Observer | None = None) -> None:
        self.tallies: dict[str, Tally] = {}
        self.active = False  # False during the warm-up
        self.count = 0  # requests recorded (answered or failed)
        self.observe = observe

    def _tally(self, label: str) -> Tally:
        return self.tallies.setdefault(label, Tally())

    def record(self, label: str, response: Response, seconds: float) -> None:
        if not self.active:
            return
        self.count += 1
        if self.observe is not None:
            self.observe(label, response, time.perf_counter())
        tally = self._tally(label)
        tally.latencies.append(seconds)
        tally.statuses[response.status] += 1
        if response.status >= 300 and response.body.startswith(b"{"):
            try:
                code = response.json().get("code")
            except ValueError:
                code = None
            tally.codes[f"{response.status} {code or '?'}"] += 1

    def error(self, label: str, kind: str) -> None:
        if self.active:
            self.count += 1
            self._tally(label).errors[kind] += 1


class Session(Protocol):
    """A virtual user: each ``step`` sends one or more requests through the client."""

    async def step(self, client: Client) -> None: ...


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def summarize(tallies: list[Tally], seconds: float) -> dict[str, Any]:
    latencies = sorted(x for t in tallies for x in t.latencies)
    statuses: Counter[int] = Counter()
    codes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for t in tallies:
        statuses.update(t.statuses)
        codes.update(t.codes)
        errors.update(t.errors)
    done = len(latencies)
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    ms = [x * 1000 for x in latencies]
    return {
        "requests": done,
        "ok": ok,
        "rps": done / seconds if seconds else 0.0,
        "ok_rps": ok / seconds if seconds else 0.0,
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": ms[-1] if ms else 0.0,
        "status": {str(k): v for k, v in sorted(statuses.items())},
        "codes": dict(sorted(codes.items())),
        "errors": dict(sorted(errors.items())),
        "non_2xx": done - ok,
        "server_errors": sum(n for s, n in statuses.items() if s >= 500),
        "transport_errors": sum(errors.values()),
    }


@dataclass
class LoadResult:
    seconds: float
    connections: int
    client_cpu_s: float
    total: dict[str, Any]
    by_label: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "connections": self.connections,
            "client_cpu_s": round(self.client_cpu_s, 3),
            "total": self.total,
            "by_label": self.by_label,
        }


async def _drive(
    host: str,
    port: int,
    sessions: list[Session],
    *,
    duration: float,
    warmup: float,
    max_requests: int,
) -> LoadResult:
    recorder = Recorder()
    connections = [Connection(host, port) for _ in sessions]
    clients = [Client(conn, recorder) for conn in connections]
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + warmup
    stop_at = measure_from + duration
    window: dict[str, float] = {}

    async def run(session: Session, client: Client) -> None:
        while loop.time() < stop_at and recorder.count < max_requests:
            if not recorder.active and loop.time() >= measure_from:
                recorder.active = True
                window["start"] = loop.time()
                window["cpu"] = time.process_time()
            await session.step(client)

    try:
        await asyncio.gather(*(run(s, c) for s, c in zip(sessions, clients, strict=True)))
    finally:
        await asyncio.gather(*(conn.close() for conn in connections))
    end = loop.time()
    seconds = end - window.get("start", end)
    cpu = time.process_time() - window.get("cpu", time.process_time())
    tallies = recorder.tallies
    return LoadResult(
        seconds=seconds,
        connections=len(sessions),
        client_cpu_s=cpu,
        total=summarize(list(tallies.values()), seconds),
        by_label={k: summarize([v], seconds) for k, v in sorted(tallies.items())},
    )


@dataclass
class Schedule:
    """How an open-loop run kept to its rate: steps due, steps started, and how late."""

    rate: float  # steps per second asked for
    due: int = 0  # steps whose scheduled time fell in the measured window
    started: int = 0  # of those, started (the rest were still waiting at the end)
    delays: list[float] = field(default_factory=list)  # start - scheduled time, seconds

    def as_dict(self) -> dict[str, Any]:
        ms = sorted(d * 1000 for d in self.delays)
        return {
            "rate": self.rate,
            "due": self.due,
            "started": self.started,
            "backlog_at_end": self.due - self.started,
            "start_delay_p50_ms": percentile(ms, 50),
            "start_delay_p99_ms": percentile(ms, 99),
            "start_delay_max_ms": ms[-1] if ms else 0.0,
        }


async def drive_rate(
    host: str,
    port: int,
    sessions: list[Session],
    *,
    rate: float,
    duration: float,
    warmup: float = 0.0,
    observe: Observer | None = None,
    stop: asyncio.Event | None = None,
    drain: float = REQUEST_TIMEOUT,
) -> tuple[LoadResult, Schedule]:
    """Open loop: start one ``step`` every ``1 / rate`` seconds, on whichever session is
    idle, whatever the answers' latency; ``len(sessions)`` bounds the steps in flight.

    A step due while every session is busy starts as soon as one is free (its delay is
    recorded in the :class:`Schedule`), so a server slower than ``rate`` shows as a growing
    start delay and a backlog at the end. The answers that arrive in the measured window
    (``warmup`` to ``warmup + duration``, or until ``stop`` is set) are recorded, so the
    2xx/s is what the server sustained; steps still in flight at the end are waited for (at
    most ``drain`` seconds) but not recorded."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    recorder = Recorder(observe)
    connections = [Connection(host, port) for _ in sessions]
    clients = [Client(conn, recorder) for conn in connections]
    idle: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(sessions)):
        idle.put_nowait(i)
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from, stop_at = start + warmup, start + warmup + duration
    schedule = Schedule(rate)
    running: set[asyncio.Task[None]] = set()
    window: dict[str, float] = {}

    def begin() -> None:
        recorder.active = True
        window["cpu"] = time.process_time()

    def stopped() -> bool:
        return stop is not None and stop.is_set()

    async def one(i: int) -> None:
        try:
            await sessions[i].step(clients[i])
        finally:
            idle.put_nowait(i)

    opening = loop.call_at(measure_from, begin)
    k = 0
    try:
        while (due := start + k / rate) < stop_at and not stopped():
            k += 1
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                i = idle.get_nowait()
            except asyncio.QueueEmpty:
                try:
                    i = await asyncio.wait_for(idle.get(), max(0.001, stop_at - loop.time()))
                except TimeoutError:
                    break
            if due >= measure_from:
                schedule.delays.append(loop.time() - due)
                schedule.started += 1
            task = asyncio.create_task(one(i))
            running.add(task)
            task.add_done_callback(running.discard)
        if not stopped():
            await asyncio.sleep(max(0.0, stop_at - loop.time()))
        ended = min(loop.time(), stop_at)
        recorder.active = False
        schedule.due = max(
            0, _steps_before(ended, start, rate) - _steps_before(measure_from, start, rate)
        )
        if running:
            await asyncio.wait(set(running), timeout=drain)
    finally:
        opening.cancel()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await asyncio.gather(*(conn.close() for conn in connections))
    seconds = max(0.0, ended - measure_from)
    tallies = recorder.tallies
    result = LoadResult(
        seconds=seconds,
        connections=len(sessions),
        client_cpu_s=time.process_time() - window.get("cpu", time.process_time()),
        total=summarize(list(tallies.values()), seconds),
        by_label={k: summarize([v], seconds) for k, v in sorted(tallies.items())},
    )
    return result, schedule


def _steps_before(moment: float, start: float, rate: float) -> int:
    """How many of the times ``start + j / rate`` (j = 0, 1...) fall before ``moment``."""
    return max(0, math.ceil((moment - start) * rate - 1e-6))  # 1e-6: float noise


def run_load(
    host: str,
    port: int,
    sessions: list[Session],
    *,
    duration: float,
    warmup: float = 0.0,
    max_requests: int = 1_000_000,
) -> LoadResult:
    """Drive ``sessions`` (one connection each) against host:port for ``duration`` seconds
    after ``warmup`` seconds, or until ``max_requests`` were measured."""
    return asyncio.run(
        _drive(host, port, sessions, duration=duration, warmup=warmup, max_requests=max_requests)
    )
