"""Organizations, memberships and engagements."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from ledger import commands as c
from ledger.domain.organization import EngagementTerms, Organization
from ledger.errors import InvalidCommand, InvalidTransition, NotFound
from ledger.handlers.context import Context, Outcome
from ledger.policy.rights import (
    may_create_organization,
    named_from_roster,
    require_right,
    roster,
)
from ledger.values import Role, fit_minor_unit


def create_organization(ctx: Context, cmd: c.CreateOrganization) -> Outcome:
    may_create_organization(ctx.actor)
    org_id = uuid4()
    env = ctx.envelope(org_id, Role.OPERATOR)
    org = Organization._create(
        Organization.Created,
        id=org_id,
        name=cmd.name,
        default_currency=cmd.default_currency,
        approval_limit=fit_minor_unit(cmd.approval_limit, cmd.default_currency, "approval_limit"),
        **env.fields(),
    )
    return Outcome(org, created=True)


def change_settings(ctx: Context, cmd: c.ChangeOrganizationSettings) -> Outcome:
    org = ctx.organization(cmd.organization_id)
    role = require_right(org, ctx.actor, type(cmd), "organization", org.id)
    s = org.state
    before = {
        "name": s.name,
        "default_currency": s.default_currency,
        "approval_limit": str(s.approval_limit),
        "limit_period": s.limit_period,
        "time_zone": s.time_zone,
    }
    currency = cmd.default_currency or s.default_currency
    limit = cmd.approval_limit if cmd.approval_limit is not None else s.approval_limit
    after = {
        "name": cmd.name if cmd.name is not None else s.name,
        "default_currency": currency,
        "approval_limit": str(fit_minor_unit(limit, currency, "approval_limit")),
        "limit_period": cmd.limit_period.value if cmd.limit_period else s.limit_period,
        "time_zone": cmd.time_zone or s.time_zone,
    }
    if after == before:
        raise InvalidCommand("the settings given are the settings in force", organization_id=org.id)
    org.record(
        Organization.SettingsChanged,
        ctx.envelope(org.id, role),
        settings_from=before,
        settings_to=after,
    )
    return Outcome(org)


def grant_membership(ctx: Context, cmd: c.GrantMembership) -> Outcome:
    org = ctx.organization(cmd.organization_id)
    role = require_right(org, ctx.actor, type(cmd), "organization", org.id)
    if cmd.member_role.value in org.roles_of(cmd.member_id):
        raise InvalidTransition(
            "the actor already holds this role",
            member_id=cmd.member_id,
            member_role=cmd.member_role.value,
        )
    org.record(
        Organization.MembershipGranted,
        ctx.envelope(org.id, role),
        member_id=cmd.member_id,
        member_role=cmd.member_role.value,
    )
    return Outcome(org)


def revoke_membership(ctx: Context, cmd: c.RevokeMembership) -> Outcome:
    org = ctx.organization(cmd.organization_id)
    role = require_right(org, ctx.actor, type(cmd), "organization", org.id)
    if cmd.member_role.value not in org.roles_of(cmd.member_id):
        raise InvalidTransition(
            "the actor does not hold this role",
            member_id=cmd.member_id,
            member_role=cmd.member_role.value,
        )
    org.record(
        Organization.MembershipRevoked,
        ctx.envelope(org.id, role),
        member_id=cmd.member_id,
        member_role=cmd.member_role.value,
        reason=cmd.reason,
    )
    return Outcome(org)


def start_engagement(ctx: Context, cmd: c.StartEngagement) -> Outcome:
    org = ctx.organization(cmd.organization_id)
    role = require_right(org, ctx.actor, type(cmd), "organization", org.id)
    named_from_roster(roster(ctx.agency(cmd.agency_id)), cmd.consultant_ids, cmd.agency_id)
    engagement_id = uuid4()
    org.record(
        Organization.EngagementStarted,
        ctx.envelope(org.id, role, engagement_id),
        agency_id=cmd.agency_id,
        consultant_ids=list(dict.fromkeys(cmd.consultant_ids)),
        channels=sorted({ch.value for ch in cmd.channels}),
        campaign_ids=None if cmd.campaign_ids is None else list(dict.fromkeys(cmd.campaign_ids)),
        starts_at=c.utc(cmd.starts_at),
        ends_at=c.utc(cmd.ends_at),
    )
    return Outcome(org, created=True, resource_id=engagement_id)


def _terms(
    ctx: Context, org: Organization, cmd: c.AmendEngagement | c.EndEngagement
) -> EngagementTerms:
    terms = org.state.engagements.get(cmd.engagement_id)
    if terms is None:
        raise NotFound("engagement not found", engagement_id=cmd.engagement_id)
    if terms.ended_at is not None:
        raise InvalidTransition("the engagement has already ended", engagement_id=cmd.engagement_id)
    return terms


def _terms_dict(t: EngagementTerms) -> dict[str, Any]:
    return {
        "consultant_ids": sorted(str(x) for x in t.consultant_ids),
        "channels": sorted(t.channels),
        "campaign_ids": None if t.campaign_ids is None else sorted(str(x) for x in t.campaign_ids),
        "ends_at": t.ends_at.isoformat(),
    }


def amend_engagement(ctx: Context, cmd: c.AmendEngagement) -> Outcome:
    org = ctx.organization(cmd.organization_id)
    role = require_right(org, ctx.actor, type(cmd), "organization", org.id)
    terms = _terms(ctx, org, cmd)
    before = _terms_dict(terms)
    after = dict(before)
    if cmd.consultant_ids is not None:
        added = set(cmd.consultant_ids) - terms.consultant_ids
        named_from_roster(roster(ctx.agency(terms.agency_id)), added, terms.agency_id)
        after["consultant_ids"] = sorted({str(x) for x in cmd.consultant_ids})
    if cmd.channels is not None:
        after["channels"] = sorted({ch.value for ch in cmd.channels})
    if cmd.campaign_ids is not None:
        after["campaign_ids"] = sorted({str(x) for x in cmd.campaign_ids})
    if cmd.ends_at is not None:
        if c.utc(cmd.ends_at) <= terms.starts_at:
            raise InvalidCommand(
                "ends_at must be after the engagement's start", engagement_id=cmd.engagement_id
            )
        after["ends_at"] = c.utc(cmd.ends_at).isoformat()
    if after == before:
        raise InvalidCommand("the amendment changes nothing", engagement_id=cmd.engagement_id)
    org.record(
        Organization.EngagementAmended,
        ctx.envelope(org.id, role, cmd.engagement_id),
        terms_from=before,
        terms_to=after,
    )
    return Outcome(org)


def end_engagement(ctx: Context, cmd: c.EndEngagement) -> Outcome:
    org = ctx.organization(cmd.organization_id)
    role = require_right(org, ctx.actor, type(cmd), "organization", org.id)
    _terms(ctx, org, cmd)
    org.record(
        Organization.EngagementEnded,
        ctx.envelope(org.id, role, cmd.engagement_id),
        reason=cmd.reason,
    )
    return Outcome(org)
