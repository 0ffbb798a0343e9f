"""The read tables' text encodings: the shortcuts write exactly what the plain forms write."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest

from projections.codec import _default, dumps, storable, ts

VALUES = [
    {"b": 1, "a": "x", "nested": {"z": [1, 2.5, None], "y": True}},
    {"id": UUID(int=7), "amount": Decimal("12.30"), "at": datetime(2025, 1, 2, 3, tzinfo=UTC)},
    {"tags": {"b", "a"}, "pair": (2, 1), "text": 'é\n"q"'},
    [],
    "plain",
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_writes_what_json_dumps_with_the_same_options_writes(value: object) -> None:
    """The shared encoder is ``json.dumps(..., sort_keys=True, separators=(",", ":"))``."""
    plain = json.dumps(value, default=_default, sort_keys=True, separators=(",", ":"))
    assert dumps(value) == plain


def test_ts_writes_utc_times_and_converts_other_offsets_to_utc() -> None:
    """A UTC time is written as it is, another offset as the same instant in UTC, with
    microseconds either way; a naive time is refused."""
    at = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert ts(at) == "2025-03-04T05:06:07.000000+00:00"
    east = at.astimezone(timezone(timedelta(hours=2)))
    assert ts(east) == ts(at)
    parsed = datetime.fromisoformat("2025-03-04T05:06:07+00:00")
    assert ts(parsed) == ts(at)
    with pytest.raises(ValueError, match="naive"):
        ts(at.replace(tzinfo=None))


def test_text_a_database_cannot_hold_is_stored_with_the_replacement_character() -> None:
    """U+0000 and lone surrogates become U+FFFD; other text and other values are kept."""
    assert storable("a\x00b\ud800") == "a\ufffdb\ufffd"
    assert storable("tab\tnew line\n 広告") == "tab\tnew line\n 広告"
    assert storable(7) == 7
    assert storable(None) is None
