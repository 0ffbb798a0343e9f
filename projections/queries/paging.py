"""Pages, cursors and WHERE clauses shared by the query functions.

A cursor is the log position of the last row of the previous page, as a decimal string:
stable under concurrent writes, since rows are listed in position order and new rows only
ever get higher positions. ``visible_to`` is a set of engagement ids: ``None`` means no
restriction, an empty set means nothing is visible.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from projections.codec import loads, ts
from projections.errors import InvalidQuery

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
Visible = Collection[UUID | str] | None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    position: int
    """The projection position the page reflects (for read-your-writes)."""


def clamp(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(int(limit), MAX_LIMIT))


def after(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or len(cursor) > 19:
        raise InvalidQuery("the cursor is not one this API issued", cursor=cursor[:40])
    return int(cursor)


def page(rows: list[T], limit: int, position_of: Any, position: int) -> Page[T]:
    """Rows fetched with ``limit + 1``: the extra one only says there is a next page."""
    more = len(rows) > limit
    items = rows[:limit]
    cursor = str(position_of(items[-1])) if more and items else None
    return Page(items, cursor, position)


def decode(row: dict[str, Any], json_columns: Iterable[str]) -> dict[str, Any]:
    for column in json_columns:
        if column in row:
            row[column] = loads(row[column])
    return row


class Where:
    """AND-ed conditions on constant column names, with their values as bound parameters."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def raw(self, clause: str, *params: Any) -> Where:
        self.clauses.append(clause)
        self.params.extend(params)
        return self

    def eq(self, column: str, value: Any) -> Where:
        if value is not None:
            self.raw(f"{column} = ?", str(value))
        return self

    def one_of(self, column: str, values: Collection[Any] | None) -> Where:
        if values is None:
            return self
        if not values:
            return self.raw("1 = 0")
        marks = ", ".join("?" * len(values))
        return self.raw(f"{column} IN ({marks})", *sorted(str(v) for v in values))

    def time_from(self, column: str, value: datetime | None) -> Where:
        return self.raw(f"{column} >= ?", ts(value)) if value is not None else self

    def time_before(self, column: str, value: datetime | None) -> Where:
        return self.raw(f"{column} < ?", ts(value)) if value is not None else self

    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.clauses) if self.clauses else ""
