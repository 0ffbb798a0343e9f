"""The rows a batch touches, held in memory: read once, changed many times, written once.

A view applies a batch of events to :class:`Keyed` row sets (tables with a primary key) and
:class:`Appended` lists (rows only ever inserted). Before the events, the view names the keys
it will need (:meth:`Keyed.load`): one query per table and batch. The events then change
plain dicts, so a campaign touched by 40 events of a batch costs no statement until
:meth:`flush`, which writes the rows created in the batch with one insert and the rows that
differ from what was read with one upsert. What a batch leaves in the tables is exactly what
applying its events one by one would leave: the view code is the same either way, only the
moment of writing moves to the end of the transaction.

A key asked for without having been loaded is read on the spot (a query for that one key):
slower, never wrong.

Every value passes :func:`projections.codec.storable` on its way out: this is the one place
the views write, so it is the one place text the database cannot hold (U+0000) is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from projections.catalog import Table
from projections.codec import storable
from projections.db import Row, Tx

Key = tuple[Any, ...]


class Keyed:
    """One table's rows by primary key ``key`` (its first column is what loads them)."""

    def __init__(self, table: Table, key: tuple[str, ...]) -> None:
        self.table = table
        self.key = key
        self.types = table.types
        self._rows: dict[Key, Row] = {}
        self._read: dict[Key, Row] = {}  # as read from the table, to find what changed
        self._new: set[Key] = set()  # created by this batch: inserted, never upserted
        self._loaded: set[Any] = set()  # values of key[0] whose rows are all in memory
        self._deleted: set[Any] = set()  # values of key[0] whose stored rows are deleted

    def _key(self, row: Row) -> Key:
        return tuple(row[c] for c in self.key)

    def load(self, tx: Tx, values: Iterable[Any]) -> None:
        """Read every row whose first key column is one of ``values`` (once per value)."""
        wanted = {v for v in values if v is not None and v not in self._loaded}
        if not wanted:
            return
        for row in tx.select_in(self.table.slot, self.key[0], wanted):
            k = self._key(row)
            self._read[k] = dict(row)
            self._rows.setdefault(k, row)  # a row this batch created stays as it is
        self._loaded |= wanted

    def get(self, tx: Tx, *key: Any) -> Row | None:
        """The row as the batch has made it so far, or None. Change it in place."""
        if key[0] not in self._loaded and key not in self._rows:
            self.load(tx, (key[0],))
        return self._rows.get(key)

    def values(self) -> list[Row]:
        """Every row in memory."""
        return list(self._rows.values())

    def add(self, **values: Any) -> Row:
        """A new row (columns not given are NULL). The insert at :meth:`flush` fails, as a
        single INSERT would, if the table holds the key already."""
        row: Row = dict.fromkeys(self.types)
        row.update(values)
        k = self._key(row)
        if k in self._rows:
            raise KeyError(f"{self.table.slot}: a row with key {k} exists already")
        self._rows[k] = row
        self._new.add(k)
        return row

    def delete_all(self, tx: Tx, first: Any) -> None:
        """Delete every row whose first key column is ``first``."""
        self.load(tx, (first,))
        for k in [k for k in self._rows if k[0] == first]:
            del self._rows[k]
            self._new.discard(k)
        self._deleted.add(first)

    def flush(self, tx: Tx) -> None:
        """Write what the batch changed: deletions, one insert of the new rows, one upsert
        of the rows read and changed."""
        tx.delete_in(self.table.slot, self.key[0], self._deleted)
        new, changed = [], []
        for k, row in self._rows.items():
            if k in self._new:
                new.append([storable(row[c]) for c in self.types])
            elif row != self._read[k]:
                changed.append([storable(row[c]) for c in self.types])
        tx.insert_rows(self.table.slot, self.types, new)
        tx.upsert_rows(self.table.slot, self.types, self.key, changed)


class Appended:
    """Rows only ever inserted (keyed by log position): collected, then one insert."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.types = table.types
        self.rows: list[list[Any]] = []

    def add(self, **values: Any) -> None:
        self.rows.append([storable(values.get(c)) for c in self.types])

    def flush(self, tx: Tx) -> None:
        tx.insert_rows(self.table.slot, self.types, self.rows)
