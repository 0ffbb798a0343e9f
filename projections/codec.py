"""How values are written into read tables: the same text on SQLite and PostgreSQL.

Times are spelled as everywhere in the ledger (``ledger.jsonready.instant``: ISO 8601 UTC
with microseconds and a ``+00:00`` offset): fixed width, so text order is time order and range
filters work on plain ``TEXT`` columns. JSON is canonical (sorted
keys, no spaces) so that a rebuilt row is byte-for-byte the live one. Money stays a decimal
string: never a float.

Text is stored as the log holds it, except what a database cannot store: U+0000, which a
PostgreSQL ``text`` cannot hold, and lone surrogates, which UTF-8 cannot encode, are each
written as U+FFFD (the replacement character) by :func:`storable`, on both backends, so
SQLite and PostgreSQL read the same. The command side refuses both (``ledger.values``);
this is for events recorded before it did, or written below it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.jsonready import instant

ts = instant  # the ledger's one spelling of an instant (``ledger.jsonready``)


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(value: Any) -> Any:
    """``value`` as a read table can hold it: text with U+0000 and lone surrogates replaced
    by U+FFFD; anything else unchanged."""
    if isinstance(value, str) and UNSTORABLE.search(value) is not None:
        return UNSTORABLE.sub(REPLACEMENT, value)
    return value


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return ts(value)
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str)
    raise TypeError(f"cannot encode {type(value).__name__}")


# One encoder for every call: ``json.dumps`` with options builds a new one each time, which
# costs as much as encoding a small object (every audit entry encodes its details).
_ENCODER = json.JSONEncoder(default=_default, sort_keys=True, separators=(",", ":"))


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def ident(value: UUID | str | None) -> str | None:
    return None if value is None else str(value)


def flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def millis(start: str, end: str) -> int:
    """Whole milliseconds from one stored time to another."""
    delta = parse_ts(end) - parse_ts(start)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
