"""The name directory over HTTP, on SQLite and PostgreSQL: set, read, history, erasure,
refusals, and the name beside the id in every read (ADR 0015)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.api.conftest import Api


def put(api: Api, subject: UUID, who: str, body: dict[str, Any], **params: Any) -> Any:
    return api.client.put(f"/v1/names/{subject}", json=body, params=params, headers=api.auth(who))


def get(api: Api, path: str, who: str, **params: Any) -> Any:
    return api.client.get(path, params=params, headers=api.auth(who))


def event_count(api: Api) -> int:
    return int(api.world.ledger.recorder.max_notification_id() or 0)


def test_an_operator_sets_a_name_and_anyone_who_sees_the_organization_reads_it(api: Api) -> None:
    """PUT by an operator answers the change; GET gives the name to an auditor of the
    organization the id belongs to, and the id stays as it was."""
    manager = api.world.manager.actor_id
    r = put(api, manager, "operator", {"kind": "actor", "name": "  Mia Manager "})
    assert r.status_code == 200, r.text
    change = r.json()
    assert (change["action"], change["name_from"], change["name_to"]) == (
        "set",
        None,
        "Mia Manager",
    )
    assert change["actor_id"] == str(api.world.operator.actor_id)
    r = get(api, f"/v1/names/{manager}", "auditor", organization_id=str(api.world.org_id))
    assert r.status_code == 200, r.text
    assert r.json()["subject_id"] == str(manager)
    assert (r.json()["kind"], r.json()["name"]) == ("actor", "Mia Manager")


def test_setting_a_name_appends_no_event_to_the_log(api: Api) -> None:
    """The directory lives beside the event log: the log is the same length after a name."""
    before = event_count(api)
    assert put(
        api, api.world.agency_id, "operator", {"kind": "agency", "name": "Ads & Co"}
    ).is_success
    assert event_count(api) == before


def test_an_admin_names_a_member_of_its_organization(api: Api) -> None:
    """An admin, naming its organization, sets the name of one of its members."""
    w = api.world
    r = put(
        api,
        w.manager.actor_id,
        "admin",
        {"kind": "actor", "name": "Mia"},
        organization_id=str(w.org_id),
    )
    assert r.status_code == 200, r.text
    assert r.json()["actor_id"] == str(w.admin.actor_id)


@pytest.mark.parametrize(
    ("who", "subject", "kind", "with_org", "status", "code"),
    [
        ("manager", "executive", "actor", True, 403, "role_required"),
        ("auditor", "manager", "actor", True, 403, "role_required"),
        ("admin", "consultant", "actor", True, 403, "role_required"),
        ("admin", "org", "organization", True, 403, "operator_required"),
        ("admin", "manager", "actor", False, 403, "operator_required"),
        ("outsider", "manager", "actor", True, 404, "not_found"),
    ],
)
def test_a_caller_without_the_right_is_refused_and_nothing_changes(
    api: Api, who: str, subject: str, kind: str, with_org: bool, status: int, code: str
) -> None:
    """A member without the admin role, an admin naming a non-member or an organization, or
    without naming its organization, is refused (403; an outsider 404), and the directory
    holds no entry and no history for the id afterwards."""
    w = api.world
    target = w.org_id if subject == "org" else getattr(w, subject).actor_id
    params = {"organization_id": str(w.org_id)} if with_org else {}
    r = put(api, target, who, {"kind": kind, "name": "Someone"}, **params)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert r.headers["content-type"] == "application/problem+json"
    store = api.app.state.names
    assert store.get(target) is None
    assert store.history(target) == []


@pytest.mark.parametrize(
    "name",
    ["", "   ", "a" * 201, "Mia\x00", "Mia\nManager", "Mia\tM", "Mi\x85a", "Mia\x7f"],
    ids=["empty", "blank", "too-long", "nul", "line-feed", "tab", "c1", "del"],
)
def test_a_name_that_breaks_the_text_rules_is_refused_with_422(api: Api, name: str) -> None:
    """Blank, over 200 characters, or holding a control character: 422, nothing stored."""
    subject = api.world.manager.actor_id
    r = put(api, subject, "operator", {"kind": "actor", "name": name})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert api.app.state.names.get(subject) is None


def test_an_unknown_kind_or_field_is_refused(api: Api) -> None:
    """kind is actor, organization or agency; no other field is taken."""
    subject = api.world.manager.actor_id
    assert put(api, subject, "operator", {"kind": "campaign", "name": "x"}).status_code == 422
    extra = {"kind": "actor", "name": "x", "set_by": str(uuid4())}
    assert put(api, subject, "operator", extra).status_code == 422


def test_an_id_keeps_its_kind_until_its_name_is_erased(api: Api) -> None:
    """An id named as an agency cannot be renamed as an actor: 409, the name unchanged."""
    agency = api.world.agency_id
    assert put(api, agency, "operator", {"kind": "agency", "name": "Ads & Co"}).is_success
    r = put(api, agency, "operator", {"kind": "actor", "name": "Ada"})
    assert (r.status_code, r.json()["code"]) == (409, "rule_violation")
    assert api.app.state.names.get(agency).name == "Ads & Co"


def test_the_history_says_who_set_which_name_when_and_from_what(api: Api) -> None:
    """Two names in turn: the history lists both changes in order, each with the name it
    replaced, who set it (with that actor's own name), when and through what."""
    w = api.world
    assert put(
        api, w.operator.actor_id, "operator", {"kind": "actor", "name": "Olga Operator"}
    ).is_success
    assert put(api, w.manager.actor_id, "operator", {"kind": "actor", "name": "Mia"}).is_success
    org = str(w.org_id)
    assert put(
        api, w.manager.actor_id, "admin", {"kind": "actor", "name": "Mia M."}, organization_id=org
    ).is_success
    r = get(api, f"/v1/names/{w.manager.actor_id}/history", "admin", organization_id=org)
    assert r.status_code == 200, r.text
    changes = r.json()["changes"]
    assert [(c["name_from"], c["name_to"]) for c in changes] == [(None, "Mia"), ("Mia", "Mia M.")]
    assert [c["actor_id"] for c in changes] == [str(w.operator.actor_id), str(w.admin.actor_id)]
    assert changes[0]["actor_name"] == "Olga Operator"
    assert {c["via"] for c in changes} == {"api"}
    assert changes[0]["sequence"] < changes[1]["sequence"]
    assert (
        get(
            api, f"/v1/names/{w.manager.actor_id}/history", "auditor", organization_id=org
        ).status_code
        == 403
    )


def test_an_erasure_removes_the_name_and_every_trace_of_it_in_the_history(api: Api) -> None:
    """After DELETE the name is gone (404), no history line holds it, and the erasure itself
    is recorded with who erased it and no name."""
    w = api.world
    subject = w.consultant.actor_id
    for name in ("Carl Consultant", "Carl C."):
        assert put(api, subject, "operator", {"kind": "actor", "name": name}).is_success
    r = api.client.delete(f"/v1/names/{subject}", headers=api.auth("operator"))
    assert r.status_code == 200, r.text
    assert (r.json()["action"], r.json()["name_from"], r.json()["name_to"]) == (
        "erased",
        None,
        None,
    )
    assert get(api, f"/v1/names/{subject}", "operator").status_code == 404
    history = get(api, f"/v1/names/{subject}/history", "operator")
    assert [c["action"] for c in history.json()["changes"]] == ["set", "set", "erased"]
    assert "Carl" not in history.text
    assert api.app.state.names.names_of([str(subject)]) == {}
    assert (
        api.client.delete(f"/v1/names/{subject}", headers=api.auth("operator")).status_code == 404
    )


def test_an_audit_trail_entry_shows_the_actors_name_beside_its_id(api: Api) -> None:
    """The manager's name stands beside its actor_id in the trail, the organization's beside
    organization_id; an id without a name has null."""
    w = api.world
    assert put(
        api, w.manager.actor_id, "operator", {"kind": "actor", "name": "Mia Manager"}
    ).is_success
    assert put(
        api, w.org_id, "operator", {"kind": "organization", "name": "Client A GmbH"}
    ).is_success
    rec = w.recommend()
    approved = w.approve(rec)
    r = get(
        api,
        f"/v1/organizations/{w.org_id}/audit-trail",
        "auditor",
        recommendation_id=str(rec),
        after=approved.position,
    )
    assert r.status_code == 200, r.text
    recommended, decided = r.json()["items"]
    assert (decided["actor_id"], decided["actor_name"]) == (str(w.manager.actor_id), "Mia Manager")
    assert decided["organization_name"] == "Client A GmbH"
    assert (recommended["actor_id"], recommended["actor_name"]) == (
        str(w.consultant.actor_id),
        None,
    )


def test_a_new_name_shows_at_the_next_read_while_the_id_is_unchanged(api: Api) -> None:
    """Renaming the manager changes the name in the register and the handling read at once;
    the ids they show are the same."""
    w = api.world
    rec = w.recommend()
    approved = w.approve(rec)
    path = f"/v1/recommendations/{rec}/handling"
    seen = []
    for name in ("Mia", "Mia Renamed"):
        assert put(api, w.manager.actor_id, "operator", {"kind": "actor", "name": name}).is_success
        r = get(api, path, "auditor", after=approved.position)
        assert r.status_code == 200, r.text
        entry = r.json()["recommendation"]
        seen.append(
            (entry["decided_by"], entry["decided_by_name"], r.json()["decisions"][0]["actor_name"])
        )
    manager = str(w.manager.actor_id)
    assert seen == [(manager, "Mia", "Mia"), (manager, "Mia Renamed", "Mia Renamed")]


def test_the_aggregate_reads_show_names_beside_ids(api: Api) -> None:
    """A recommendation read names its author, the event history names each event's actor,
    and the organization read names its members and its engagement's consultants."""
    w = api.world
    assert put(api, w.consultant.actor_id, "operator", {"kind": "actor", "name": "Carl"}).is_success
    assert put(api, w.agency_id, "operator", {"kind": "agency", "name": "Ads & Co"}).is_success
    rec = w.recommend()
    r = get(api, f"/v1/recommendations/{rec}", "manager")
    assert (r.json()["author_id"], r.json()["author_name"]) == (str(w.consultant.actor_id), "Carl")
    r = get(api, f"/v1/aggregates/{rec}/events", "auditor")
    assert r.status_code == 200, r.text
    assert r.json()["events"][0]["envelope"]["actor_name"] == "Carl"
    assert "actor_name" not in r.json()["events"][0]["payload"]
    r = get(api, f"/v1/organizations/{w.org_id}", "admin")
    engagement = r.json()["engagements"][0]
    assert (engagement["agency_name"], engagement["consultant_names"]) == ("Ads & Co", ["Carl"])


def test_a_name_is_read_only_by_those_who_see_a_record_naming_the_id(api: Api) -> None:
    """An outsider, or a member asking without naming the organization, learns nothing
    (404); the id itself reads its own name."""
    w = api.world
    assert put(api, w.manager.actor_id, "operator", {"kind": "actor", "name": "Mia"}).is_success
    path = f"/v1/names/{w.manager.actor_id}"
    assert get(api, path, "outsider", organization_id=str(w.org_id)).status_code == 404
    assert get(api, path, "auditor").status_code == 404
    assert get(api, path, "manager").json()["name"] == "Mia"
