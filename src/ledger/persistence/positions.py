"""Where stored events sit in the log, looked up by (aggregate id, version)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

Ref = tuple[UUID, int]


def positions_of(recorder: ApplicationRecorder, refs: Sequence[Ref]) -> dict[Ref, int]:
    """The notification id of each stored event named."""
    found: dict[Ref, int] = {}
    if isinstance(recorder, SQLiteApplicationRecorder):
        sql = (
            f"SELECT rowid FROM {recorder.events_table_name} "  # noqa: S608 - table name is ours
            "WHERE originator_id=? AND originator_version=?"
        )
        with recorder.datastore.transaction(commit=False) as cur:
            for aggregate_id, version in refs:
                cur.execute(sql, (aggregate_id.hex, version))
                found[(aggregate_id, version)] = cur.fetchone()[0]
        return found
    if isinstance(recorder, PostgresApplicationRecorder):
        sql = (
            f'SELECT notification_id FROM "{recorder.datastore.schema or "public"}".'  # noqa: S608 - table and column names are the store's own; values are bound
            f'"{recorder.events_table_name}" WHERE originator_id=%s AND originator_version=%s'
        )
        with recorder.datastore.get_connection() as conn, conn.cursor() as cur:
            for aggregate_id, version in refs:
                cur.execute(sql, (aggregate_id, version))
                row = cur.fetchone()
                assert row is not None
                found[(aggregate_id, version)] = row["notification_id"]
        return found
    wanted = set(refs)
    start = 1
    while wanted:
        batch = recorder.select_notifications(start, 1000)
        if not batch:
            break
        for n in batch:
            ref = (UUID(str(n.originator_id)), n.originator_version)
            if ref in wanted:
                found[ref] = n.id
                wanted.discard(ref)
        start = batch[-1].id + 1
    return found


def history_of(recorder: ApplicationRecorder, aggregate_id: UUID) -> list[Notification]:
    """Every stored event of one aggregate, with its log position, in version order."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        sql = (
            f"SELECT rowid, originator_version, topic, state FROM "  # noqa: S608 - table and column names are the store's own; values are bound
            f"{recorder.events_table_name} WHERE originator_id=? ORDER BY originator_version"
        )
        with recorder.datastore.transaction(commit=False) as cur:
            cur.execute(sql, (aggregate_id.hex,))
            rows = cur.fetchall()
        return [
            Notification(
                id=r[0], originator_id=aggregate_id, originator_version=r[1], topic=r[2], state=r[3]
            )
            for r in rows
        ]
    if isinstance(recorder, PostgresApplicationRecorder):
        sql = (
            f"SELECT notification_id, originator_version, topic, state FROM "  # noqa: S608 - table and column names are the store's own; values are bound
            f'"{recorder.datastore.schema or "public"}"."{recorder.events_table_name}" '
            "WHERE originator_id=%s ORDER BY originator_version"
        )
        with recorder.datastore.get_connection() as conn, conn.cursor() as cur:
            cur.execute(sql, (aggregate_id,))
            rows = cur.fetchall()
        return [
            Notification(
                id=r["notification_id"],
                originator_id=aggregate_id,
                originator_version=r["originator_version"],
                topic=r["topic"],
                state=bytes(r["state"]),
            )
            for r in rows
        ]
    out: list[Notification] = []
    start = 1
    while True:
        batch = recorder.select_notifications(start, 1000)
        if not batch:
            return out
        out.extend(n for n in batch if str(n.originator_id) == str(aggregate_id))
        start = batch[-1].id + 1
