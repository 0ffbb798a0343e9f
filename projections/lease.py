"""Leases: at most one runner applies events to a projection at a time.

PostgreSQL: a session-level ``pg_try_advisory_lock`` taken on the runner's own connection,
the one its batches are written on. The server releases it when that session ends, so a
runner that dies (process killed, connection cut) hands over at once, and a runner whose
connection is gone cannot commit a batch either.

SQLite: a row in ``projection_leases`` with an owner id and an expiry. Each batch
transaction re-confirms ownership (``UPDATE ... WHERE owner = me``) and pushes the expiry
out; an idle runner renews every third of the lease time. Another runner takes over only
once the expiry has passed, and from then on the first one's batches are refused.

Either way the lease is an efficiency and a courtesy: exactly-once rests on the conditional
tracking update (``catalog.advance``), which refuses a batch that does not start where the
tracking row stands, whoever holds the lease.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from projections.catalog import lock_key
from projections.db import Session, Tx
from projections.errors import LeaseNotHeld


class Lease(Protocol):
    name: str
    owner: str

    @property
    def held(self) -> bool: ...

    def acquire(self) -> bool:
        """Take the lease if free (or ours); True when held afterwards."""

    def confirm(self, tx: Tx) -> None:
        """Inside a batch transaction: raise LeaseNotHeld unless still ours."""

    def renew(self) -> None:
        """Keep an idle lease alive (a no-op where the lease cannot expire)."""

    def release(self) -> None: ...


class AdvisoryLease:
    def __init__(self, session: Session, name: str, owner: str, schema: str = "") -> None:
        self.session = session
        self.name = name
        self.owner = owner
        self.key = lock_key(schema, "projection", name)
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self) -> bool:
        if not self._held:
            row = self.session.conn.execute(
                "SELECT pg_try_advisory_lock(%s) AS ok", (self.key,)
            ).fetchone()
            self._held = bool(row and row["ok"])
        return self._held

    def confirm(self, tx: Tx) -> None:
        if not self._held:
            raise LeaseNotHeld("this runner does not hold the lease", projection=self.name)

    def renew(self) -> None:
        return None

    def release(self) -> None:
        if self._held:
            self._held = False
            self.session.conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))


class RowLease:
    def __init__(
        self,
        session: Session,
        name: str,
        owner: str,
        ttl: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.session = session
        self.name = name
        self.owner = owner
        self.ttl_ms = int(ttl * 1000)
        self.clock = clock
        self._held = False
        self._renew_at = 0.0

    @property
    def held(self) -> bool:
        return self._held

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def acquire(self) -> bool:
        now = self._now_ms()
        with self.session.transaction(write=True) as tx:
            row = tx.one(
                "SELECT owner, expires_at FROM projection_leases WHERE projection = ?",
                (self.name,),
            )
            if row is not None and row["owner"] != self.owner and row["expires_at"] > now:
                self._held = False
                return False
            tx.execute(
                "INSERT INTO projection_leases (projection, owner, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (projection) DO UPDATE SET owner = excluded.owner, "
                "expires_at = excluded.expires_at",
                (self.name, self.owner, now + self.ttl_ms),
            )
        self._held = True
        self._renew_at = time.monotonic() + self.ttl_ms / 3000
        return True

    def confirm(self, tx: Tx) -> None:
        changed = tx.execute(
            "UPDATE projection_leases SET expires_at = ? WHERE projection = ? AND owner = ?",
            (self._now_ms() + self.ttl_ms, self.name, self.owner),
        )
        if changed != 1:
            self._held = False
            raise LeaseNotHeld("another runner took over the lease", projection=self.name)
        self._renew_at = time.monotonic() + self.ttl_ms / 3000

    def renew(self) -> None:
        if self._held and time.monotonic() >= self._renew_at:
            with self.session.transaction(write=True) as tx:
                self.confirm(tx)

    def release(self) -> None:
        if self._held:
            self._held = False
            with self.session.transaction(write=True) as tx:
                tx.execute(
                    "DELETE FROM projection_leases WHERE projection = ? AND owner = ?",
                    (self.name, self.owner),
                )


def lease_for(
    session: Session, name: str, owner: str, *, schema: str = "", ttl: float = 10.0
) -> Lease:
    if session.dialect == "postgres":
        return AdvisoryLease(session, name, owner, schema)
    return RowLease(session, name, owner, ttl)
