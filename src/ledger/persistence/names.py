"""The name directory's store: the names ids have now (``names``) and every change of them
(``name_history``), in two tables of the events' database (``ledger.persistence.tables``),
beside the event log and never in it: names are personal data, the log keeps ids only.

Setting a name replaces the entry and appends a history line naming the old and the new
name, in one transaction. Erasing an id's name removes its entry, blanks both names of every
history line of that id, and appends an ``erased`` line without any name: afterwards the
store holds no trace of what the name was, only that it was set and erased, by whom, when.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ledger.errors import NotFound, RuleViolation
from ledger.names import NameAction, NameChange, NameEntry, NameKind, SetName
from ledger.persistence.tables import SideTables
from ledger.settings import Settings

TABLES = ("names", "name_history")
CHUNK = 500  # ids per lookup statement, far below SQLite's bound-parameter limit
ENTRY = "subject_id, kind, name, set_by, set_at"
CHANGE = "sequence, subject_id, kind, action, name_from, name_to, actor_id, at, via"
APPEND = (
    "INSERT INTO {name_history} (subject_id, kind, action, name_from, name_to, actor_id, at, "
    "via) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "RETURNING sequence, subject_id, kind, action, name_from, name_to, actor_id, at, via"
)


def _ddl(postgres: bool) -> tuple[str, ...]:
    sequence = (
        "sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        if postgres
        else "sequence INTEGER PRIMARY KEY AUTOINCREMENT"
    )
    return (
        "CREATE TABLE IF NOT EXISTS {names} (subject_id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
        "name TEXT NOT NULL, set_by TEXT NOT NULL, set_at TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {{name_history}} ({sequence}, subject_id TEXT NOT NULL, "
        "kind TEXT NOT NULL, action TEXT NOT NULL, name_from TEXT, name_to TEXT, "
        "actor_id TEXT NOT NULL, at TEXT NOT NULL, via TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS name_history_subject ON {name_history} (subject_id, sequence)",
    )


def _entry(row: Any) -> NameEntry:
    return NameEntry(UUID(row[0]), NameKind(row[1]), row[2], UUID(row[3]), row[4])


def _change(row: Any) -> NameChange:
    return NameChange(
        int(row[0]),
        UUID(row[1]),
        NameKind(row[2]),
        NameAction(row[3]),
        row[4],
        row[5],
        UUID(row[6]),
        row[7],
        row[8],
    )


class NameStore:
    """The directory's tables on SQLite or PostgreSQL, whichever holds the events."""

    def __init__(self, settings: Settings) -> None:
        self.tables = SideTables(settings, TABLES)
        self.tables.create(*_ddl(self.tables.postgres))
        sql = self.tables.sql
        self._get = sql(f"SELECT {ENTRY} FROM {{names}} WHERE subject_id = ?")  # noqa: S608 - constant column list
        self._history = sql(
            f"SELECT {CHANGE} FROM {{name_history}} WHERE subject_id = ? ORDER BY sequence"  # noqa: S608 - constant column list
        )
        self._upsert = sql(
            "INSERT INTO {names} VALUES (?, ?, ?, ?, ?) ON CONFLICT (subject_id) DO UPDATE "
            "SET name = excluded.name, set_by = excluded.set_by, set_at = excluded.set_at"
        )
        self._append = sql(APPEND)
        self._blank = sql(
            "UPDATE {name_history} SET name_from = NULL, name_to = NULL WHERE subject_id = ?"
        )
        self._remove = sql("DELETE FROM {names} WHERE subject_id = ?")
        self._lock_id = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"

    def close(self) -> None:
        self.tables.close()

    def _locked(self, cur: Any, subject_id: UUID) -> NameEntry | None:
        """The entry of ``subject_id``, with the id locked until the transaction ends (SQLite
        holds the whole file from ``BEGIN IMMEDIATE``)."""
        if self.tables.postgres:
            cur.execute(self._lock_id, (str(subject_id),))
        row = cur.execute(self._get, (str(subject_id),)).fetchone()
        return _entry(row) if row else None

    def set(self, command: SetName, by: UUID, via: str) -> NameChange:
        """Give the id its new name; refused (RuleViolation) when the id is already named as
        another kind: an erasure comes first."""
        now = datetime.now(UTC).isoformat()
        ident = str(command.subject_id)

        def work(cur: Any) -> NameChange:
            old = self._locked(cur, command.subject_id)
            if old is not None and old.kind != command.kind:
                raise RuleViolation(
                    f"the id is named as {old.kind.value}, not {command.kind.value}",
                    subject_id=command.subject_id,
                )
            entry = (ident, command.kind.value, command.name, str(by), now)
            cur.execute(self._upsert, entry)
            row = (ident, command.kind.value, NameAction.SET.value)
            names = (old.name if old else None, command.name)
            cur.execute(self._append, (*row, *names, str(by), now, via))
            return _change(cur.fetchone())

        return self.tables.run(work)

    def erase(self, subject_id: UUID, by: UUID, via: str) -> NameChange:
        """Remove the id's name and every trace of it in the history; the erasure itself is
        recorded without a name. NotFound when the id has no name."""
        now = datetime.now(UTC).isoformat()
        ident = str(subject_id)

        def work(cur: Any) -> NameChange:
            old = self._locked(cur, subject_id)
            if old is None:
                raise NotFound("the id has no name to erase", subject_id=subject_id)
            cur.execute(self._remove, (ident,))
            cur.execute(self._blank, (ident,))
            row = (ident, old.kind.value, NameAction.ERASED.value, None, None)
            cur.execute(self._append, (*row, str(by), now, via))
            return _change(cur.fetchone())

        return self.tables.run(work)

    def get(self, subject_id: UUID) -> NameEntry | None:
        row = self.tables.run(lambda cur: cur.execute(self._get, (str(subject_id),)).fetchone())
        return _entry(row) if row else None

    def history(self, subject_id: UUID) -> list[NameChange]:
        rows = self.tables.run(
            lambda cur: cur.execute(self._history, (str(subject_id),)).fetchall()
        )
        return [_change(r) for r in rows]

    def names_of(self, ids: Collection[str]) -> dict[str, str]:
        """The current names of ``ids`` (UUID strings), by id; an id without a name is
        absent. One statement per ``CHUNK`` ids, all in one transaction."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}

        def work(cur: Any) -> dict[str, str]:
            found: dict[str, str] = {}
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                marks = ", ".join("?" * len(chunk))
                select = self.tables.sql(
                    f"SELECT subject_id, name FROM {{names}} WHERE subject_id IN ({marks})"  # noqa: S608 - placeholders only
                )
                found.update((r[0], r[1]) for r in cur.execute(select, chunk).fetchall())
            return found

        return self.tables.run(work)
