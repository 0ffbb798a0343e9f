"""Real processes on 127.0.0.1 for the fault and deployment tests.

- :class:`PrivatePostgres`: a throw-away PostgreSQL cluster (``initdb`` into a temporary
  folder, its own port and socket folder) that a test may stop in immediate mode and start
  again without touching the shared server other engineers use.
- :class:`Process`: ``ledger serve`` or ``ledger projections run`` in a process group of its
  own (``start_new_session``), so ``kill -9`` of the group ends the uvicorn supervisor and
  its workers and nothing else.
- :class:`Load`: client threads (httpx) posting a mix of commands with idempotency keys and
  keeping a log of every acknowledged event.
- checks: acknowledged events against the store, projections caught up, each position once
  in the audit trail, every projection equal to a rebuild from the log.

Every process, schema and folder is removed in ``finally`` blocks by the callers.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]
LEDGER = Path(sys.executable).parent / "ledger"
PG_BIN = Path(os.environ.get("LEDGER_PG_BIN", "/usr/lib/postgresql/15/bin"))
FULL = os.environ.get("LEDGER_FAULTS_FULL", "") not in ("", "0", "false", "no")
REQUIRE_PG = os.environ.get("LEDGER_REQUIRE_POSTGRES", "") not in ("", "0", "false", "no")
READY_TIMEOUT = 45.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
    return ordered[index]


# A private PostgreSQL


class PrivatePostgres:
    """A PostgreSQL 15 cluster of our own: ``initdb`` into a temporary folder, served on a
    free port with its socket in that folder. As root the binaries run as the ``postgres``
    OS user (initdb refuses root) through ``runuser``; the folder is handed to that user."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="ledger-faults-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self.port = free_port()
        self.started = False
        self._as: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            assert runuser is not None
            self._as = [runuser, "-u", "postgres", "--"]
            owner = pwd.getpwnam("postgres")
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
        self.base.chmod(0o700)

    @staticmethod
    def unavailable() -> str | None:
        """Why a private cluster cannot be made here, or None when it can."""
        for tool in ("initdb", "pg_ctl", "postgres"):
            if not (PG_BIN / tool).exists():
                return f"{PG_BIN / tool} not found (set LEDGER_PG_BIN to PostgreSQL's bin folder)"
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                return "running as root and runuser is missing (initdb refuses root)"
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root and there is no 'postgres' OS user to run initdb as"
        return None

    def _run(self, *argv: str, timeout: float = 60) -> None:
        cmd = [*self._as, *argv]
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own tools, arguments built here
            cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=self.base
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv[:2])} failed ({done.returncode}): {done.stdout}{done.stderr}"
                f"\n{self.tail()}"
            )

    def init(self) -> PrivatePostgres:
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",  # initdb's own fsyncs only; the server runs with fsync on
        )
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses={HOST} -c max_connections=150"
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
            timeout=90,
        )
        self.started = True

    def stop(self, mode: str = "immediate") -> None:
        """``pg_ctl stop -m immediate``: every backend killed, no checkpoint; the next start
        runs crash recovery from the WAL."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
        self.started = False

    def ensure_started(self) -> None:
        if not self.started:
            self.start()

    def destroy(self) -> None:
        try:
            if self.started:
                self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"


# Schemas


def with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


def base_url(url: str) -> str:
    """The URL without its ``schema=`` parameter (psycopg does not know it)."""
    head, _, query = url.partition("?")
    rest = [p for p in query.split("&") if p and not p.startswith("schema=")]
    return head + ("?" + "&".join(rest) if rest else "")


def schema_of(url: str) -> str:
    for part in url.partition("?")[2].split("&"):
        if part.startswith("schema="):
            return part.removeprefix("schema=")
    raise ValueError(f"no schema in {url}")


def drop_schema(url: str) -> None:
    with psycopg.connect(base_url(url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_of(url)))
        )


def new_schema_url(server_url: str, prefix: str = "fault") -> str:
    return with_schema(server_url, f"{prefix}_{uuid.uuid4().hex[:12]}")


# Processes


def ledger_env(url: str, workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "POSTGRES_", "PG"))}
    env.update(
        {
            "LEDGER_DATABASE_URL": url,
            "LEDGER_SIGNING_KEY_PATH": str(workdir / "keys" / "signing-key.pem"),
            "LEDGER_LOG_FORMAT": "json",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


def seed_demo(url: str, workdir: Path) -> dict[str, Any]:
    """``ledger demo --json`` against ``url`` (run in ``workdir``: it writes .ledger/)."""
    workdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(  # noqa: S603 - our own CLI
        [str(LEDGER), "demo", "--json"],
        cwd=workdir,
        env=ledger_env(url, workdir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ledger demo failed: {done.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(done.stdout)
    return data


@dataclass
class Process:
    """One of our commands in its own process group, its output in a log file."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    workdir: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    starts: int = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> Process:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {self.starts} at {time.time():.3f}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(  # noqa: S603 - our own CLI
                self.argv,
                cwd=self.workdir,
                env=dict(self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.starts += 1
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}\n{self.tail()}")

    def kill9(self) -> None:
        """``kill -9`` of the whole process group (the supervisor and every worker)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        self._wait_group_gone(proc.pid)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the group, then SIGKILL after ``timeout``."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # workers left behind by the supervisor
        self._wait_group_gone(proc.pid)

    @staticmethod
    def _wait_group_gone(pgid: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []


@dataclass
class ApiServer(Process):
    port: int = 0

    @classmethod
    def make(
        cls, name: str, url: str, workdir: Path, *, workers: int = 1, port: int = 0, **env: str
    ) -> ApiServer:
        port = port or free_port()
        argv = [str(LEDGER), "serve", "--host", HOST, "--port", str(port)]
        argv += ["--workers", str(workers)]
        return cls(name, argv, ledger_env(url, workdir, **env), workdir, port=port)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> ApiServer:
        super().start()
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Until /readyz answers 200 three times in a row (every worker had time to come
        up: uvicorn's workers share one listening socket)."""
        deadline = time.monotonic() + timeout
        good = 0
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                self.check_alive()
                try:
                    ok = client.get("/readyz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                good = good + 1 if ok else 0
                if good >= 3:
                    return
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout:.0f}s\n{self.tail()}")


