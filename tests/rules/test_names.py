"""The name directory's rules with no I/O: what a name may hold, who may set, erase and
read one (``ledger.policy.names``), and how names are put beside ids
(``projections.names``)."""

from __future__ import annotations

from collections.abc import Collection
from uuid import uuid4

import pytest
from pydantic import ValidationError

from ledger.domain.organization import Organization
from ledger.errors import NotFound, OperatorRequired, RoleRequired
from ledger.identity import Actor
from ledger.names import MAX_NAME, NameKind, SetName
from ledger.policy.names import may_manage_name, may_read_name, named_in
from ledger.values import MemberRole
from projections.names import named
from tests.rules.conftest import Org


def organization(org: Org) -> Organization:
    found: Organization = org.rules.source.get(org.org_id)
    return found


def set_name(name: str, kind: str = "actor") -> SetName:
    return SetName.model_validate({"subject_id": uuid4(), "kind": kind, "name": name})


def test_a_name_is_trimmed_and_kept_as_given() -> None:
    """Surrounding whitespace goes; inner spaces, accents and punctuation stay."""
    assert set_name("  Zoë O'Brien-Łukasz ").name == "Zoë O'Brien-Łukasz"


@pytest.mark.parametrize(
    "bad", ["", " \t ", "x" * (MAX_NAME + 1), "a\x00b", "a\nb", "a\tb", "a\x9bb"]
)
def test_a_blank_overlong_or_control_holding_name_is_refused(bad: str) -> None:
    """Blank, over MAX_NAME characters, or with any C0/C1 control (tab and line feed too)."""
    with pytest.raises(ValidationError):
        set_name(bad)


def test_a_name_of_exactly_the_maximum_length_is_taken() -> None:
    """MAX_NAME characters is the longest name; it is not cut."""
    assert len(set_name("x" * MAX_NAME).name) == MAX_NAME


def test_a_kind_outside_actor_organization_and_agency_is_refused() -> None:
    """A campaign is named by its own events, not by the directory."""
    with pytest.raises(ValidationError):
        set_name("Spring sale", kind="campaign")


def test_an_operator_names_anyone_without_an_organization(org: Org) -> None:
    """The platform names actors, organizations and agencies, anywhere."""
    for kind in NameKind:
        may_manage_name(org.operator, uuid4(), kind, None)


def test_an_admin_names_its_organizations_members_only_as_actors(org: Org) -> None:
    """Given an admin of the organization, it names a member; an organization or an id that
    is no member is refused, and so is any name without the organization."""
    admin = Actor(uuid4())
    org.grant(admin, MemberRole.ADMIN)
    o = organization(org)
    may_manage_name(admin, org.manager.actor_id, NameKind.ACTOR, o)
    with pytest.raises(OperatorRequired):
        may_manage_name(admin, org.org_id, NameKind.ORGANIZATION, o)
    with pytest.raises(RoleRequired):
        may_manage_name(admin, org.consultant.actor_id, NameKind.ACTOR, o)
    with pytest.raises(OperatorRequired):
        may_manage_name(admin, org.manager.actor_id, NameKind.ACTOR, None)


def test_a_member_without_the_admin_role_may_not_name_and_an_outsider_learns_nothing(
    org: Org,
) -> None:
    """A manager is refused for its role; an actor foreign to the organization: not found."""
    o = organization(org)
    with pytest.raises(RoleRequired):
        may_manage_name(org.manager, org.executive.actor_id, NameKind.ACTOR, o)
    with pytest.raises(NotFound):
        may_manage_name(Actor(uuid4()), org.executive.actor_id, NameKind.ACTOR, o)


def test_a_name_is_read_by_whoever_sees_an_organization_naming_the_id(org: Org) -> None:
    """The organization, its members and its engagements' consultants are named in it; an
    auditor reads their names there, an outsider and an unrelated id are not found."""
    o = organization(org)
    assert {org.org_id, org.manager.actor_id, org.consultant.actor_id} <= named_in(o)
    may_read_name(org.auditor, org.consultant.actor_id, o)
    may_read_name(org.consultant, org.consultant.actor_id, None)
    with pytest.raises(NotFound):
        may_read_name(org.auditor, uuid4(), o)
    with pytest.raises(NotFound):
        may_read_name(Actor(uuid4()), org.manager.actor_id, o)


def test_names_stand_beside_each_named_id_looked_up_once() -> None:
    """actor_id, decided_by and consultant_ids get names (None when unknown), other ids and
    a stored payload do not, and the lookup runs once for every id of the body."""
    a, b, c = (str(uuid4()) for _ in range(3))
    calls: list[set[str]] = []

    def lookup(ids: Collection[str]) -> dict[str, str]:
        calls.append(set(ids))
        return {a: "Ada", b: "Bo"}

    body = {
        "items": [{"actor_id": a, "campaign_id": c, "decided_by": None}],
        "consultant_ids": [b, c],
        "payload": {"actor_id": a},
    }
    assert named(body, lookup) == {
        "items": [
            {
                "actor_id": a,
                "actor_name": "Ada",
                "campaign_id": c,
                "decided_by": None,
                "decided_by_name": None,
            }
        ],
        "consultant_ids": [b, c],
        "consultant_names": ["Bo", None],
        "payload": {"actor_id": a},
    }
    assert calls == [{a, b, c}]
