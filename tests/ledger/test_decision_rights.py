"""The decision-rights table, proven from the policy itself.

Every command is issued by every caller: the roles ``ledger.policy.table.COMMANDS`` names
are accepted, everyone else is refused (Forbidden or NotFound) with nothing appended.
``docs/decision-rights.md`` must show the same tables, and no module outside the policy may
define a role set or compare roles inline.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

import pytest

from ledger import commands as c
from ledger.domain.base import LedgerAggregate
from ledger.errors import Forbidden, NotFound
from ledger.policy.table import COMMANDS, command_rows, name_rows, party_of, read_rows
from ledger.values import Role
from tests.ledger.checks import store_state
from tests.ledger.scenarios import ROLES, SCENARIOS, callers
from tests.support import World

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = [(cls, role) for cls, right in COMMANDS.items() for role in ROLES if role in right.roles]
ROLE_SET = re.compile(
    r"(frozenset\(\{[^}]*Role\.|[({]\s*Role\.[A-Z_]+\s*,|\brole\s*(==|!=)|\brole\s+(not\s+)?in\s*[({]"
    r"|\broles\s*&|&\s*\{\s*Role\.|\{\s*Role\.[A-Z_]+\s*\}|Role\.[A-Z_]+\s+(not\s+)?in\s+roles)"
)


def _name(value: object) -> str:
    return getattr(value, "__name__", str(value))


def test_every_command_has_a_scenario_and_a_row_in_the_table() -> None:
    """The table covers every handled command, and each has a scenario to test it with."""
    from ledger.handlers.registry import HANDLERS

    assert set(COMMANDS) == set(HANDLERS) == set(SCENARIOS)


@pytest.mark.parametrize(("command", "role"), ALLOWED, ids=_name)
def test_a_role_the_table_allows_may_issue_the_command(
    world: World, command: type, role: str
) -> None:
    """Given the command's scenario, when an allowed caller issues it, it is recorded, and
    the event's envelope names the role and party it acted in."""
    issued = SCENARIOS[command](world)
    result = world.run(callers(world)[role], issued)
    assert result.events, f"{command.__name__} by {role} recorded nothing"
    recorded = cast(LedgerAggregate.Event, list(world.ledger.events.get(result.aggregate_id))[-1])
    assert (recorded.role, recorded.party) == (role, party_of(Role(role)).value)


@pytest.mark.parametrize("command", list(COMMANDS), ids=_name)
def test_every_caller_the_table_does_not_allow_is_refused_and_nothing_is_recorded(
    world: World, command: type
) -> None:
    """Given the command's scenario, when any caller the table omits issues it, it is
    refused as forbidden (or not found, for an outsider) and the store is unchanged."""
    issued = SCENARIOS[command](world)
    refused = [role for role in ROLES if role not in COMMANDS[command].roles]
    assert "outsider" in refused
    for role in refused:
        before = store_state(world)
        with pytest.raises((Forbidden, NotFound)) as caught:
            world.run(callers(world)[role], issued)
        if role == "outsider" and command not in (c.CreateOrganization, c.RegisterAgency):
            assert isinstance(caught.value, NotFound), "an outsider learns nothing"
        assert store_state(world) == before, f"{command.__name__} by {role} changed the store"


def _doc_table(heading: str) -> list[tuple[str, ...]]:
    text = (ROOT / "docs" / "decision-rights.md").read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    cells = [tuple(cell.strip() for cell in line.strip("|").split("|")) for line in rows]
    return [row for row in cells[2:] if row]


def test_the_document_shows_the_command_table_of_the_code() -> None:
    """docs/decision-rights.md lists every command with exactly the policy's roles and rules."""
    assert _doc_table("Commands") == command_rows()


def test_the_document_shows_the_read_table_of_the_code() -> None:
    """docs/decision-rights.md lists every read with exactly the policy's readers."""
    assert _doc_table("Reads") == read_rows()


def test_the_document_shows_the_name_table_of_the_code() -> None:
    """docs/decision-rights.md lists who may set, erase and read names as the policy does."""
    assert _doc_table("Names") == name_rows()


def test_no_module_outside_the_policy_defines_a_role_set_or_compares_roles() -> None:
    """src/, api/ and projections/ hold no role sets or inline role rules outside policy/."""
    found = []
    for folder in ("src", "api", "projections"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "policy" in path.relative_to(ROOT).parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if ROLE_SET.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_role_set_search_finds_the_shapes_it_forbids() -> None:
    """The search above matches each shape of role rule it is meant to forbid."""
    for line in (
        "READERS = frozenset({Role.AUDITOR, Role.MANAGER})",
        "if role == Role.MANAGER:",
        "if role in (Role.MANAGER, Role.EXECUTIVE):",
        "if org.roles_of(a) & {Role.AUDITOR}:",
        "if Role.ADMIN in roles:",
    ):
        assert ROLE_SET.search(line), line
    assert not ROLE_SET.search("env = ctx.envelope(org.id, Role.OPERATOR)")
