"""An API on SQLite and on PostgreSQL, with a world of actors holding API keys."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.keys import KeyStore
from ledger.identity import Actor
from ledger.settings import Settings
from tests.support import Clock, World


@dataclass
class Api:
    app: FastAPI
    client: TestClient
    world: World
    tokens: dict[str, str]

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def key_for(self, actor: Actor, name: str) -> dict[str, str]:
        keys: KeyStore = self.app.state.keys
        self.tokens[name] = keys.issue(actor.actor_id, operator=actor.operator).token
        return self.auth(name)

    def post(
        self,
        path: str,
        who: str,
        body: Mapping[str, object] | None = None,
        /,
        **headers: str | bytes,
    ) -> Any:
        sent: dict[str, Any] = {**self.auth(who), **headers}  # bytes values on purpose, too
        return self.client.post(path, json=body or {}, headers=sent)


ROLES = (
    "operator",
    "admin",
    "manager",
    "executive",
    "auditor",
    "integration",
    "consultant",
    "agency_admin",
    "outsider",
)


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    """A running app (lifespan included) with a set-up world; one key per actor."""
    app = create_app(
        Settings(
            database_url=database_url,
            log_format="json",
            signing_key_path=tmp_path / "keys" / "signing-key.pem",
        )
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        world = World(app.state.ledger, Clock(datetime.now(UTC))).setup()
        keys: KeyStore = app.state.keys
        tokens = {
            name: keys.issue(
                getattr(world, name).actor_id, operator=getattr(world, name).operator
            ).token
            for name in ROLES
        }
        yield Api(app, client, world, tokens)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store for a ``ledger`` subprocess: an SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("pg_schema_url"))
