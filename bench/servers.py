"""Servers under test as subprocesses on 127.0.0.1, and throw-away PostgreSQL schemas.

Each server runs in its own process group (``start_new_session``), so stopping it ends the
uvicorn supervisor and its workers and nothing else. Logs go to a file in a temporary
folder; the tail is shown when a server fails to come up.
"""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_CONNINFO = os.environ.get(
    "BENCH_POSTGRES_CONNINFO", "host=127.0.0.1 port=5432 dbname=postgres user=postgres"
)
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
STARTUP_SETTLE = 2.0  # seconds a server must stay up after its first healthy answer


class ServerError(Exception):
    """A server did not come up, or died under load."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def ledger_command(workers: int, port: int, launcher: str = "cli") -> list[str]:
    """``ledger serve`` (launcher "cli"), or the same app behind ``bench.tcp_serve``."""
    if launcher == "tcp":
        return _tcp_serve("api.http.app:create_app", workers, port)
    exe = Path(sys.executable).parent / "ledger"
    return [str(exe), "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]


def baseline_command(factory: str, workers: int, port: int, launcher: str = "cli") -> list[str]:
    """The baseline app behind ``bench.tcp_serve`` whatever the launcher: ``ledger serve``
    binds its socket as TCP (TCP_NODELAY on every connection), so the baseline must too, or
    with two workers it would wait ~40 ms per response on delayed ACKs and flatter the
    ledger (docs/performance.md, finding 1)."""
    del launcher
    return _tcp_serve(f"bench.baseline_app:{factory}", workers, port)


def _tcp_serve(app: str, workers: int, port: int) -> list[str]:
    argv = [sys.executable, "-m", "bench.tcp_serve", app, "--host", HOST, "--port", str(port)]
    return [*argv, "--workers", str(workers)]


@dataclass
class Server:
    name: str
    argv: list[str]
    port: int
    env: Mapping[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    failed_starts: list[str] = field(default_factory=list)

    def start(self, attempts: int = 2) -> Server:
        """Start and wait for /healthz. A failed start is retried (``attempts`` in all) and
        remembered in ``failed_starts``: it is a finding to report, not a figure."""
        for attempt in range(attempts):
            try:
                return self._start()
            except ServerError as e:
                self.stop()
                self.failed_starts.append(str(e)[-2000:])
                if attempt + 1 == attempts:
                    raise
        return self

    def _start(self) -> Server:
        env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT)}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
                self.argv,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    # One worker answering is not all of them: uvicorn's supervisor stops
                    # everything (exit 0) when another worker fails its start-up, which it
                    # notices within 0.5 s.
                    time.sleep(STARTUP_SETTLE)
                    self.check_alive()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise ServerError(f"{self.name} not ready in {READY_TIMEOUT:.0f}s\n{self.tail()}")

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise ServerError(f"{self.name} exited with {self.proc.returncode}\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def pids(self) -> list[int]:
        """The server process and its descendants (uvicorn's workers)."""
        if self.proc is None:
            return []
        found = [self.proc.pid]
        for pid in found:
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            found.extend(int(c) for c in children)
        return found

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the workers under a supervisor, or the server
        process itself when it runs one worker in-process."""
        pids = self.pids()
        workers = [p for p in pids[1:] if _is_python_worker(p)]
        return workers or pids[:1]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # the process group this server leads (start_new_session)
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(STOP_TIMEOUT)
        except ProcessLookupError:
            pass


def _is_python_worker(pid: int) -> bool:
    """uvicorn's multiprocessing workers, not the resource tracker it may also start."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return not any(b"resource_tracker" in part for part in cmdline)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB, from /proc/<pid>/status."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


@contextmanager
def running(*servers: Server) -> Iterator[tuple[Server, ...]]:
    """Start servers (in order), yield them, and always stop them."""
    started: list[Server] = []
    try:
        for server in servers:
            started.append(server)
            server.start()
        yield servers
    finally:
        for server in reversed(started):
            server.stop()


# PostgreSQL schemas


def new_schema_name(scenario: str) -> str:
    return f"bench_{scenario}_{secrets.token_hex(3)}"


def schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}schema={schema}"


def create_schema(schema: str) -> None:
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def drop_schema(schema: str) -> None:
    if not schema.startswith("bench_"):
        raise ValueError(f"refusing to drop {schema}: only bench_ schemas are dropped")
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextmanager
def fresh_schema(scenario: str, keep: bool = False) -> Iterator[str]:
    """A new ``bench_<scenario>_<hex>`` schema, dropped afterwards unless ``keep``."""
    schema = new_schema_name(scenario)
    create_schema(schema)
    try:
        yield schema
    finally:
        if not keep:
            drop_schema(schema)


def postgres_version() -> str:
    try:
        with psycopg.connect(PG_CONNINFO, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "?"
    except psycopg.Error:
        return "unreachable"
