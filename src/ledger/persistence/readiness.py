"""Is the store reachable, and on PostgreSQL is it durable (fsync, synchronous_commit)?"""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresApplicationRecorder

from ledger.application.service import Ledger


def check_store(ledger: Ledger) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    try:
        ledger.recorder.max_notification_id()
        checks["store_reachable"] = True
    except Exception as e:
        checks["store_reachable"] = f"unreachable: {type(e).__name__}"
        return checks
    recorder = ledger.recorder
    if isinstance(recorder, PostgresApplicationRecorder):
        with recorder.datastore.get_connection() as conn, conn.cursor() as cur:
            for name in ("fsync", "synchronous_commit"):
                cur.execute(f"SHOW {name}")
                row = cur.fetchone()
                value = next(iter(row.values())) if row else None
                checks[name] = True if value == "on" else f"{name} is {value}"
    return checks
