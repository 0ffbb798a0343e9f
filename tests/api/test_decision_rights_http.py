"""The decision-rights table, proven over HTTP (the ledger half is
tests/ledger/test_decision_rights.py).

Every command of ``ledger.policy.table.COMMANDS`` is posted, with the body its scenario
(tests/ledger/scenarios.py) builds, to the route the API registered for it: each role the
table allows gets 2xx, each it leaves out 403 (404 for a stranger to the target), and a
refusal appends nothing. ``system`` is left out here: no credential yields it (the expiry
sweep acts as it in-process, tests/projections/test_expiry_sweep.py).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute

from api.http.routes.commands import router as commands_router
from ledger import commands as c
from ledger.identity import Actor
from ledger.policy.table import COMMANDS
from tests.api.conftest import Api
from tests.ledger.checks import store_state
from tests.ledger.scenarios import ROLES, SCENARIOS
from tests.support import Clock, World

HTTP_ROLES = [role for role in ROLES if role != "system"]
CREATIONS = (c.CreateOrganization, c.RegisterAgency)
ROSTER = (c.AddAgencyMember, c.RemoveAgencyMember)


def _stranger(role: str, command: type[c.Command]) -> bool:
    """Who is told the target does not exist (404): the outsider; for a client's commands,
    the agency admin (its agency is not the world's engagement's); for an agency's roster,
    everyone the agency does not list (the world's consultant is on it)."""
    if command in CREATIONS:
        return False
    if command in ROSTER:
        return role not in ("consultant", "agency_admin", "operator")
    return role in ("outsider", "agency_admin")


def _name(value: object) -> str:
    return getattr(value, "__name__", str(value))


def _route(command: type[c.Command]) -> str:
    """The path template of the POST route the API registered for ``command``."""
    for route in commands_router.routes:
        # api.http.commanding names each command's endpoint after the command
        if isinstance(route, APIRoute) and route.endpoint.__name__ == command.__name__:
            return route.path
    raise AssertionError(f"no route for {command.__name__}")


def _request(api: Api, world: World, command: type[c.Command]) -> tuple[str, dict[str, Any]]:
    """The command's scenario in ``world`` as a path and a JSON body."""
    if command is c.ExpireRecommendation:  # the app's clock is real: expire in a second
        issued: c.Command = c.ExpireRecommendation(recommendation_id=_lapsing(world))
    else:
        issued = SCENARIOS[command](world)
    template = _route(command)
    fields = issued.model_dump(mode="json", exclude={"expected_version"})
    in_path = {name for name in fields if "{" + name + "}" in template}
    body = {k: v for k, v in fields.items() if k not in in_path}
    return template.format(**{k: fields[k] for k in in_path}), body


def _lapsing(world: World) -> Any:
    expires_at = datetime.now(UTC) + timedelta(seconds=1)
    world.clock.now = expires_at - timedelta(days=1)
    rec_id = world.recommend(days=1)
    world.clock.now = datetime.now(UTC)
    return rec_id


def _callers(api: Api, world: World, tag: str) -> dict[str, str]:
    """An API key per role of ``world``; the name of each in ``api.tokens``."""
    names = {}
    for role in HTTP_ROLES:
        actor: Actor = getattr(world, role)
        names[role] = f"{tag}-{role}"
        api.key_for(actor, names[role])
    return names


@pytest.mark.parametrize("command", list(COMMANDS), ids=_name)
def test_each_role_the_table_allows_gets_2xx_and_every_other_caller_is_refused_over_http(
    api: Api, command: type[c.Command]
) -> None:
    """Each allowed role, in an organization of its own, gets 2xx for the command's request;
    in the shared one every other caller gets 403 (an outsider 404) and nothing is appended."""
    right = COMMANDS[command]
    allowed = [role for role in HTTP_ROLES if role in right.roles]
    prepared = []
    for role in allowed:
        world = World(api.world.ledger, Clock(datetime.now(UTC))).setup()
        prepared.append(
            (role, _callers(api, world, f"{role}-org")[role], *_request(api, world, command))
        )
    if command is c.ExpireRecommendation:
        time.sleep(1.2)
    for role, who, path, body in prepared:
        r = api.post(path, who, body)
        assert 200 <= r.status_code < 300, f"{command.__name__} by {role}: {r.text}"
    world = api.world
    path, body = _request(api, world, command)
    if command is c.ExpireRecommendation:
        time.sleep(1.2)
    for role in HTTP_ROLES:
        if role in right.roles:
            continue
        before = store_state(world)
        r = api.post(path, role, body)
        want = 404 if _stranger(role, command) else 403
        assert r.status_code == want, f"{command.__name__} by {role}: {r.text}"
        assert store_state(world) == before, f"{command.__name__} by {role} changed the store"


def test_an_admin_is_refused_the_audit_trail(api: Api) -> None:
    """The admin grants roles but reads no audit trail: 403 role_required."""
    r = api.client.get(
        f"/v1/organizations/{api.world.org_id}/audit-trail", headers=api.auth("admin")
    )
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "role_required"


@pytest.mark.parametrize("role", [r for r in HTTP_ROLES if r != "operator"])
def test_only_an_operator_may_sign_a_checkpoint(api: Api, role: str) -> None:
    """POST /v1/integrity/checkpoints is refused (403) to every caller but an operator, and
    appends nothing."""
    before = store_state(api.world)
    r = api.post("/v1/integrity/checkpoints", role)
    assert r.status_code == 403, r.text
    assert store_state(api.world) == before
