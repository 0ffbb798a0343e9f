"""Agencies and their rosters (ADR 0016)."""

from __future__ import annotations

from uuid import uuid4

from ledger import commands as c
from ledger.domain.agency import Agency
from ledger.errors import InvalidTransition
from ledger.handlers.context import Context, Outcome
from ledger.policy.rights import may_register_agency, require_agency_right
from ledger.values import Role


def register_agency(ctx: Context, cmd: c.RegisterAgency) -> Outcome:
    may_register_agency(ctx.actor)
    agency_id = uuid4()
    agency = Agency._create(
        Agency.Registered,
        id=agency_id,
        name=cmd.name,
        **ctx.envelope(agency_id, Role.OPERATOR).fields(),
    )
    return Outcome(agency, created=True)


def add_member(ctx: Context, cmd: c.AddAgencyMember) -> Outcome:
    agency = ctx.load(Agency, cmd.agency_id, "agency")
    role = require_agency_right(agency, ctx.actor, type(cmd))
    if cmd.member_role.value in agency.roles_of(cmd.member_id):
        raise InvalidTransition(
            "the agency already lists this member in this role",
            agency_id=agency.id,
            member_id=cmd.member_id,
            member_role=cmd.member_role.value,
        )
    agency.record(
        Agency.MemberAdded,
        ctx.envelope(agency.id, role),
        member_id=cmd.member_id,
        member_role=cmd.member_role.value,
    )
    return Outcome(agency)


def remove_member(ctx: Context, cmd: c.RemoveAgencyMember) -> Outcome:
    agency = ctx.load(Agency, cmd.agency_id, "agency")
    role = require_agency_right(agency, ctx.actor, type(cmd))
    if cmd.member_role.value not in agency.roles_of(cmd.member_id):
        raise InvalidTransition(
            "the agency does not list this member in this role",
            agency_id=agency.id,
            member_id=cmd.member_id,
            member_role=cmd.member_role.value,
        )
    agency.record(
        Agency.MemberRemoved,
        ctx.envelope(agency.id, role),
        member_id=cmd.member_id,
        member_role=cmd.member_role.value,
        reason=cmd.reason,
    )
    return Outcome(agency)
