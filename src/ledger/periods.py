"""Periods of time and the one check that a period does not end before it starts.

Every read bounded by two values (``since``/``until`` of the read views, ``from``/``to`` of
a bundle or a consistency proof) is checked by :func:`ordered`; the API answers
:class:`ReversedPeriod` with 400 ``reversed_period``, the command line with exit code 2.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