def projection_worker(name: str, url: str, workdir: Path, **env: str) -> Process:
    """``ledger projections run``; its connections are named ``name`` in pg_stat_activity."""
    return Process(
        name,
        [str(LEDGER), "projections", "run"],
        ledger_env(url, workdir, PGAPPNAME=name, **env),
        workdir,
    )


@contextlib.contextmanager
def running(*processes: Process) -> Iterator[None]:
    """Stop every process at the end, whatever happened."""
    try:
        yield
    finally:
        for p in processes:
            with contextlib.suppress(Exception):
                p.stop()


# The demo world as seen by clients


@dataclass(frozen=True)
class Demo:
    data: dict[str, Any]

    def key(self, who: str) -> str:
        return str(self.data["actors"][who]["api_key"])

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(who)}"}

    @property
    def org_a(self) -> str:
        return str(self.data["organizations"]["client_a"])

    @property
    def eng_a(self) -> str:
        return str(self.data["engagements"]["client_a"])


def budget(amount: int | str) -> dict[str, str]:
    return {"amount": str(amount), "currency": "EUR", "period": "monthly"}


def plan_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "objective": "Fault test",
        "channels": ["ppc"],
        "budget": budget(1000),
    }


def recommend_body(demo: Demo, campaign_id: str) -> dict[str, Any]:
    return {
        "engagement_id": demo.eng_a,
        "campaign_id": campaign_id,
        "kind": "launch",
        "rationale": "Demand peaks now",
        "evidence": ["fault-test"],
        "expected_impact": "+5% sales",
        "expires_at": "2099-01-01T00:00:00Z",
    }


