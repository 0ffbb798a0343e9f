"""Admission control: beyond the bound of requests in flight, or after the queue deadline, a
request is shed with 503 ``overloaded`` before it touches the ledger; the probes answer."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.http.admission import AdmissionSettings, Gate
from api.http.app import create_app
from api.keys import KeyStore
from ledger.settings import Settings
from tests.api.conftest import Api
from tests.support import Clock, World

WAIT_S = 10.0  # how long a test waits for a blocked request to be inside, at most


class Blocker:
    """Holds every command inside the ledger until released: the requests stay in flight."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.real: Callable[..., Any] = runner.execute
        self.inside = threading.Semaphore(0)
        self.release = threading.Event()

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.inside.release()
        self.release.wait(WAIT_S)
        return self.real(*args, **kwargs)

    def wait_inside(self) -> None:
        assert self.inside.acquire(timeout=WAIT_S), "the blocked request never got in"


@pytest.fixture
def make_api(database_url: str, tmp_path: Path) -> Iterator[Callable[[AdmissionSettings], Api]]:
    """Builds a running app with the given bound; each is stopped at the end of the test."""
    clients: list[TestClient] = []

    def make(admission: AdmissionSettings) -> Api:
        settings = Settings(
            database_url=database_url,
            log_format="json",
            signing_key_path=tmp_path / f"keys-{len(clients)}" / "signing-key.pem",
        )
        app = create_app(settings, admission)
        client = TestClient(app, raise_server_exceptions=False).__enter__()
        clients.append(client)
        world = World(app.state.ledger, Clock(datetime.now(UTC))).setup()
        keys: KeyStore = app.state.keys
        token = keys.issue(world.manager.actor_id).token
        return Api(app, client, world, {"manager": token})

    try:
        yield make
    finally:
        for client in clients:
            client.__exit__(None, None, None)


@pytest.fixture
def blocked(make_api: Callable[[AdmissionSettings], Api]) -> Iterator[tuple[Api, Blocker]]:
    """One running slot and one waiting place; commands block until released."""
    api = make_api(AdmissionSettings(max_in_flight=2, max_running=1, queue_deadline=WAIT_S))
    runner = api.app.state.committer or api.app.state.ledger
    blocker = Blocker(runner)
    runner.execute = blocker.execute
    try:
        yield api, blocker
    finally:
        blocker.release.set()
        runner.execute = blocker.real


def adjust(api: Api, amount: int, key: str) -> httpx.Response:
    body = {"budget": {"amount": str(amount), "currency": "EUR", "period": "monthly"}}
    r: httpx.Response = api.post(
        f"/v1/campaigns/{api.world.campaign_id}/budget",
        "manager",
        body,
        **{"Idempotency-Key": key},
    )
    return r


def assert_overloaded(r: Any, reason: str) -> None:  # httpx's or the TestClient's response
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "1"
    assert r.headers["x-request-id"]
    problem = r.json()
    assert problem["code"] == "overloaded"
    assert problem["context"]["reason"] == reason
    assert problem["request_id"] == r.headers["x-request-id"]


def test_a_request_beyond_the_bound_is_shed_at_once_and_appends_nothing(
    blocked: tuple[Api, Blocker],
) -> None:
    """Running and waiting places taken: the next command is a 503 overloaded problem with
    Retry-After, at once; nothing of it is stored, and its Idempotency-Key stays unused."""
    api, blocker = blocked
    before = len(api.world.events())
    with ThreadPoolExecutor(2) as pool:
        running: Future[httpx.Response] = pool.submit(adjust, api, 5601, "first")
        blocker.wait_inside()
        waiting = pool.submit(adjust, api, 5602, "second")
        time.sleep(0.2)  # let it take the waiting place
        started = time.monotonic()
        shed = adjust(api, 5603, "third")
        elapsed = time.monotonic() - started
        assert_overloaded(shed, "full")
        assert "LEDGER_MAX_IN_FLIGHT" in shed.json()["detail"]
        assert elapsed < 1.0
        assert len(api.world.events()) == before
        blocker.release.set()
        assert running.result(WAIT_S).status_code == 200
        assert waiting.result(WAIT_S).status_code == 200  # the freed slot went to it
    retried = adjust(api, 5603, "third")
    assert retried.status_code == 200, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert len(api.world.events()) == before + 6  # three changes, three key records


