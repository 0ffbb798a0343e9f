"""The one reading of the time query parameters (``as_of``, ``since``, ``until``, a
bundle's ``from`` and ``to``): each in UTC, the ledger's one time zone.

A time that has no UTC equivalent (``0001-01-01T00:00:00+14:00`` is before year 1 in UTC,
``9999-12-31T23:59:59-14:00`` after year 9999) is 400 ``invalid_query`` naming the
parameter; a period whose start is after its end is 400 ``reversed_period``
(``ledger.periods.ordered``, mapped in ``api.http.problems``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from api.http.problems import ApiError
from ledger.periods import ordered


def utc(value: datetime | None, name: str) -> datetime | None:
    """``value`` in UTC (a time without an offset is read as UTC); 400 ``invalid_query``
    when it cannot be expressed in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ApiError(
            400,
            "invalid_query",
            "Invalid query",
            f"{name}={value.isoformat()} has no UTC equivalent: in UTC it falls outside "
            "the years 1 to 9999",
        ) from None


def utc_period(
    start: datetime | None, end: datetime | None, names: tuple[str, str] = ("since", "until")
) -> tuple[datetime | None, datetime | None]:
    """Both bounds in UTC (see :func:`utc`), checked not to be reversed."""
    first, last = utc(start, names[0]), utc(end, names[1])
    ordered(first, last, names)
    return first, last
