"""API keys: one or more per actor, stored only as a SHA-256 hash, shown once.

A key reads ``cdl_<key id>_<secret>``. The key id finds the row; the secret's hash is
compared in constant time. Keys live in the ``api_keys`` table of the ledger's database,
beside (not inside) the event store: they are credentials, not evidence.

On PostgreSQL a statement that fails on a dead connection is run again on another: after an
outage spent idle, every pooled connection died unseen, and the first requests would
otherwise answer 503 (the pool drops a broken connection when it is given back). A pool
``check`` would cost a round trip per request and back off a second, longer than the pool
timeout, after the first broken one.
"""

from __future__ import annotations

import hashlib
import hmac
import queue
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from psycopg import OperationalError

from ledger.identity import Actor
from ledger.persistence.retry import past_dead_connections
from ledger.persistence.store import backend, ddl_lock, pg_params, postgres, sqlite_path
from ledger.settings import Settings

T = TypeVar("T")
KEY_PATTERN = re.compile(r"^cdl_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    actor_id: UUID
    operator: bool
    label: str
    token: str  # shown once


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    actor_id: UUID
    operator: bool
    label: str
    created_at: str
    revoked_at: str | None


class KeyStore:
    """API keys in SQLite or PostgreSQL, whichever holds the events."""

    def __init__(self, settings: Settings) -> None:
        self.kind = backend(settings)
        self.settings = settings
        self._lock = threading.Lock()
        self._memory: dict[str, tuple[Any, ...]] = {}
        if self.kind == "sqlite":
            self._path = str(sqlite_path(settings))
            # Idle connections kept for reuse: opening the file per request costs more
            # than the lookup itself.
            self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        elif self.kind == "postgres":
            from psycopg.conninfo import make_conninfo
            from psycopg_pool import ConnectionPool

            schema = postgres(settings).schema or "public"
            self._table = f'"{schema}".api_keys'
            self._pool = ConnectionPool(
                make_conninfo(**pg_params(settings)),
                min_size=1,
                max_size=4,
                open=True,
                timeout=settings.pg_pool_timeout,
                reconnect_timeout=2.0,  # give up and retry afresh: no backoff past 2 s
                kwargs={"autocommit": True},
            )
        self._create()

    def close(self) -> None:
        if self.kind == "postgres":
            self._pool.close()
        elif self.kind == "sqlite":
            while not self._idle.empty():
                self._idle.get_nowait().close()

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        if self.kind == "sqlite":
            try:
                lite = self._idle.get_nowait()
            except queue.Empty:
                lite = sqlite3.connect(
                    self._path, timeout=10, isolation_level=None, check_same_thread=False
                )
            try:
                yield lite.cursor()
            except BaseException:
                lite.close()
                raise
            self._idle.put(lite)
        else:
            with self._pool.connection() as conn, conn.cursor() as cur:
                yield cur

    def _run(self, work: Callable[[Any], T]) -> T:
        """``work`` on a cursor; on PostgreSQL, past connections the pool may hold that
        died unseen (``ledger.persistence.retry``)."""
        tries = self._pool.max_size + 1 if self.kind == "postgres" else 1

        def once() -> T:
            with self._cursor() as cur:
                return work(cur)

        return past_dead_connections(once, tries=tries, transient=(OperationalError,))

    def _sql(self, sql: str) -> str:
        if self.kind == "postgres":
            return sql.replace("?", "%s").replace("api_keys", self._table)
        return sql

    def _create(self) -> None:
        if self.kind == "memory":
            return
        with ddl_lock(self.settings):
            self._run(
                lambda cur: cur.execute(
                    self._sql(
                        "CREATE TABLE IF NOT EXISTS api_keys (key_id TEXT PRIMARY KEY, "
                        "actor_id TEXT NOT NULL, operator INTEGER NOT NULL, "
                        "secret_hash TEXT NOT NULL, label TEXT NOT NULL, "
                        "created_at TEXT NOT NULL, revoked_at TEXT)"
                    )
                )
            )

    def issue(self, actor_id: UUID, *, operator: bool = False, label: str = "") -> IssuedKey:
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        row = (
            key_id,
            str(actor_id),
            int(operator),
            _hash(secret),
            label,
            datetime.now(UTC).isoformat(),
            None,
        )
        if self.kind == "memory":
            with self._lock:
                self._memory[key_id] = row
        else:
            insert = self._sql("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?)")
            self._run(lambda cur: cur.execute(insert, row))
        return IssuedKey(key_id, actor_id, operator, label, f"cdl_{key_id}_{secret}")

    def _row(self, key_id: str) -> tuple[Any, ...] | None:
        if self.kind == "memory":
            return self._memory.get(key_id)
        select = self._sql("SELECT * FROM api_keys WHERE key_id = ?")
        row = self._run(lambda cur: cur.execute(select, (key_id,)).fetchone())
        return tuple(row) if row else None

    def authenticate(self, token: str) -> Actor | None:
        """The actor a valid, unrevoked key belongs to; None for anything else."""
        match = KEY_PATTERN.match(token)
        if match is None:
            return None
        key_id, secret = match.groups()
        row = self._row(key_id)
        if row is None or row[6] is not None:
            return None
        if not hmac.compare_digest(row[3], _hash(secret)):
            return None
        return Actor(UUID(row[1]), operator=bool(row[2]))

    def revoke(self, key_id: str) -> bool:
        now = datetime.now(UTC).isoformat()
        if self.kind == "memory":
            with self._lock:
                row = self._memory.get(key_id)
                if row is None or row[6] is not None:
                    return False
                self._memory[key_id] = (*row[:6], now)
                return True
        update = self._sql(
            "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL"
        )
        return bool(self._run(lambda cur: cur.execute(update, (now, key_id)).rowcount))

    def info(self, key_id: str) -> KeyInfo | None:
        row = self._row(key_id)
        if row is None:
            return None
        return KeyInfo(row[0], UUID(row[1]), bool(row[2]), row[4], row[5], row[6])