def test_a_request_that_waits_past_the_queue_deadline_is_shed(
    make_api: Callable[[AdmissionSettings], Api],
) -> None:
    """A request waiting for a running slot longer than the deadline is a 503 overloaded."""
    api = make_api(AdmissionSettings(max_in_flight=2, max_running=1, queue_deadline=0.3))
    runner = api.app.state.committer or api.app.state.ledger
    blocker = Blocker(runner)
    runner.execute = blocker.execute
    before = len(api.world.events())
    try:
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(adjust, api, 5611, "first")
            blocker.wait_inside()
            started = time.monotonic()
            shed = adjust(api, 5612, "second")
            elapsed = time.monotonic() - started
            assert_overloaded(shed, "deadline")
            assert "LEDGER_QUEUE_DEADLINE" in shed.json()["detail"]
            assert 0.3 <= elapsed < 3.0
            assert len(api.world.events()) == before
            blocker.release.set()
            assert running.result(WAIT_S).status_code == 200
    finally:
        blocker.release.set()
        runner.execute = blocker.real


def test_probes_answer_while_the_bound_is_reached_and_metrics_count_the_shed(
    blocked: tuple[Api, Blocker],
) -> None:
    """/healthz, /readyz and /metrics pass the gate; /metrics counts what was shed."""
    api, blocker = blocked
    shed_before = shed_full(api.client.get("/metrics").text)
    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(adjust, api, 5621, "first")
        blocker.wait_inside()
        waiting = pool.submit(adjust, api, 5622, "second")
        time.sleep(0.2)
        assert_overloaded(adjust(api, 5623, "third"), "full")
        assert_overloaded(api.client.get(f"/v1/campaigns/{api.world.campaign_id}"), "full")
        assert api.client.get("/healthz").status_code == 200
        assert api.client.get("/readyz").status_code == 200
        text = api.client.get("/metrics").text
        blocker.release.set()
        assert running.result(WAIT_S).status_code == 200
        assert waiting.result(WAIT_S).status_code == 200
    assert 'ledger_http_in_flight{state="running"} 1.0' in text
    assert 'ledger_http_in_flight{state="waiting"} 1.0' in text
    assert shed_full(text) == shed_before + 2


def shed_full(metrics: str) -> float:
    """The count of requests shed over the bound, from a /metrics page."""
    prefix = 'ledger_http_shed_total{reason="full"} '
    lines = [line for line in metrics.splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


def test_no_bound_when_max_in_flight_is_zero(
    make_api: Callable[[AdmissionSettings], Api],
) -> None:
    """LEDGER_MAX_IN_FLIGHT=0 turns admission control off: concurrent commands all run."""
    api = make_api(AdmissionSettings(max_in_flight=0, max_running=1))
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: adjust(api, 5630 + n, f"k{n}"), range(4)))
    assert [r.status_code for r in answers] == [200] * 4


def test_the_gate_hands_a_freed_slot_to_the_oldest_waiter_and_sheds_beyond_its_places() -> None:
    """One slot, one waiting place: the third is refused as full, the second gets the slot
    the first gives back, and a wait longer than the deadline is refused as late."""

    async def scenario() -> None:
        gate = Gate(running=1, waiting=1)
        assert await gate.enter(5.0) is None
        second = asyncio.create_task(gate.enter(5.0))
        await asyncio.sleep(0)
        assert await gate.enter(5.0) == "full"
        gate.leave()
        assert await second is None
        assert (gate.running, gate.waiting) == (1, 0)
        assert await gate.enter(0.01) == "deadline"
        gate.leave()
        assert (gate.running, gate.waiting) == (0, 0)

    asyncio.run(scenario())


def test_a_waiter_cancelled_while_the_slot_is_given_back_leaves_the_gate_consistent() -> None:
    """Cancelled waiting (or handed the slot just as it is cancelled): no error, no slot
    lost or leaked."""

    async def scenario() -> None:
        gate = Gate(running=1, waiting=2)
        assert await gate.enter(5.0) is None
        cancelled = asyncio.create_task(gate.enter(5.0))
        await asyncio.sleep(0)
        cancelled.cancel()  # its waiter is cancelled now, the task runs later
        gate.leave()  # meets the cancelled waiter first: drops it, frees the slot
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert (gate.running, gate.waiting) == (0, 0)

        assert await gate.enter(5.0) is None
        handed = asyncio.create_task(gate.enter(5.0))
        await asyncio.sleep(0)
        gate.leave()  # hands the slot to the waiter...
        handed.cancel()  # ...which is cancelled before it runs: it passes the slot on
        with pytest.raises(asyncio.CancelledError):
            await handed
        assert (gate.running, gate.waiting) == (0, 0)

    asyncio.run(scenario())
