"""An idempotency storm: 16 clients send the same commands with the same Idempotency-Keys,
in nearly the same order (so up to 16 copies of a key race each other across the API's two
worker processes), retrying on transport errors, 503 and 409 ``idempotency_key_in_flight``,
through a ``kill -9`` of the API and its restart. Afterwards: one event per key in the store
(one campaign per "plan" key, one budget change per "adjust" key, one idempotency record
per key); every 2xx a client got for a key carries the same body; at most one of them is
not a replay; nothing answered 422 ``idempotency_key_reused`` or 500.

Quick: 16 keys. Full (LEDGER_FAULTS_FULL=1): 160 keys, two crashes.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest

from tests.faults.conftest import Store
from tests.faults.harness import (
    FULL,
    ApiServer,
    budget,
    head,
    plan_body,
    report,
    running,
    stored_events,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900 if FULL else 120)]

CLIENTS = 16
KEYS = 160 if FULL else 16
CRASHES = 2 if FULL else 1
KEY_DEADLINE = 90.0  # seconds a client keeps retrying one key
RETRY = {409, 502, 503, 504}


class Storm:
    def __init__(self, base: str, token: str, requests: list[tuple[str, str, dict[str, Any]]]):
        self.base = base
        self.token = token
        self.requests = requests  # (key, path, body)
        self.lock = threading.Lock()
        self.answers: dict[str, list[tuple[int, dict[str, Any], bool]]] = defaultdict(list)
        self.unexpected: list[tuple[str, int, str]] = []
        self.retries: Counter[str] = Counter()
        self.done = 0
        self.failures: list[BaseException] = []

    def client(self, index: int) -> None:
        rng = random.Random(index)
        order = list(self.requests)
        for i in range(0, len(order) - 1, 2):  # nearly the same order for every client
            if rng.random() < 0.5:
                order[i], order[i + 1] = order[i + 1], order[i]
        try:
            with httpx.Client(base_url=self.base, timeout=10) as client:
                for key, path, body in order:
                    self.one(client, key, path, body)
                    with self.lock:
                        self.done += 1
        except BaseException as e:
            self.failures.append(e)

    def one(self, client: httpx.Client, key: str, path: str, body: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
        deadline = time.monotonic() + KEY_DEADLINE
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            try:
                r = client.post(path, json=body, headers=headers)
            except httpx.TransportError as e:
                self.note_retry(type(e).__name__, attempt)
                continue
            if 200 <= r.status_code < 300:
                replayed = r.headers.get("idempotent-replayed") == "true"
                with self.lock:
                    self.answers[key].append((r.status_code, r.json(), replayed))
                return
            code = r.json().get("code", "") if r.content else ""
            if r.status_code in RETRY and code != "version_conflict":
                self.note_retry(f"{r.status_code} {code}", attempt)
                continue
            with self.lock:
                self.unexpected.append((key, r.status_code, code))
            return
        with self.lock:
            self.unexpected.append((key, 0, "gave up"))

    def note_retry(self, why: str, attempt: int) -> None:
        """Count the retry and back off: 20 ms doubling to 0.5 s, with jitter."""
        with self.lock:
            self.retries[why] += 1
        pause = min(0.02 * 2 ** min(attempt, 10), 0.5)
        time.sleep(pause * (0.5 + random.random()))


def test_sixteen_clients_retrying_through_a_crash_record_one_event_per_key(store: Store) -> None:
    started = time.monotonic()
    demo = store.demo
    server = ApiServer.make("api", store.url, store.workdir, workers=2)
    with running(server):
        server.start()
        auth = demo.auth("manager_a")
        targets = []
        with httpx.Client(base_url=server.base_url, timeout=10) as c:
            for i in range(KEYS // 2):
                r = c.post(
                    f"/v1/organizations/{demo.org_a}/campaigns",
                    json=plan_body(f"storm-target-{i}"),
                    headers=auth,
                )
                assert r.status_code == 201, r.text
                targets.append(r.json()["aggregate_id"])
        before = head(store.url)
        requests: list[tuple[str, str, dict[str, Any]]] = []
        for i in range(KEYS):
            key = f"storm-{i:04d}"
            if i % 2 == 0:
                path = f"/v1/organizations/{demo.org_a}/campaigns"
                requests.append((key, path, plan_body(f"storm-{i}")))
            else:
                path = f"/v1/campaigns/{targets[i // 2]}/budget"
                requests.append((key, path, {"budget": budget(500 + i)}))

        storm = Storm(server.base_url, demo.key("manager_a"), requests)
        threads = [
            threading.Thread(target=storm.client, args=(i,), daemon=True) for i in range(CLIENTS)
        ]
        for t in threads:
            t.start()
        total = CLIENTS * KEYS
        restarts = []
        for n in range(CRASHES):
            # crash somewhere in the middle of the storm
            at = random.uniform(0.2, 0.6) * total * (n + 1) / CRASHES
            while storm.done < at and any(t.is_alive() for t in threads):
                time.sleep(0.005)
            progress = storm.done / total
            server.kill9()
            down = time.monotonic()
            server.start()
            restarts.append((round(progress, 2), round(time.monotonic() - down, 2)))
        for t in threads:
            t.join(timeout=KEY_DEADLINE * 2)
        assert not storm.failures, storm.failures

    assert storm.unexpected == [], storm.unexpected[:20]
    bodies_differ = {}
    fresh = {}
    for key, _, _ in requests:
        answers = storm.answers[key]
        assert len(answers) == CLIENTS, f"{key}: {len(answers)} answers"
        distinct = {(status, repr(sorted(body.items()))) for status, body, _ in answers}
        if len(distinct) != 1:
            bodies_differ[key] = distinct
        fresh[key] = sum(1 for _, _, replayed in answers if not replayed)
    assert bodies_differ == {}, bodies_differ
    assert max(fresh.values()) <= 1, {k: n for k, n in fresh.items() if n > 1}

    new = {k: v for k, v in stored_events(store.url).items() if v[0] > before}
    topics = Counter(topic.rsplit(":", 1)[-1] for _, topic in new.values())
    planned = {agg for (agg, _), (_, t) in new.items() if t.endswith("Campaign.Planned")}
    answered = {storm.answers[key][0][1]["aggregate_id"] for key, _, _ in requests[::2]}
    adjusted = Counter(agg for (agg, _), (_, t) in new.items() if t.endswith("BudgetAdjusted"))
    assert topics["CommandRecord.Recorded"] == KEYS, topics
    assert planned == answered, (len(planned), len(answered))
    assert adjusted == Counter(targets), adjusted

    report(
        "idempotency_storm",
        clients=CLIENTS,
        keys=KEYS,
        crashes=restarts,
        answers=sum(len(a) for a in storm.answers.values()),
        replayed=sum(1 for a in storm.answers.values() for _, _, r in a if r),
        keys_answered_only_by_replay=sum(1 for n in fresh.values() if n == 0),
        retries=dict(storm.retries),
        events_per_key=1,
        seconds=round(time.monotonic() - started, 1),
    )
