"""Streaming export of the audit trail as CSV or NDJSON, in constant memory.

:func:`prepare` fixes what an export holds: the entries matching a filter up to the
position the audit view has reached at that moment (:attr:`Export.position`), so the
export says exactly which part of the log it covers and a rerun at the same position gives
the same rows. :meth:`Export.chunks` is a generator of text chunks: rows come from a
server-side cursor on PostgreSQL (a named psycopg cursor fetching ``fetch_size`` rows per
round trip) or ``fetchmany`` on SQLite, inside one read transaction, and are written out
``chunk_rows`` at a time. Memory is bounded by one fetch and one chunk, whatever the row
count. Closing the generator early (a client that disconnects) ends the transaction and
returns the connection.

Both formats are UTF-8 text: non-ASCII characters are written as themselves, never as
``\\uXXXX`` escapes. Every row carries its ``position`` in the log, the position of the
same event in an audit bundle (``ledger.integrity.bundle_export``), and its ``event_id``.

- CSV: a header row of :data:`projections.flat.CSV_COLUMNS`, then one row per entry, flat
  cells, formulas neutralised (``projections.flat``); optionally a byte order mark first
  (``bom``) for spreadsheets that read UTF-8 only after one. No comment lines: the file
  stays loadable by Python's ``csv`` module and by spreadsheets; what the export holds
  (:meth:`Export.meta`) travels beside it (response headers, or a ``.meta.json`` sidecar).
- NDJSON: one JSON object per line, the view's columns in order, the JSON columns nested.

Both carry, right after ``actor_id`` and ``organization_id``, the name the directory gives
that id now (``actor_name``, ``organization_name``; empty or null without one), looked up
once per chunk through the ``lookup`` the edge passes (``projections.names``).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import operator
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any, Literal

from projections import catalog
from projections.codec import REPLACEMENT, UNSTORABLE, loads, ts
from projections.db import Database
from projections.flat import CSV_COLUMNS, NAME_COLUMNS, NAMED_COLUMNS, cells
from projections.names import Lookup
from projections.queries.audit import AuditFilter, select
from projections.queries.paging import Where
from projections.views.audit import JSON_COLUMNS
from projections.views.audit import PROJECTION as AUDIT

Format = Literal["csv", "ndjson"]
MEDIA_TYPES: dict[str, str] = {"csv": "text/csv", "ndjson": "application/x-ndjson"}
BOM = "\ufeff"
Progress = Callable[[int], None]


def _nothing(rows: int) -> None:
    return None


@dataclass(frozen=True)
class Export:
    """One export: its filter, format, and the view's generation and position it reads."""

    db: Database
    flt: AuditFilter
    fmt: Format
    generation: int
    position: int
    exported_at: datetime
    bom: bool = False
    fetch_size: int = 2000
    chunk_rows: int = 500
    lookup: Lookup | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return CSV_COLUMNS if self.fmt == "csv" else NAMED_COLUMNS

    def _named(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The batch's rows with the directory's name beside each actor and organization
        id (None without a name or a directory), all of them looked up at once."""
        ids = {row[c] for row in batch for c in NAME_COLUMNS if row[c] is not None}
        names = self.lookup(ids) if self.lookup is not None and ids else {}
        for row in batch:
            for c, name in NAME_COLUMNS.items():
                row[name] = names.get(row[c]) if row[c] is not None else None
        return batch

    def meta(self) -> dict[str, Any]:
        """What the export holds, as JSON: format, time, filter, position, columns."""
        return {
            "format": self.fmt,
            "exported_at": ts(self.exported_at),
            "position": self.position,
            "filter": filter_of(self.flt),
            "columns": list(self.columns),
            "bom": self.bom,
        }

    def _where(self) -> Where:
        return self.flt.where().raw("position <= ?", self.position)

    def count(self) -> int:
        """The number of entries the export holds (for a progress bar)."""
        where = self._where()
        with self.db.transaction() as tx:
            vtx = tx.with_names(AUDIT.names(self.generation))
            text = "SELECT COUNT(*) FROM {audit}" + where.sql()  # noqa: S608 - as in queries.audit
            return int(vtx.scalar(text, where.params))

    def chunks(self, progress: Progress = _nothing) -> Generator[str]:
        """The export as text chunks; ``progress`` is told the rows of each chunk."""
        where = self._where()
        rows = self.db.stream(
            select(where),
            where.params,
            names=AUDIT.names(self.generation),
            size=self.fetch_size,
        )
        buffer = io.StringIO()
        if self.bom:
            buffer.write(BOM)
        write = _csv_writer(buffer) if self.fmt == "csv" else _ndjson_writer(buffer)
        while batch := list(itertools.islice(rows, self.chunk_rows)):
            write(self._named(batch))
            progress(len(batch))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        if tail := buffer.getvalue():
            yield tail


Writer = Callable[[list[dict[str, Any]]], None]


def _csv_writer(buffer: io.StringIO) -> Writer:
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180 line ends
    writer.writerow(CSV_COLUMNS)

    def write(batch: list[dict[str, Any]]) -> None:
        writer.writerows(map(cells, batch))

    return write


def _ndjson_writer(buffer: io.StringIO) -> Writer:
    values = operator.itemgetter(*NAMED_COLUMNS)  # a row's values in order, in one call

    def write(batch: list[dict[str, Any]]) -> None:
        buffer.write("".join([_line(values(row)) for row in batch]))

    return write


def prepare(
    db: Database,
    flt: AuditFilter,
    fmt: Format = "ndjson",
    *,
    bom: bool = False,
    now: datetime | None = None,
    fetch_size: int = 2000,
    chunk_rows: int = 500,
    lookup: Lookup | None = None,
) -> Export:
    """An export of the entries matching ``flt`` up to the view's position now, with the
    names ``lookup`` gives (``projections.names``; without it, every name is None).
    ProjectionNotReady when the audit view is not installed."""
    if fmt not in MEDIA_TYPES:
        raise ValueError(f"unknown export format {fmt!r}")
    with db.transaction() as tx:
        _, generation, position = catalog.readable(tx, AUDIT)
    return Export(
        db,
        flt,
        fmt,
        generation,
        position,
        now or datetime.now(UTC),
        bom=bom and fmt == "csv",
        fetch_size=fetch_size,
        chunk_rows=chunk_rows,
        lookup=lookup,
    )


def export_audit(
    db: Database,
    flt: AuditFilter,
    fmt: Format = "ndjson",
    *,
    fetch_size: int = 2000,
    chunk_rows: int = 500,
) -> Generator[str]:
    """The entries matching ``flt`` in log order, as :meth:`Export.chunks` writes them."""
    return prepare(db, flt, fmt, fetch_size=fetch_size, chunk_rows=chunk_rows).chunks()


def filter_of(flt: AuditFilter) -> dict[str, Any]:
    """The filter's set fields as JSON values (``visible_to``: the engagements a consultant
    reads; absent when every entry of the organization is read)."""
    out: dict[str, Any] = {}
    for name, value in vars(flt).items():
        if value is None or value == ():
            continue
        if isinstance(value, datetime):
            out[name] = ts(value)
        elif isinstance(value, tuple | frozenset | set | list):
            out[name] = sorted(str(v) for v in value)
        else:
            out[name] = str(value)
    return out


_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode
_KEYS = tuple(encode_basestring(c) + ":" for c in NAMED_COLUMNS)
_RAW = tuple(c in JSON_COLUMNS for c in NAMED_COLUMNS)


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return encode_basestring(value)
    if type(value) is int:
        return str(value)
    return _ENCODE(value)


def _json(raw: str | None) -> str:
    """A stored JSON column as UTF-8 JSON text. The stored text is canonical
    (``projections.codec.dumps``: sorted keys, no spaces, ASCII): without a ``\\u`` escape
    it is already what re-encoding gives, and is copied; with one, it is decoded and
    written again with the characters as themselves (a lone surrogate as U+FFFD)."""
    if raw is None:
        return "null"
    if "\\u" not in raw:
        return raw
    return UNSTORABLE.sub(REPLACEMENT, _CANONICAL(json.loads(raw)))


def _line(values: tuple[Any, ...]) -> str:
    """One NDJSON line: ``{"column":value,...}`` in column order (``_object`` is the
    reference, and the tests compare both)."""
    parts = [
        key + (_json(raw) if is_json else _value(raw))
        for key, raw, is_json in zip(_KEYS, values, _RAW, strict=True)
    ]
    return "{" + ",".join(parts) + "}\n"


def _object(values: tuple[Any, ...]) -> dict[str, Any]:
    obj = dict(zip(NAMED_COLUMNS, values, strict=True))
    for c in JSON_COLUMNS:
        obj[c] = loads(obj[c])
    return obj
