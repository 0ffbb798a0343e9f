"""Periods of time: the one reading of a time parameter and the one check that a period
does not end before it starts.

Every time the API's query strings and the command line's options take (``as_of``,
``since``, ``until``, ``decided_since``, ``decided_until``, a bundle's ``from``/``to``,
``--from``/``--to``) is read by :func:`parse_time`: an RFC 3339 time with a zone, or a
plain date meaning that day at 00:00 in UTC; anything else is :class:`InvalidTime` (the API
answers 400 ``invalid_query``, the command line ``error: ...`` and exit code 2). Every read
bounded by two values (``since``/``until`` of the read views, ``from``/``to`` of a bundle or
a consistency proof) is checked by :func:`ordered`; the API answers :class:`ReversedPeriod`
with 400 ``reversed_period``, the command line with exit code 2.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol, TypeVar

from ledger.jsonready import instant


class _Ordered(Protocol):
    def __gt__(self, other: Any, /) -> bool: ...


T = TypeVar("T", bound=_Ordered)


class ReversedPeriod(ValueError):
    """A period that starts after it ends."""


def _spelled(value: object) -> str:
    """An instant as the ledger spells it (``ledger.jsonready.instant``), anything else as
    ``str``."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return instant(value)
    return value.isoformat() if isinstance(value, datetime) else str(value)


def ordered(start: T | None, end: T | None, names: tuple[str, str] = ("from", "to")) -> None:
    """ReversedPeriod when ``start`` is after ``end`` (equal bounds: an empty period)."""
    if start is not None and end is not None and start > end:
        first, last = names
        raise ReversedPeriod(
            f"the period starts ({_spelled(start)}) after it ends ({_spelled(end)}): "
            f"'{first}' must not be after '{last}'"
        )


def period(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    """``[start, end)`` with times given without an offset read as UTC; ReversedPeriod when
    it starts after it ends (an equal start and end is an empty period)."""
    start, end = (t if t is None or t.tzinfo else t.replace(tzinfo=UTC) for t in (start, end))
    ordered(start, end)
    return start, end


class InvalidTime(ValueError):
    """A time parameter that is neither an RFC 3339 time with a zone nor a plain date, or
    that has no UTC equivalent."""

    def __init__(self, name: str, value: str, reason: str) -> None:
        shown = value if len(value) <= 64 else value[:64] + "..."
        super().__init__(f"{name}={shown!r} {reason}; {ACCEPTED}")
        self.name, self.value, self.reason = name, value, reason


ACCEPTED = (
    "give an RFC 3339 time with a zone (2026-03-01T09:30:00Z, 2026-03-01T10:30:00.5+01:00) "
    "or a plain date (2026-03-01, that day at 00:00 UTC)"
)
_DATE = r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
_TIME = (
    r"[Tt ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,9}))?"
    r"(?P<zone>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
TIME_PATTERN = re.compile(f"{_DATE}(?:{_TIME})?")
_ZONELESS = re.compile(f"{_DATE}[Tt ][0-9]{{2}}:[0-9]{{2}}(?::[0-9]{{2}}(?:[.,][0-9]+)?)?")
"""RFC 3339 ``date-time`` (section 5.6) or ``full-date``; values are checked after the
match (month 1-12, an offset's hours 0-23, ...)."""


def parse_time(text: str, name: str) -> datetime:
    """``text`` as an instant in UTC: an RFC 3339 time with a zone (``Z``, ``-00:00`` or an
    offset), or a plain date read as that day at 00:00 in UTC; fractions finer than a
    microsecond are cut. Anything else, a leap second, and a time with no UTC equivalent
    (outside the years 1 to 9999 once in UTC) is :class:`InvalidTime` naming ``name``."""
    found = TIME_PATTERN.fullmatch(text)
    if found is None:
        zoneless = _ZONELESS.fullmatch(text) is not None
        raise InvalidTime(name, text, "has no zone" if zoneless else "is not a time")
    part = found.groupdict()
    try:
        day = datetime(int(part["year"]), int(part["month"]), int(part["day"]), tzinfo=UTC)
        if part["hour"] is None:
            return day
        if part["second"] == "60":
            raise InvalidTime(name, text, "is a leap second, which the ledger cannot represent")
        zone = _zone(part["zone"])
        local = day.replace(
            hour=int(part["hour"]),
            minute=int(part["minute"]),
            second=int(part["second"]),
            microsecond=int((part["fraction"] or "0").ljust(6, "0")[:6]),
            tzinfo=zone,
        )
    except ValueError as e:
        if isinstance(e, InvalidTime):
            raise
        raise InvalidTime(name, text, f"is not a time ({e})") from None
    try:
        return local.astimezone(UTC)
    except OverflowError:
        raise InvalidTime(
            name, text, "has no UTC equivalent: in UTC it falls outside the years 1 to 9999"
        ) from None


def _zone(spelled: str) -> timezone:
    if spelled in ("Z", "z"):
        return UTC
    hours, minutes = int(spelled[1:3]), int(spelled[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(f"offset {spelled} out of range")
    sign = -1 if spelled[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
