"""Streaming export of the audit trail as CSV or NDJSON, in constant memory.

:func:`export_audit` is a generator of text chunks: rows come from a server-side cursor on
PostgreSQL (a named psycopg cursor fetching ``itersize`` rows per round trip) or
``fetchmany`` on SQLite, inside one read transaction (so the export is one consistent
snapshot), and are written out ``chunk_rows`` at a time. Memory is bounded by one fetch and
one chunk, whatever the row count. Closing the generator early (a client that disconnects)
ends the transaction and returns the connection.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import operator
from collections.abc import Generator
from json.encoder import encode_basestring_ascii
from typing import Any, Literal

from projections import catalog
from projections.codec import loads
from projections.db import Database
from projections.queries.audit import AuditFilter, select
from projections.views.audit import COLUMNS, JSON_COLUMNS
from projections.views.audit import PROJECTION as AUDIT

Format = Literal["csv", "ndjson"]
MEDIA_TYPES: dict[str, str] = {"csv": "text/csv", "ndjson": "application/x-ndjson"}


def _generation(db: Database) -> int:
    with db.transaction() as tx:
        _, generation, _ = catalog.readable(tx, AUDIT)
    return generation


def export_audit(
    db: Database,
    flt: AuditFilter,
    fmt: Format = "ndjson",
    *,
    fetch_size: int = 2000,
    chunk_rows: int = 500,
) -> Generator[str]:
    """The entries matching ``flt`` in log order: a CSV header then rows (JSON columns
    as JSON text), or one JSON object per line (JSON columns as nested JSON)."""
    if fmt not in MEDIA_TYPES:
        raise ValueError(f"unknown export format {fmt!r}")
    generation = _generation(db)
    where = flt.where()
    rows = db.stream(select(where), where.params, names=AUDIT.names(generation), size=fetch_size)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(COLUMNS)
    cells = operator.itemgetter(*COLUMNS)  # a row's values in column order, in one call
    while batch := list(itertools.islice(rows, chunk_rows)):
        if writer is not None:
            writer.writerows(map(cells, batch))  # csv writes None as an empty field
        else:
            buffer.write("".join([_line(cells(row)) for row in batch]))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if tail := buffer.getvalue():
        yield tail


_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
_KEYS = tuple(encode_basestring_ascii(c) + ":" for c in COLUMNS)
_RAW = tuple(c in JSON_COLUMNS for c in COLUMNS)


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return encode_basestring_ascii(value)
    if type(value) is int:
        return str(value)
    return _ENCODE(value)


def _line(values: tuple[Any, ...]) -> str:
    """One NDJSON line: ``{"column":value,...}`` in column order. The JSON columns are
    stored as canonical JSON text (``projections.codec.dumps``: sorted keys, no spaces,
    ASCII), which is exactly what decoding and encoding them again would give: the text is
    copied, not parsed (``_object`` is the reference, and the tests compare both)."""
    parts = [
        key + ((raw or "null") if is_json else _value(raw))
        for key, raw, is_json in zip(_KEYS, values, _RAW, strict=True)
    ]
    return "{" + ",".join(parts) + "}\n"


def _object(values: tuple[Any, ...]) -> dict[str, Any]:
    obj = dict(zip(COLUMNS, values, strict=True))
    for c in JSON_COLUMNS:
        obj[c] = loads(obj[c])
    return obj
