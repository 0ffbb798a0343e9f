"""What the virtual users of the HTTP scenarios do.

``MixSession``: consultants and managers working through their own campaigns, one command
per step, in a cycle of three: a consultant recommends a budget change (201), the manager
approves it (200), the manager adjusts the budget citing it (200). Every request carries an
API key and a fresh Idempotency-Key. Each session owns a disjoint set of campaigns, so the
commands do not contend with each other except in the store.

``HotSession``: every session on one campaign: read the campaign (its ETag and budget), then
post a small raise of that budget with ``If-Match``. Losing the race is a 409
``version_conflict``, by design.

``BaselineSession``: the bare-stack request, the AdjustBudget body posted to the baseline app.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bench.load import Client

RECOMMEND, APPROVE, ADJUST = "recommend", "approve", "adjust"
STEP_AHEAD = {RECOMMEND: APPROVE, APPROVE: ADJUST, ADJUST: RECOMMEND}


@dataclass
class Target:
    """A campaign a session works on, with the keys of who may act on it."""

    campaign_id: str
    org_id: str
    engagement_id: str
    consultant_key: str
    manager_key: str
    budget: dict[str, str]  # amount, currency, period as in force


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class MixSession:
    targets: list[Target]
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    stage: str = RECOMMEND
    index: int = 0
    rec_id: str | None = None
    proposed: dict[str, str] | None = None
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def _key(self) -> dict[str, str]:
        return {"Idempotency-Key": f"bench-{self.run_id}-{next(self.counter)}"}

    async def step(self, client: Client) -> None:
        t = self.targets[self.index]
        if self.stage == RECOMMEND:
            amount = Decimal(t.budget["amount"]) + 1 + next(self.counter) % 50
            self.proposed = {**t.budget, "amount": str(amount)}
            body: dict[str, Any] = {
                "engagement_id": t.engagement_id,
                "campaign_id": t.campaign_id,
                "kind": "adjust_budget",
                "change": {"budget": self.proposed},
                "rationale": "CPA fell 18% on PPC",
                "evidence": ["report-bench"],
                "expected_impact": "+12% conversions",
                "expires_at": "2099-01-01T00:00:00Z",
            }
            path = f"/v1/organizations/{t.org_id}/recommendations"
            r = await client.request(
                RECOMMEND, "POST", path, {**bearer(t.consultant_key), **self._key()}, body
            )
            ok = r is not None and r.status == 201
            if ok and r is not None:
                self.rec_id = r.json()["aggregate_id"]
        elif self.stage == APPROVE:
            path = f"/v1/recommendations/{self.rec_id}/approve"
            headers = {**bearer(t.manager_key), **self._key()}
            r = await client.request(APPROVE, "POST", path, headers, {"revision": 1})
            ok = r is not None and r.status == 200
        else:
            path = f"/v1/campaigns/{t.campaign_id}/budget"
            headers = {**bearer(t.manager_key), **self._key()}
            body = {"budget": self.proposed, "implements": self.rec_id}
            r = await client.request(ADJUST, "POST", path, headers, body)
            ok = r is not None and r.status == 200
            if ok and self.proposed is not None:
                t.budget = self.proposed
        # after a failure, start a new cycle on the next campaign
        self.stage = STEP_AHEAD[self.stage] if ok else RECOMMEND
        if self.stage == RECOMMEND:
            self.index = (self.index + 1) % len(self.targets)


@dataclass
class HotSession:
    target: Target
    amounts: itertools.count[int]  # shared by all sessions
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    counter: itertools.count[int] = field(default_factory=itertools.count)

    async def step(self, client: Client) -> None:
        t = self.target
        path = f"/v1/campaigns/{t.campaign_id}"
        r = await client.request("get", "GET", path, bearer(t.manager_key))
        if r is None or r.status != 200:
            return
        # a small raise on the budget just read: new, and within a manager's approval limit
        current = r.json()["budget"]
        amount = Decimal(current["amount"]) + 1 + next(self.amounts) % 7
        budget = {**current, "amount": str(amount)}
        headers = {
            **bearer(t.manager_key),
            "If-Match": r.headers.get("etag", ""),
            "Idempotency-Key": f"hot-{self.run_id}-{next(self.counter)}",
        }
        await client.request("adjust", "POST", f"{path}/budget", headers, {"budget": budget})


@dataclass
class BaselineSession:
    campaign_ids: list[str]
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    counter: itertools.count[int] = field(default_factory=itertools.count)

    async def step(self, client: Client) -> None:
        n = next(self.counter)
        campaign = self.campaign_ids[n % len(self.campaign_ids)]
        body = {
            "budget": {"amount": str(5000 + n % 50), "currency": "EUR", "period": "monthly"},
            "implements": "3c8a1f8e-6a57-4f4e-9b8a-2f1e0d9c8b7a",
        }
        headers = {"Idempotency-Key": f"base-{self.run_id}-{n}"}
        await client.request("insert", "POST", f"/v1/campaigns/{campaign}/budget", headers, body)


def split(targets: list[Target], sessions: int) -> list[list[Target]]:
    """Deal the targets round-robin into ``sessions`` disjoint, non-empty hands."""
    if len(targets) < sessions:
        raise ValueError(f"{len(targets)} campaigns for {sessions} sessions: need one each")
    return [targets[i::sessions] for i in range(sessions)]
