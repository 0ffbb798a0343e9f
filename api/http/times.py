"""The time query parameters of the API (``as_of``, ``since``, ``until``,
``decided_since``, ``decided_until``, a bundle's ``from`` and ``to``): each declared as a
string and read by the one parser, ``ledger.periods.parse_time`` (RFC 3339 with a zone, or
a plain date meaning that day at 00:00 UTC), never by FastAPI's datetime parsing, which
takes ``0.5`` for a Unix time and a zoneless time for a local one.

A value the parser refuses (anything else, a leap second, a time with no UTC equivalent) is
400 ``invalid_query`` naming the parameter and the accepted forms; a period whose start is
after its end is 400 ``reversed_period`` (``ledger.periods.ordered``). Both are mapped in
``api.http.problems``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import WithJsonSchema

from ledger.periods import TIME_PATTERN, ordered, parse_time

FORMS = (
    "An RFC 3339 time with a zone (2026-03-01T09:30:00Z, 2026-03-01T10:30:00+01:00) or a plain "
    "date (2026-03-01), which means that day at 00:00 in UTC."
)
SCHEMA: dict[str, Any] = {
    "type": "string",
    # the parser's own pattern, its group names dropped (ECMA-262 spells them differently)
    "pattern": "^" + re.sub(r"\?P<\w+>", "?:", TIME_PATTERN.pattern) + "$",
    "examples": ["2026-03-01T09:30:00Z", "2026-03-01"],
}


TimeText = Annotated[str | None, WithJsonSchema(SCHEMA)]
"""A time query parameter, as routes declare it: ``Annotated[TimeText, Query(description=
...)]``, the description ending with :data:`FORMS`."""


def instant(value: str | None, name: str) -> datetime | None:
    """``value`` as an instant in UTC (None when absent); InvalidTime naming ``name``."""
    return None if value is None else parse_time(value, name)


def period(
    start: str | None, end: str | None, names: tuple[str, str] = ("since", "until")
) -> tuple[datetime | None, datetime | None]:
    """Both bounds in UTC (see :func:`instant`), checked not to be reversed."""
    first, last = instant(start, names[0]), instant(end, names[1])
    ordered(first, last, names)
    return first, last
