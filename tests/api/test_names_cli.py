"""``ledger names set|show|history|erase`` on SQLite and PostgreSQL, as the CLI's operator."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

from typer.testing import CliRunner

from api.cli.main import app as cli_app


def ledger(database_url: str, *args: str) -> Any:
    env = {"LEDGER_DATABASE_URL": database_url, "LEDGER_LOG_FORMAT": "json"}
    return CliRunner().invoke(cli_app, ["names", *args], env=env)


def test_the_cli_sets_shows_and_erases_a_name_recording_each_change_via_cli(
    database_url: str,
) -> None:
    """Two names then an erasure: show gives the second; the history lists three changes
    made through the CLI, none of which holds either name any more."""
    subject = str(uuid4())
    for name in ("Ada L", "Ada Lovelace"):
        assert ledger(database_url, "set", subject, "actor", name).exit_code == 0
    shown = ledger(database_url, "show", subject)
    assert json.loads(shown.stdout)["name"] == "Ada Lovelace"
    assert ledger(database_url, "erase", subject).exit_code == 0
    history = ledger(database_url, "history", subject)
    changes = json.loads(history.stdout)
    assert [(c["action"], c["via"]) for c in changes] == [
        ("set", "cli"),
        ("set", "cli"),
        ("erased", "cli"),
    ]
    assert "Ada" not in history.stdout
    assert ledger(database_url, "show", subject).exit_code == 2


def test_the_cli_refuses_a_name_with_a_control_character_in_one_line(database_url: str) -> None:
    """A refused name ends the command with exit 2 and one line naming the rule."""
    result = ledger(database_url, "set", str(uuid4()), "actor", "bad\x01name")
    assert result.exit_code == 2
    assert "control character U+0001" in result.stderr
