"""The command line's time options (``--from``/``--to`` of ``ledger bundle export`` and
``ledger export``): read by the API's one parser, ``ledger.periods.parse_time`` (an RFC 3339
time with a zone, or a plain date meaning that day at 00:00 UTC). A value it refuses
(``InvalidTime``), or a period that starts after it ends (``ReversedPeriod``), is one line
``error: ...`` on stderr and exit code 2, as every mistake is (``api.cli.mistakes``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from ledger.periods import ordered, parse_time

FORMS = "An RFC 3339 time with a zone (2026-03-01T09:30:00Z) or a date (2026-03-01, 00:00 UTC)"
From = Annotated[
    str | None, typer.Option("--from", help=f"Recorded at or after. {FORMS}", show_default=False)
]
To = Annotated[
    str | None, typer.Option("--to", help=f"Recorded before. {FORMS}", show_default=False)
]


def period(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """``--from`` and ``--to`` in UTC, checked not to be reversed (InvalidTime or
    ReversedPeriod otherwise, each a mistake of the user's)."""
    first = None if start is None else parse_time(start, "--from")
    last = None if end is None else parse_time(end, "--to")
    ordered(first, last, ("--from", "--to"))
    return first, last
