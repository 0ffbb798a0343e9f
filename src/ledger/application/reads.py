"""Reads straight from the event store, under the read rules of ``ledger.policy.reads``.

What an actor may not read answers NotFound, so nothing of another tenant (or of another
engagement's work) leaks. States can be read as of any past moment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import StoredEvent

from ledger.application.results import event_id
from ledger.application.service import Ledger
from ledger.domain.agency import Agency
from ledger.domain.base import LedgerAggregate
from ledger.domain.campaign import Campaign
from ledger.domain.organization import Organization
from ledger.domain.recommendation import Recommendation
from ledger.errors import NotFound
from ledger.identity import Actor
from ledger.jsonready import instant, jsonable
from ledger.persistence.positions import history_of
from ledger.policy.reads import (
    agency_read,
    leads,
    may_read,
    read_scope,
    sees_agency,
    sees_campaign,
    sees_organization,
    sees_recommendation,
)
from ledger.policy.table import Read

A = TypeVar("A", bound=LedgerAggregate)
ENVELOPE = (
    "actor_id",
    "role",
    "party",
    "organization_id",
    "engagement_id",
    "correlation_id",
    "causation_id",
)
BASE = ("originator_id", "originator_version", "timestamp", "originator_topic")


class Reader:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def _get(self, cls: type[A], ident: UUID, what: str, version: int | None = None) -> A:
        try:
            agg: object = self.ledger.repository.get(ident, version=version)
        except AggregateNotFoundError:
            raise NotFound(f"{what} not found", **{f"{what}_id": ident}) from None
        if not isinstance(agg, cls):
            raise NotFound(f"{what} not found", **{f"{what}_id": ident})
        return agg

    def organization(self, actor: Actor, org_id: UUID) -> Organization:
        org = self._get(Organization, org_id, "organization")
        if not sees_organization(org, actor, self.led(actor, org)):
            raise NotFound("organization not found", organization_id=org_id)
        return org

    def agency(self, actor: Actor, agency_id: UUID) -> Agency:
        agency = self._get(Agency, agency_id, "agency")
        if not sees_agency(agency, actor):
            raise NotFound("agency not found", agency_id=agency_id)
        return agency

    def agency_for(self, actor: Actor, agency_id: UUID, read: Read) -> Agency:
        """The agency, for a reader of its roster or of its work (``policy.reads``)."""
        agency = self.agency(actor, agency_id)
        agency_read(agency, actor, read)
        return agency

    def led(self, actor: Actor, org: Organization) -> frozenset[UUID]:
        """The agencies engaged by ``org`` that the actor leads (ADR 0016)."""
        found = set()
        for agency_id in {e.agency_id for e in org.state.engagements.values()}:
            try:
                agency = self._get(Agency, agency_id, "agency")
            except NotFound:
                continue  # an engagement may name an agency never registered
            if leads(agency, actor):
                found.add(agency_id)
        return frozenset(found)

    def can_read_campaign(self, actor: Actor, org: Organization, campaign: Campaign) -> bool:
        return sees_campaign(org, actor, campaign.id, campaign.state.channels)

    def can_read_recommendation(self, actor: Actor, org: Organization, rec: Recommendation) -> bool:
        return sees_recommendation(org, actor, rec.state.engagement_id, self.led(actor, org))

    def _version_at(self, ident: UUID, as_of: datetime | None) -> int | None:
        if as_of is None:
            return None
        version = None
        for event in self.ledger.events.get(ident):
            if cast(LedgerAggregate.Event, event).timestamp > as_of:
                break
            version = event.originator_version
        if version is None:
            raise NotFound(
                "it did not exist at that time", aggregate_id=ident, as_of=instant(as_of)
            )
        return version

    def campaign(self, actor: Actor, campaign_id: UUID, as_of: datetime | None = None) -> Campaign:
        current = self._get(Campaign, campaign_id, "campaign")
        org = self._get(Organization, current.state.organization_id, "organization")
        if not self.can_read_campaign(actor, org, current):
            raise NotFound("campaign not found", campaign_id=campaign_id)
        version = self._version_at(campaign_id, as_of)
        return current if version is None else self._get(Campaign, campaign_id, "campaign", version)

    def recommendation(
        self, actor: Actor, rec_id: UUID, as_of: datetime | None = None
    ) -> Recommendation:
        current = self._get(Recommendation, rec_id, "recommendation")
        org = self._get(Organization, current.state.organization_id, "organization")
        if not self.can_read_recommendation(actor, org, current):
            raise NotFound("recommendation not found", recommendation_id=rec_id)
        version = self._version_at(rec_id, as_of)
        return (
            current
            if version is None
            else self._get(Recommendation, rec_id, "recommendation", version)
        )

    def history(self, actor: Actor, aggregate_id: UUID) -> list[dict[str, Any]]:
        """Every event of a visible aggregate with its full envelope and log position."""
        try:
            agg: object = self.ledger.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound("aggregate not found", aggregate_id=aggregate_id) from None
        only: frozenset[UUID] | None = None  # the engagements whose events it may read
        try:
            if isinstance(agg, Campaign):
                self.campaign(actor, aggregate_id)
            elif isinstance(agg, Recommendation):
                self.recommendation(actor, aggregate_id)
            elif isinstance(agg, Agency):
                self.agency_for(actor, aggregate_id, Read.ROSTER)
            elif isinstance(agg, Organization) and may_read(agg, actor, Read.AUDIT_TRAIL):
                only = read_scope(agg, actor, Read.AUDIT_TRAIL).engagement_ids
            else:
                raise NotFound("aggregate not found", aggregate_id=aggregate_id)
        except NotFound:
            # The same answer whatever the id names, so nothing about it leaks.
            raise NotFound("aggregate not found", aggregate_id=aggregate_id) from None
        events = [self.describe(n.id, n) for n in history_of(self.ledger.recorder, aggregate_id)]
        if only is None:
            return events
        # A scoped reader (a consultant) reads its engagements' part of an organization's
        # history, as in the audit trail: not its memberships, settings or other engagements.
        seen = {str(e) for e in only}
        return [e for e in events if e["envelope"].get("engagement_id") in seen]

    def history_check(self, actor: Actor, aggregate_id: UUID, position: int) -> None:
        """NotFound unless the actor may read the aggregate that recorded ``position``."""
        try:
            self.history(actor, aggregate_id)
        except NotFound:
            raise NotFound("event not found", position=position) from None

    def describe(self, position: int, stored: StoredEvent) -> dict[str, Any]:
        event = cast(LedgerAggregate.Event, self.ledger.mapper.to_domain_event(stored))
        data = vars(event)
        return {
            "event_id": str(event_id(event.originator_id, event.originator_version)),
            "position": position,
            "aggregate_id": str(event.originator_id),
            "version": event.originator_version,
            "type": type(event).__qualname__,
            "topic": stored.topic,
            "recorded_at": instant(event.timestamp),
            "envelope": {k: jsonable(data.get(k)) for k in ENVELOPE},
            "payload": {
                k: jsonable(v) for k, v in data.items() if k not in ENVELOPE and k not in BASE
            },
        }
