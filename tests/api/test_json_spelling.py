"""One instant, one spelling: answers, problems, bundles and read rows write it alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http import problems
from ledger.errors import InvalidCommand
from ledger.jsonready import instant, json_object, jsonable
from projections.codec import dumps, ts

WHOLE = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)  # no microseconds: isoformat() drops them
SPELLED = "2025-03-04T05:06:07.000000+00:00"


def problem_context(at: datetime) -> object:
    """The ``context`` of the problem answered for a ledger error carrying ``at``."""
    app = FastAPI()
    problems.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise InvalidCommand("refused", at=at)

    with TestClient(app) as client:
        return client.get("/boom").json()["context"]["at"]


def test_the_same_instant_is_spelled_alike_by_every_conversion() -> None:
    """jsonable, json_object, the read tables' codec and the problem builder write one text,
    also for a time given in another offset."""
    east = WHOLE.astimezone(timezone(timedelta(hours=2)))
    for at in (WHOLE, east):
        assert instant(at) == SPELLED
        assert jsonable(at) == SPELLED
        assert json_object({"at": at}) == {"at": SPELLED}
        assert ts(at) == SPELLED
        assert json.loads(dumps({"at": at})) == {"at": SPELLED}
        assert problem_context(at) == SPELLED


def test_jsonable_writes_ids_and_decimals_as_text_and_keeps_json_scalars() -> None:
    """Ids and money become strings (never floats); JSON's own types pass unchanged."""
    value = {"id": UUID(int=7), "amount": Decimal("12.30"), "n": 3, "ok": True, "x": None}
    assert jsonable(value) == {
        "id": str(UUID(int=7)),
        "amount": "12.30",
        "n": 3,
        "ok": True,
        "x": None,
    }
    assert jsonable((1, [WHOLE])) == [1, [SPELLED]]
