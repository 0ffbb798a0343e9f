"""The one reading of a time parameter (``ledger.periods.parse_time``), with no I/O: what
the API's query strings and the command line's options accept, and what they refuse."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.periods import ACCEPTED, InvalidTime, parse_time


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-03-01T09:30:00Z", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01T10:30:00+01:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01T04:00:00-05:30", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01t09:30:00z", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01 09:30:00Z", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01T09:30:00-00:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01T09:30:00.5Z", datetime(2026, 3, 1, 9, 30, 0, 500000, tzinfo=UTC)),
    ],
)
def test_an_rfc_3339_time_with_a_zone_is_read_as_that_instant_in_utc(
    text: str, instant: datetime
) -> None:
    """Z, an offset, lower-case t/z, a space for T and -00:00 all name one instant in UTC."""
    found = parse_time(text, "since")
    assert found == instant
    assert found.tzinfo is UTC


def test_a_plain_date_is_that_day_at_midnight_in_utc() -> None:
    """``2026-11-01`` is 2026-11-01T00:00:00 in UTC, whatever the server's time zone."""
    assert parse_time("2026-11-01", "until") == datetime(2026, 11, 1, tzinfo=UTC)


def test_a_fraction_finer_than_a_microsecond_is_cut_not_rounded() -> None:
    """Nanoseconds are cut to the microsecond the ledger records."""
    assert parse_time("2026-03-01T09:30:00.123456789Z", "as_of").microsecond == 123456


@pytest.mark.parametrize(
    "text",
    [
        "0.5",  # FastAPI read this as a Unix time
        "1700000000",
        "",
        "now",
        "yesterday",
        "2026-03-01T09:30:00",  # no zone
        "2026-03-01T09:30Z",  # no seconds
        "2026-03-01T09:30:00+0100",  # offset without a colon
        "2026-03-01T09:30:00 UTC",
        "2026-W09-7",
        "20260301",
        "2026-3-1",
        "+2026-03-01",
        "2026-03-01T09:30:00Z ",
        "2026-02-30",
        "2026-13-01",
        "2026-03-01T24:00:00Z",
        "2026-03-01T09:60:00Z",
        "2026-03-01T09:30:00+24:00",
        "2026-03-01T23:59:60Z",  # a leap second
        "0000-01-01",
    ],
)
def test_anything_else_is_refused_naming_the_parameter_and_the_accepted_forms(text: str) -> None:
    """An epoch, a zoneless time, an impossible date or offset, a leap second: InvalidTime,
    whose message names the parameter, the value and what would have been accepted."""
    with pytest.raises(InvalidTime) as refused:
        parse_time(text, "until")
    assert str(refused.value).startswith(f"until={text!r} ")
    assert str(refused.value).endswith(ACCEPTED)
    assert refused.value.name == "until"


def test_a_time_with_no_zone_is_refused_as_such() -> None:
    """The message says what is missing rather than only that it is not a time."""
    with pytest.raises(InvalidTime, match="has no zone"):
        parse_time("2026-03-01T09:30:00", "since")


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_time_with_no_utc_equivalent_is_refused(text: str) -> None:
    """Before year 1 or after year 9999 once in UTC: refused, never an overflow."""
    with pytest.raises(InvalidTime, match="has no UTC equivalent"):
        parse_time(text, "as_of")


def test_a_long_value_is_shortened_in_the_message() -> None:
    """A 10,000-character value is not echoed whole."""
    with pytest.raises(InvalidTime) as refused:
        parse_time("x" * 10_000, "since")
    assert len(str(refused.value)) < 300
