"""The one JSON-ready conversion: what every answer, problem and read row is made of.

An instant is always spelled one way, ISO 8601 in UTC with microseconds and a ``+00:00``
offset (``2025-03-04T05:06:07.000000+00:00``): fixed width, so text order is time order
(the read tables compare it as plain text). Ids and decimals become strings (money is
never a float), sets and tuples lists, and anything else that JSON has no type for its
``str``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def instant(value: datetime) -> str:
    """``value`` in UTC, ISO 8601 with microseconds; a naive time is refused."""
    if value.tzinfo is UTC:  # what the ledger stores: no conversion to make
        return value.isoformat(timespec="microseconds")
    if value.tzinfo is None:
        raise ValueError("naive datetimes are refused: every time in the ledger is UTC")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def jsonable(value: Any) -> Any:
    """``value`` with ids, decimals and instants as strings, ready for JSON."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):
        return instant(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def json_object(value: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`jsonable` of a mapping, typed as the JSON object it becomes."""
    return {str(k): jsonable(v) for k, v in value.items()}
