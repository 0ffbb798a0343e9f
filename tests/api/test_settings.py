"""Settings at start-up: one parse of the database URL, one way to connect, and values the
ledger cannot run with refused at once in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from api.http.app import create_app
from api.keys import KeyStore
from ledger.errors import ConfigurationError, StoreConfigError
from ledger.persistence.store import PostgresDatabase, database, pg_params
from ledger.settings import Settings
from tests.conftest import PG_URL, require_postgres

LEDGER_CLI = Path(sys.executable).with_name("ledger")


def with_password(url: str, password: str) -> str:
    """``url`` with its user given ``password`` (already percent-encoded)."""
    parts = urlsplit(url)
    netloc = f"{parts.username or 'postgres'}:{password}@{parts.hostname}:{parts.port or 5432}"
    return parts._replace(netloc=netloc).geturl()


def test_the_database_url_is_parsed_into_postgres_parameters_with_the_password_decoded() -> None:
    """A percent-encoded password and ?schema= come out decoded, once, as a typed value."""
    settings = Settings(database_url="postgresql://app:p%20w%40x@db.example:6543/ledger?schema=s1")
    assert database(settings) == PostgresDatabase(
        dbname="ledger", host="db.example", port=6543, user="app", password="p w@x", schema="s1"
    )
    assert conninfo_to_dict(make_conninfo(**pg_params(settings)))["password"] == "p w@x"


def test_a_port_that_is_no_number_is_a_configuration_error_not_a_refused_command() -> None:
    """A bad database URL is no 422-style refusal: it is a ConfigurationError."""
    with pytest.raises(StoreConfigError) as caught:
        database(Settings(database_url="postgresql://db.example:port/ledger"))
    assert isinstance(caught.value, ConfigurationError)


def test_a_password_with_a_space_starts_the_server_and_serves_a_request(
    pg_schema_url: str, tmp_path: Path
) -> None:
    """With p%20w in the URL, the lifespan starts (event store, views, key pool) and an
    authenticated request is answered (trust auth: only a parse error could fail it)."""
    url = with_password(pg_schema_url, "p%20w")
    settings = Settings(
        database_url=url, log_format="json", signing_key_path=tmp_path / "signing-key.pem"
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        keys: KeyStore = client.app.state.keys  # type: ignore[attr-defined]
        token = keys.issue(uuid4()).token
        r = client.get(f"/v1/organizations/{uuid4()}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "not_found"


def test_an_unknown_setting_value_is_refused_in_one_line_naming_the_allowed_values() -> None:
    """LEDGER_LOG_FORMAT=xml raises a ConfigurationError, not a pydantic traceback."""
    with pytest.raises(ConfigurationError) as caught:
        Settings(log_format="xml")
    assert str(caught.value) == (
        "LEDGER_LOG_FORMAT='xml': Input should be 'auto', 'json' or 'console'"
    )


def test_the_operator_id_is_read_through_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """LEDGER_OPERATOR_ID is a settings field: a UUID, refused at start-up otherwise."""
    operator = uuid4()
    monkeypatch.setenv("LEDGER_OPERATOR_ID", str(operator))
    assert Settings().operator_id == operator
    monkeypatch.setenv("LEDGER_OPERATOR_ID", "nobody")
    with pytest.raises(ConfigurationError, match="LEDGER_OPERATOR_ID='nobody'"):
        Settings()


def test_the_expiry_sweep_interval_is_read_and_refused_outside_zero_to_sixty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """LEDGER_EXPIRY_SWEEP_SECONDS defaults to 30, 0 is off, and a value the sweep cannot keep
    its one-minute promise with (or no number) is a one-line ConfigurationError."""
    assert Settings().expiry_sweep_seconds == 30
    monkeypatch.setenv("LEDGER_EXPIRY_SWEEP_SECONDS", "0")
    assert Settings().expiry_sweep_seconds == 0
    for bad, why in (("61", "less than or equal to 60"), ("-1", "greater than or equal to 0")):
        monkeypatch.setenv("LEDGER_EXPIRY_SWEEP_SECONDS", bad)
        with pytest.raises(ConfigurationError, match=f"LEDGER_EXPIRY_SWEEP_SECONDS='{bad}'.*{why}"):
            Settings()
    monkeypatch.setenv("LEDGER_EXPIRY_SWEEP_SECONDS", "soon")
    with pytest.raises(ConfigurationError, match="LEDGER_EXPIRY_SWEEP_SECONDS='soon'"):
        Settings()


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"LEDGER_PROJECTIONS": "extrenal"},
            "error: configuration: LEDGER_PROJECTIONS='extrenal': "
            "Input should be 'embedded' or 'external'",
        ),
        (
            {"LEDGER_DATABASE_URL": "mysql://db.example/ledger"},
            "error: configuration: LEDGER_DATABASE_URL must be sqlite:///PATH, "
            "postgresql://... or memory:// (url=mysql://db.example/ledger)",
        ),
    ],
)
def test_ledger_serve_with_a_bad_setting_exits_at_once_with_code_2_and_one_line(
    env: dict[str, str], line: str, tmp_path: Path
) -> None:
    """`ledger serve` stops before binding any port: exit code 2, one line on stderr."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [str(LEDGER_CLI), "serve", "--port", "1"],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [line]
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://postgres@127.0.0.1:5432/postgres?schema=Review_Case", "lowercase SQL"),
        ("postgresql://postgres@127.0.0.1:5432/postgres?schema=bad;drop", "lowercase SQL"),
        ("postgresql://postgres@127.0.0.1:5432/postgres?sslmode=require", "sslmode is not read"),
        ("postgresql://postgres@127.0.0.1:5432/postgres?schema=ok&x=1", "x is not read"),
        ("sqlite://", "names no SQLite file"),
        ("sqlite:///", "names no SQLite file"),
    ],
)
def test_a_database_url_the_ledger_cannot_honour_exactly_is_refused_before_anything_is_created(
    url: str, says: str
) -> None:
    """A schema PostgreSQL would fold or quote differently, a connection parameter the ledger
    would drop (plain text where TLS was asked for) and an SQLite URL with no file are
    configuration errors, raised by the parser before any connection."""
    with pytest.raises(StoreConfigError, match=says):
        database(Settings(database_url=url))


@pytest.mark.postgres
def test_a_store_that_refuses_the_connection_stops_the_cli_in_one_line(tmp_path: Path) -> None:
    """A role that does not exist ends `ledger verify` with one line and exit code 2."""
    require_postgres()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    parts = urlsplit(PG_URL)
    url = parts._replace(netloc=f"no_such_role_{uuid4().hex[:6]}@{parts.hostname}:{parts.port}")
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [str(LEDGER_CLI), "verify"],
        env={**clean, "LEDGER_DATABASE_URL": url.geturl()},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("error: the store cannot be reached: ")
    assert "no_such_role" in line