# Acknowledged events


@dataclass(frozen=True)
class Acked:
    """An event a 2xx answer named: (aggregate id, version) -> position, type."""

    aggregate_id: str
    version: int
    position: int
    type: str


def acked_events(body: Mapping[str, Any]) -> list[Acked]:
    return [
        Acked(e["aggregate_id"], int(e["version"]), int(e["position"]), e["type"])
        for e in body.get("events", [])
    ]


@dataclass
class Outcome:
    """One request as a client saw it."""

    label: str
    started: float
    ended: float
    status: int | None  # None: a transport error
    error: str | None = None
    code: str | None = None
    retry_after: str | None = None

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def outcome_of(label: str, started: float, response: httpx.Response) -> Outcome:
    code = None
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        with contextlib.suppress(ValueError):
            code = response.json().get("code")
    return Outcome(
        label,
        started,
        time.monotonic(),
        response.status_code,
        code=code,
        retry_after=response.headers.get("retry-after"),
    )


class Load:
    """``clients`` threads, each a manager planning a campaign of its own and then adjusting
    its budget, and every few turns a consultant recommending and the manager approving.
    Every 2xx is logged with the events it acknowledged; every request with its timing."""

    def __init__(
        self,
        base_url: str | Callable[[int], str],
        demo: Demo,
        *,
        clients: int = 4,
        think: float = 0.0,
        timeout: float = 10.0,
        seed: int = 0,
    ) -> None:
        self.url_for = base_url if callable(base_url) else (lambda _i: base_url)
        self.demo = demo
        self.clients = clients
        self.think = think
        self.timeout = timeout
        self.rng = random.Random(seed)
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.acked: list[Acked] = []
        self.outcomes: list[Outcome] = []
        self.threads: list[threading.Thread] = []
        self.crashed: list[BaseException] = []

    def start(self) -> Load:
        for i in range(self.clients):
            t = threading.Thread(target=self._client, args=(i,), name=f"load-{i}", daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=self.timeout + 5)
        if self.crashed:
            raise self.crashed[0]

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=self.timeout + 5)

    def statuses(self, since: float = 0.0) -> Counter[int | None]:
        with self.lock:
            return Counter(o.status for o in self.outcomes if o.started >= since)

    def snapshot(self) -> list[Outcome]:
        with self.lock:
            return list(self.outcomes)

    def _post(
        self, client: httpx.Client, label: str, path: str, who: str, body: dict[str, Any]
    ) -> httpx.Response | None:
        headers = {**self.demo.auth(who), "Idempotency-Key": f"load-{uuid.uuid4().hex}"}
        started = time.monotonic()
        try:
            response = client.post(path, json=body, headers=headers)
        except httpx.HTTPError as e:
            with self.lock:
                self.outcomes.append(
                    Outcome(label, started, time.monotonic(), None, error=type(e).__name__)
                )
            time.sleep(0.05)  # the server is away: do not spin
            return None
        outcome = outcome_of(label, started, response)
        with self.lock:
            self.outcomes.append(outcome)
            if 200 <= response.status_code < 300:
                self.acked.extend(acked_events(response.json()))
        if response.status_code >= 500:
            time.sleep(0.05)
        return response

    def _client(self, index: int) -> None:
        rng = random.Random(self.rng.random())
        campaign: str | None = None
        amount = 1000  # each plan starts at 1000; +1 each time stays within any limit
        turn = 0
        try:
            with httpx.Client(base_url=self.url_for(index), timeout=self.timeout) as client:
                while not self.stop_event.is_set():
                    turn += 1
                    if campaign is None or rng.random() < 0.05:
                        r = self._post(
                            client,
                            "plan",
                            f"/v1/organizations/{self.demo.org_a}/campaigns",
                            "manager_a",
                            plan_body(f"load-{index}-{turn}"),
                        )
                        if r is not None and r.status_code == 201:
                            campaign, amount = r.json()["aggregate_id"], 1000
                    elif turn % 6 == 0:
                        r = self._post(
                            client,
                            "recommend",
                            f"/v1/organizations/{self.demo.org_a}/recommendations",
                            "consultant_1",
                            recommend_body(self.demo, campaign),
                        )
                        if r is not None and r.status_code == 201:
                            rec = r.json()["aggregate_id"]
                            self._post(
                                client,
                                "approve",
                                f"/v1/recommendations/{rec}/approve",
                                "manager_a",
                                {"revision": 1, "note": "ok"},
                            )
                    else:
                        amount += 1
                        self._post(
                            client,
                            "adjust",
                            f"/v1/campaigns/{campaign}/budget",
                            "manager_a",
                            {"budget": budget(amount)},
                        )
                    if self.think:
                        time.sleep(self.think)
        except BaseException as e:  # a bug in the client itself must fail the test
            self.crashed.append(e)


