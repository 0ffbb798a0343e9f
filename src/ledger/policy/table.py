"""The decision-rights table: which roles may issue each command, and who reads what.

This is the one place a role set is written down. ``docs/decision-rights.md`` shows the same
table in words, and ``tests/ledger/test_decision_rights.py`` fails when the two disagree.

Roles belong to parties: the client's members (manager, executive, auditor, admin and its API
client, ``integration``), the agency's people (its ``agency_admin``s, who keep its roster and
read its work across clients, and its consultants, acting only through an engagement; ADR
0016), and the platform (its operators, and the ``system`` actor that records expiries by itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ledger import commands as c
from ledger.values import Party, Role

M, X, AU, AD = Role.MANAGER, Role.EXECUTIVE, Role.AUDITOR, Role.ADMIN
API, C, OP, S = Role.INTEGRATION, Role.CONSULTANT, Role.OPERATOR, Role.SYSTEM
AA = Role.AGENCY_ADMIN

# When an actor holds several roles that all allow a command, it acts in the strongest.
PREFERENCE = (X, M, AD, AU, API)
PARTY_OF_ROLE = {C: Party.AGENCY, AA: Party.AGENCY, OP: Party.PLATFORM, S: Party.PLATFORM}


def party_of(role: Role) -> Party:
    return PARTY_OF_ROLE.get(role, Party.CLIENT)


@dataclass(frozen=True)
class Right:
    """Who may issue a command, and the special rules (functions of ``policy.rights``)
    checked on top of the role."""

    action: str
    roles: frozenset[Role]
    rules: tuple[str, ...] = ()


def _right(action: str, *roles: Role, rules: tuple[str, ...] = ()) -> Right:
    return Right(action, frozenset(roles), rules)


SOD, AUTHOR, EXEC = "segregation_of_duties", "author_only", "executive_needed"
SCOPE = "engagement_scope"

COMMANDS: dict[type[c.Command], Right] = {
    c.CreateOrganization: _right("create an organization", OP),
    c.ChangeOrganizationSettings: _right("change settings", AD, OP),
    c.GrantMembership: _right("grant a role", AD, OP),
    c.RevokeMembership: _right("revoke a role", AD, OP),
    c.StartEngagement: _right("start an engagement", AD, X, M, OP),
    c.AmendEngagement: _right("amend an engagement", AD, X, M, OP),
    c.EndEngagement: _right("end an engagement", AD, X, M, OP),
    c.RegisterAgency: _right("register an agency", OP),
    c.AddAgencyMember: _right("add to an agency's roster", AA, OP),
    c.RemoveAgencyMember: _right("remove from an agency's roster", AA, OP),
    c.PlanCampaign: _right("plan a campaign", M),
    c.LaunchCampaign: _right("launch", M, X, rules=(EXEC,)),
    c.PauseCampaign: _right("pause", M, X),
    c.ResumeCampaign: _right("resume", M, X),
    c.CompleteCampaign: _right("complete", M, X),
    c.CancelCampaign: _right("cancel", M, X),
    c.AdjustBudget: _right("adjust budget", M, X, rules=(EXEC,)),
    c.SetKpiTargets: _right("set KPI targets", M, X),
    c.ChangeChannels: _right("change channels", M, X),
    c.RecordPerformance: _right("record performance", M, X, API),
    c.Recommend: _right("recommend", C, rules=(SCOPE,)),
    c.AmendRecommendation: _right("amend a recommendation", C, rules=(AUTHOR, SCOPE)),
    c.WithdrawRecommendation: _right("withdraw a recommendation", C, rules=(AUTHOR,)),
    c.Approve: _right("approve", M, X, rules=(SOD, EXEC)),
    c.ApproveWithChanges: _right("approve with changes", M, X, rules=(SOD, EXEC)),
    c.Reject: _right("reject", M, X, rules=(SOD, EXEC)),
    c.Escalate: _right("escalate", M, rules=(SOD,)),
    c.ExpireRecommendation: _right("expire a recommendation", M, X, AD, OP, S),
    c.MarkImplemented: _right("mark implemented", M, X),
}


class Read(StrEnum):
    """What can be read; each read names the roles that read all of an organization's."""

    AUDIT_TRAIL = "audit trail, its exports and event history"
    CAMPAIGNS = "campaigns and campaign states"
    RECOMMENDATIONS = "recommendations, register, handling and exceptions"
    REPORTS = "handling reports"
    VERIFY = "verification and audit bundles"
    MEMBERSHIPS = "memberships and engagements"
    SIGN_CHECKPOINT = "signing a checkpoint"
    ROSTER = "an agency's roster"
    AGENCY = "an agency's recommendations and reports across its clients"


# Reads a consultant makes through its engagements (only what they cover), and the rest.
SCOPED_READS = frozenset({Read.AUDIT_TRAIL, Read.CAMPAIGNS, Read.RECOMMENDATIONS, Read.REPORTS})
# Reads an agency admin makes of a client, through the engagements naming its agency: the
# recommendations, their events and receipts, and the reports on them; no campaign.
AGENCY_READS = frozenset({Read.AUDIT_TRAIL, Read.RECOMMENDATIONS, Read.REPORTS})
READS: dict[Read, frozenset[Role]] = {
    Read.AUDIT_TRAIL: frozenset({AU, M, X}),
    Read.CAMPAIGNS: frozenset({AU, M, X, API}),
    Read.RECOMMENDATIONS: frozenset({AU, M, X}),
    Read.REPORTS: frozenset({AU, M, X}),
    Read.VERIFY: frozenset({AU, M, X}),
    Read.MEMBERSHIPS: frozenset({AU, M, X, AD}),
    Read.SIGN_CHECKPOINT: frozenset({OP}),
    Read.ROSTER: frozenset({AA, OP}),
    Read.AGENCY: frozenset({AA}),
}


class Naming(StrEnum):
    """What can be done with the name directory (``policy.names`` holds the rules)."""

    MEMBERS = "set or erase a member's name, read its history"
    ANYONE = "set or erase any name (organizations and agencies too), read its history"
    READ = "read a name"


# Reading a name needs no role: whoever reads a record naming an id reads its name beside it
# (``policy.names.may_read_name``); the set is empty, the rule is the special one.
NAMES: dict[Naming, frozenset[Role]] = {
    Naming.MEMBERS: frozenset({AD, OP}),
    Naming.ANYONE: frozenset({OP}),
    Naming.READ: frozenset(),
}


ROLE_ORDER = (M, X, AU, AD, API, C, AA, OP, S)


def who(roles: frozenset[Role]) -> str:
    return ", ".join(r.value for r in ROLE_ORDER if r in roles)


def command_rows() -> list[tuple[str, str, str]]:
    """The command table as ``docs/decision-rights.md`` shows it: command, who, rules."""
    return [
        (f"`{cls.__name__}`", who(right.roles), ", ".join(f"`{r}`" for r in right.rules) or "—")
        for cls, right in COMMANDS.items()
    ]


def read_rows() -> list[tuple[str, str, str, str]]:
    """The read table: what, who reads all of it, whether a consultant reads its part, and
    whether an agency admin reads its agency's part of a client."""
    return [
        (
            read.value,
            who(roles),
            "its engagements' part" if read in SCOPED_READS else "no",
            "its agency's engagements' part" if read in AGENCY_READS else "no",
        )
        for read, roles in READS.items()
    ]


def name_rows() -> list[tuple[str, str]]:
    """The name directory's table: what, who (an empty set: the read rule of
    ``policy.names``, no role)."""
    return [
        (what.value, who(roles) or "whoever reads a record naming the id")
        for what, roles in NAMES.items()
    ]