# The store and the read side, checked from the test process


def stored_events(url: str) -> dict[tuple[str, int], tuple[int, str]]:
    """Every stored event: (aggregate id, version) -> (position, topic)."""
    table = sql.Identifier(schema_of(url), "ledger_events")
    query = sql.SQL(
        "SELECT originator_id, originator_version, notification_id, topic FROM {}"
    ).format(table)
    with psycopg.connect(base_url(url), connect_timeout=5) as conn:
        rows = conn.execute(query).fetchall()
    return {(str(r[0]), int(r[1])): (int(r[2]), str(r[3])) for r in rows}


def missing_acks(url: str, acked: list[Acked]) -> list[str]:
    """Acknowledged events absent from the store, or stored at another position or type."""
    stored = stored_events(url)
    problems = []
    for a in acked:
        found = stored.get((a.aggregate_id, a.version))
        if found is None:
            problems.append(f"lost: {a}")
        elif found[0] != a.position or not found[1].endswith(a.type):
            problems.append(f"differs: {a} stored as {found}")
    return problems


def head(url: str) -> int:
    table = sql.Identifier(schema_of(url), "ledger_events")
    with psycopg.connect(base_url(url), connect_timeout=5) as conn:
        row = conn.execute(
            sql.SQL("SELECT COALESCE(MAX(notification_id), 0) FROM {}").format(table)
        ).fetchone()
    return int(row[0]) if row else 0


def logged_positions(url: str) -> list[int]:
    """Every position the audit trail must hold: all events but idempotency records."""
    table = sql.Identifier(schema_of(url), "ledger_events")
    query = sql.SQL(
        "SELECT notification_id FROM {} WHERE topic NOT LIKE %s ORDER BY notification_id"
    ).format(table)
    with psycopg.connect(base_url(url), connect_timeout=5) as conn:
        return [int(r[0]) for r in conn.execute(query, ("%CommandRecord%",)).fetchall()]


class ReadSideProbe:
    """The read tables of a schema, opened from the test process."""

    def __init__(self, url: str) -> None:
        from ledger.application.service import Ledger
        from ledger.settings import Settings
        from projections.service import ReadSide

        self.url = url
        self.ledger = Ledger(Settings(database_url=url, pg_pool_size=1, pg_max_overflow=1))
        try:
            self.read_side = ReadSide(self.ledger, pool_size=2)
        except BaseException:
            self.ledger.close()
            raise

    def close(self) -> None:
        try:
            self.read_side.close()
        finally:
            self.ledger.close()

    def __enter__(self) -> ReadSideProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def positions(self) -> dict[str, int]:
        from projections.status import positions
        from projections.views import ALL

        return positions(self.read_side.db, ALL)

    def wait_caught_up(self, timeout: float) -> float:
        """Seconds until every projection reached the log's head; AssertionError after
        ``timeout``."""
        from projections.errors import ProjectionNotReady

        started = time.monotonic()
        target = head(self.url)
        seen: dict[str, int] = {}
        while time.monotonic() - started < timeout:
            try:
                seen = self.positions()
            except ProjectionNotReady:
                seen = {}
            if seen and min(seen.values()) >= target:
                return time.monotonic() - started
            time.sleep(0.1)
        raise AssertionError(f"projections at {seen}, not caught up with {target} in {timeout}s")

    def audited(self) -> list[int]:
        """Positions in the audit trail, in order, duplicates kept."""
        from projections import catalog
        from projections.views import audit

        with self.read_side.db.transaction() as tx:
            vtx, _, _ = catalog.readable(tx, audit.PROJECTION)
            return [int(r["position"]) for r in vtx.all("SELECT position FROM {audit} ORDER BY 1")]

    def audit_consistent_with_tracking(self) -> list[str]:
        """The audit rows and the tracked position, read in one transaction: exactly the
        logged positions up to the tracked one (a batch is all in or all out)."""
        from projections import catalog
        from projections.views import audit

        with self.read_side.db.transaction() as tx:
            vtx, _, tracked = catalog.readable(tx, audit.PROJECTION)
            rows = vtx.all("SELECT position FROM {audit} ORDER BY 1")
        audited = [int(r["position"]) for r in rows]
        logged = [p for p in logged_positions(self.url) if p <= tracked]
        if audited == logged:
            return []
        missing = sorted(set(logged) - set(audited))
        extra = sorted(set(audited) - set(logged))
        return [f"tracked {tracked}: missing {missing[:10]}, beyond or not logged {extra[:10]}"]

    def audit_matches_log(self) -> list[str]:
        """Each logged position exactly once in the audit trail: the differences."""
        logged = logged_positions(self.url)
        audited = self.audited()
        problems = []
        dupes = [p for p, n in Counter(audited).items() if n > 1]
        if dupes:
            problems.append(f"duplicated: {dupes[:20]}")
        skipped = sorted(set(logged) - set(audited))
        if skipped:
            problems.append(f"skipped: {skipped[:20]} ({len(skipped)} in all)")
        extra = sorted(set(audited) - set(logged))
        if extra:
            problems.append(f"not in the log: {extra[:20]}")
        return problems

    def rebuild_differences(self) -> dict[str, str]:
        """Rebuild every projection from the log beside the live one and compare checksums:
        {name: "live != rebuilt"} for each that differs (empty: all equal)."""
        from projections.rebuild import checksum
        from projections.views import ALL

        differences = {}
        for projection in ALL:
            result = self.read_side.rebuild(projection.name)
            live = checksum(self.read_side.db, projection, result.previous)
            rebuilt = checksum(self.read_side.db, projection, result.generation)
            if live != rebuilt:
                differences[projection.name] = f"{live[:12]} != {rebuilt[:12]}"
        return differences


def api_events(base: str, token: str, aggregate_id: str) -> dict[int, tuple[str, int]]:
    """GET /v1/aggregates/{id}/events: version -> (event id, position)."""
    r = httpx.get(
        f"{base}/v1/aggregates/{aggregate_id}/events",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    r.raise_for_status()
    return {int(e["version"]): (e["event_id"], int(e["position"])) for e in r.json()["events"]}


def wait_http_ok(base: str, path: str, headers: Mapping[str, str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(f"{base}{path}", headers=dict(headers), timeout=2).status_code
            if last == 200:
                return
        except httpx.HTTPError as e:
            last = type(e).__name__
        time.sleep(0.1)
    raise AssertionError(f"GET {path} did not answer 200 in {timeout}s (last: {last})")


# Figures for bench/faults.py


def report(test: str, **figures: Any) -> None:
    """Append ``figures`` for ``test`` to $LEDGER_FAULTS_REPORT (JSON lines), if set."""
    path = os.environ.get("LEDGER_FAULTS_REPORT")
    if not path:
        return
    line = json.dumps({"test": test, "full": FULL, **figures}, default=str)
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
