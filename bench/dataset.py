"""A reproducible dataset built through the ledger's own commands.

Every command goes through ``Ledger.execute`` with all its rules, on a simulated clock that
starts on 2025-01-01 and spreads the history over ``span_days``. Organizations are onboarded
(memberships, an engagement of an agency's consultants, campaigns), then the flows of
``bench.flows`` (recommend, approve, carry out, reject, withdraw, amend, expire, escalate,
pause, report performance, complete) are interleaved across campaigns until the store holds
the number of events asked for. The same seed gives the same store: the ids the handlers
draw (``uuid4``) come from a seeded generator while the dataset is built.

Speed: :class:`BulkLedger` keeps each command's events in memory and writes them
``batch`` events at a time, in one transaction per batch (the library's ``Application.save``
of many events). Rules still see every earlier command, because the aggregates a command
changed go into the aggregate cache at once. Measured here: see docs/performance.md.

    python -m bench.dataset --events 1000000 --pg-schema bench_ds_1m
    python -m bench.dataset --events 20000 --database-url sqlite:///tmp/ds.db

The manifest (ids of organizations, actors, engagements and open campaigns; counts of
events by type and of recommendations by state) is stored in a ``bench_manifest`` table of
the same database and printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from eventsourcing.application import LRUCache, ProcessingEvent
from eventsourcing.persistence import Notification, Recording
from eventsourcing.utils import Environment, EnvType

from bench import flows as f
from ledger import commands as c
from ledger.application.results import CommandResult
from ledger.application.service import Ledger
from ledger.errors import LedgerError
from ledger.identity import Actor
from ledger.persistence.store import APP_NAME, backend, eventsourcing_env, sqlite_path
from ledger.settings import Settings
from ledger.values import Channel, MemberRole

START = datetime(2025, 1, 1, tzinfo=UTC)
OPEN = ("draft", "active", "paused")


class BulkLedger(Ledger):
    """The ledger, writing the events of many commands per transaction. One writer only."""

    name = APP_NAME  # the same tables as the ledger's, not a class-named set

    def __init__(self, settings: Settings, clock: Callable[[], datetime], batch: int) -> None:
        self.batch = batch
        self.buffer: list[Any] = []
        self.recorded: Counter[str] = Counter()
        super().__init__(settings, clock=clock)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        environment = super().construct_env(name, env)
        # The cache is the truth until a batch is written: large, and never fast-forwarded.
        environment["AGGREGATE_CACHE_MAXSIZE"] = str(max(50_000, 50 * self.batch))
        environment["AGGREGATE_CACHE_FASTFORWARD"] = "n"
        # Commands change the cached objects themselves (no deep copy per read): after a
        # refusal, which may have left a half-changed aggregate, the cache is dropped.
        environment["DEEPCOPY_FROM_AGGREGATE_CACHE"] = "n"
        # A batch of 1,000 events hashes its Merkle leaves between statements: on a busy
        # machine that outlasted the library's 5 s idle-in-transaction limit and killed the
        # 1M build at 886,827 events.
        environment["POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT"] = "120"
        return environment

    def drop_cache(self) -> None:
        """Write what is pending, then forget every cached aggregate."""
        self.flush()
        cache = self.repository.cache
        assert isinstance(cache, LRUCache)
        self.repository.cache = LRUCache(maxsize=cache.maxsize)

    def _record(self, processing_event: ProcessingEvent[Any]) -> list[Recording[Any]]:
        self._remember(processing_event)
        events = processing_event.events
        self.buffer.extend(events)
        self.recorded.update(type(e).__qualname__ for e in events)
        if len(self.buffer) >= self.batch:
            self.flush()
        return [
            Recording(
                e,
                Notification(
                    id=0,
                    originator_id=e.originator_id,
                    originator_version=e.originator_version,
                    topic="",
                    state=b"",
                ),
            )
            for e in events
        ]

    def _remember(self, processing_event: ProcessingEvent[Any]) -> None:
        """Make the cache hold every aggregate as of the events just accepted.

        Handlers change the cached objects themselves (no deep copy): such an aggregate is
        already at the new version and only its pending events are dropped (saved here).
        An aggregate the cache lacks (a new one) is built from its events."""
        cache = self.repository.cache
        assert cache is not None
        for aggregate_id, aggregate in processing_event.aggregates.items():
            cache.put(aggregate_id, aggregate)
        for stored in processing_event.events:
            event = cast(Any, stored)  # an aggregate event: it can mutate its aggregate
            try:
                current: Any = cache.get(event.originator_id)
            except KeyError:
                current = None
            if current is None or current.version < event.originator_version:
                cache.put(event.originator_id, event.mutate(current))
            elif current.pending_events:
                current.collect_events()

    def flush(self) -> None:
        if self.buffer:
            self.events.put(self.buffer)
            self.buffer = []


@contextmanager
def seeded_ids(rng: random.Random) -> Iterator[Callable[[], uuid.UUID]]:
    """Make the ledger's handlers draw their ``uuid4`` ids from ``rng`` for a while."""

    def next_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    patched = [
        module
        for name, module in list(sys.modules.items())
        if (name == "ledger" or name.startswith("ledger."))
        and getattr(module, "uuid4", None) is uuid.uuid4
    ]
    for module in patched:
        module.uuid4 = next_id  # type: ignore[attr-defined]
    try:
        yield next_id
    finally:
        for module in patched:
            module.uuid4 = uuid.uuid4  # type: ignore[attr-defined]


@dataclass
class Agency:
    id: uuid.UUID
    consultants: list[Actor]


@dataclass
class Live:
    flow: f.Flow
    camp: f.Camp
    step: f.Step


@dataclass
class Builder:
    ledger: BulkLedger
    rng: random.Random
    new_id: Callable[[], uuid.UUID]
    target: int
    min_open: int
    step_seconds: float
    seed: int
    now: datetime = START
    commands: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    orgs: list[f.Org] = field(default_factory=list)
    camps: list[f.Camp] = field(default_factory=list)
    by_id: dict[uuid.UUID, f.Camp] = field(default_factory=dict)
    idle: list[f.Camp] = field(default_factory=list)
    live: list[Live] = field(default_factory=list)
    agencies: list[Agency] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.world = f.World(self.rng, lambda: self.now)
        self.operator = Actor(self.new_id(), operator=True)

    @property
    def events(self) -> int:
        return sum(self.ledger.recorded.values())

    def run(self, actor: Actor, command: c.Command) -> CommandResult:
        self.commands += 1
        try:
            result = self.ledger.execute(
                command, actor, correlation_id=f"ds-{self.seed}-{self.commands}"
            )
        finally:
            self.now += timedelta(seconds=self.step_seconds * self.rng.uniform(0.2, 1.8))
        for ref in result.events:
            camp = self.by_id.get(ref.aggregate_id)
            if camp is not None:
                camp.version = ref.version
        return result

    def agency(self) -> Agency:
        if not self.agencies or (len(self.agencies) * 6 < len(self.orgs)):
            people = [Actor(self.new_id()) for _ in range(self.rng.randint(3, 6))]
            self.agencies.append(Agency(self.new_id(), people))
        return self.rng.choice(self.agencies)

    def onboard(self) -> None:
        rng, n = self.rng, len(self.orgs) + 1
        currency = rng.choices(("EUR", "USD", "GBP"), (60, 25, 15))[0]
        limit = Decimal(rng.choice((500, 1000, 2000, 5000)))
        org_id = self.run(
            self.operator,
            c.CreateOrganization(
                name=f"Client {n}", default_currency=currency, approval_limit=limit
            ),
        ).aggregate_id
        people = {role: Actor(self.new_id()) for role in MemberRole}
        for role, actor in people.items():
            self.run(
                self.operator,
                c.GrantMembership(
                    organization_id=org_id, member_id=actor.actor_id, member_role=role
                ),
            )
        agency = self.agency()
        consultants = rng.sample(
            agency.consultants, rng.randint(1, min(3, len(agency.consultants)))
        )
        channels = sorted(rng.sample(list(Channel), rng.randint(3, 6)))
        manager = people[MemberRole.MANAGER]
        eng = self.run(
            manager,
            c.StartEngagement(
                organization_id=org_id,
                agency_id=agency.id,
                consultant_ids=tuple(a.actor_id for a in consultants),
                channels=tuple(channels),
                starts_at=self.now - timedelta(days=1),
                ends_at=START + timedelta(days=20 * 365),
            ),
        )
        assert eng.resource_id is not None
        org = f.Org(
            org_id,
            currency,
            limit,
            admin=people[MemberRole.ADMIN],
            manager=manager,
            executive=people[MemberRole.EXECUTIVE],
            auditor=people[MemberRole.AUDITOR],
            integration=people[MemberRole.INTEGRATION],
            consultants=consultants,
            engagement_id=eng.resource_id,
            channels=channels,
        )
        self.orgs.append(org)
        for i in range(rng.randint(4, 12)):
            self.plan(org, i)

    def plan(self, org: f.Org, i: int) -> None:
        chans = sorted(
            self.rng.sample(org.channels, self.rng.randint(1, min(3, len(org.channels))))
        )
        budget = f.default_budget(self.rng, org.currency)
        result = self.run(
            org.manager,
            c.PlanCampaign(
                organization_id=org.id,
                name=f"Campaign {len(self.camps) + 1}",
                objective=self.rng.choice(("Grow online sales", "Leads", "Brand reach")),
                channels=tuple(chans),
                budget=budget,
                kpi_targets=self.world.kpis() if self.rng.random() < 0.5 else (),
            ),
        )
        camp = f.Camp(result.aggregate_id, org, "draft", budget, chans, self.rng.randint(15, 40))
        self.by_id[camp.id] = camp
        if self.rng.random() < 0.7:
            self.run(org.manager, c.LaunchCampaign(campaign_id=camp.id))
            camp.status = "active"
        self.camps.append(camp)
        self.idle.append(camp)

    def open_count(self) -> int:
        return len(self.idle) + len(self.live)

    def start_flow(self) -> None:
        """Pick an idle campaign and run the first step of a new flow on it at once."""
        i = self.rng.randrange(len(self.idle))
        self.idle[i], self.idle[-1] = self.idle[-1], self.idle[i]
        camp = self.idle.pop()
        flow = f.choose(self.world, camp)(self.world, camp)
        try:
            live = Live(flow, camp, next(flow))
        except StopIteration:
            self.idle.append(camp)
            return
        self.live.append(live)
        self.advance(len(self.live) - 1)

    def advance(self, i: int | None = None) -> None:
        """Run the next step of a live flow (a random one unless ``i``) if its time has come."""
        if i is None:
            i = self.rng.randrange(len(self.live))
        live = self.live[i]
        if live.step.not_before is not None and self.now < live.step.not_before:
            return
        try:
            result = self.run(live.step.actor, live.step.command)
            live.step = live.flow.send(result)
            return
        except LedgerError as e:
            self.refused[e.code] += 1
            self.ledger.drop_cache()
            live.flow.close()
        except StopIteration:
            pass
        self.live[i], self.live[-1] = self.live[-1], self.live[i]
        self.live.pop()
        if live.camp.status in OPEN:
            self.idle.append(live.camp)

    def build(self, progress: Callable[[int], None] | None = None) -> None:
        reported = 0
        while self.events < self.target:
            if self.open_count() < self.min_open:
                self.onboard()
            elif self.idle and self.rng.random() >= len(self.live) / (len(self.live) + 30):
                self.start_flow()
            elif self.live:
                self.advance()
            else:
                self.onboard()
            if progress is not None and self.events - reported >= 50_000:
                reported = self.events
                progress(reported)
        self.ledger.flush()

    def manifest(self) -> dict[str, Any]:
        camps = []
        for camp in self.camps:
            if camp.status not in OPEN:
                continue
            state: Any = self.ledger.repository.get(camp.id).state
            camps.append(
                {
                    "id": str(camp.id),
                    "org": self.orgs.index(camp.org),
                    "status": state.status,
                    "channels": list(state.channels),
                    "budget": state.budget,
                }
            )
        return {
            "orgs": [_org_dict(o) for o in self.orgs],
            "open_campaigns": camps,
            "campaigns": len(self.camps),
            "events_by_type": dict(sorted(self.ledger.recorded.items())),
            "recommendations_by_status": f.status_counts(self.world),
            "refused": dict(self.refused),
        }


def _org_dict(o: f.Org) -> dict[str, Any]:
    return {
        "id": str(o.id),
        "currency": o.currency,
        "approval_limit": str(o.limit),
        "engagement_id": str(o.engagement_id),
        "channels": [str(ch) for ch in o.channels],
        "consultants": [str(a.actor_id) for a in o.consultants],
        **{
            role: str(getattr(o, role).actor_id)
            for role in ("admin", "manager", "executive", "auditor", "integration")
        },
    }


def build(
    settings: Settings,
    events: int,
    *,
    seed: int = 42,
    batch: int = 1000,
    span_days: int = 300,
    min_open: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Build a store of at least ``events`` events; returns (and stores) its manifest."""
    from api.logs import configure_logging

    configure_logging("json", level=30)  # no log line per command while building
    rng, id_rng = random.Random(seed), random.Random(seed + 1)
    started = time.perf_counter()
    builder: Builder | None = None
    with seeded_ids(id_rng) as new_id:
        ledger = BulkLedger(settings, clock=lambda: cast(Builder, builder).now, batch=batch)
        try:
            builder = Builder(
                ledger,
                rng,
                new_id,
                target=events,
                min_open=min_open if min_open is not None else max(40, events // 1000),
                step_seconds=span_days * 86400 / max(1, events * 0.9),
                seed=seed,
            )
            builder.build(progress)
            seconds = time.perf_counter() - started
            manifest = {
                "seed": seed,
                "events": builder.events,
                "commands": builder.commands,
                "seconds": round(seconds, 1),
                "events_per_s": round(builder.events / seconds),
                "batch": batch,
                "from": START.isoformat(),
                "to": builder.now.isoformat(),
                "backend": backend(settings),
                **builder.manifest(),
            }
        finally:
            ledger.close()
    save_manifest(settings, manifest)
    return manifest


# The manifest, beside the events


def _pg_conninfo(settings: Settings) -> tuple[str, str]:
    env = eventsourcing_env(settings)
    conninfo = (
        f"host={env['POSTGRES_HOST']} port={env['POSTGRES_PORT']} "
        f"dbname={env['POSTGRES_DBNAME']} user={env['POSTGRES_USER']}"
    )
    if env["POSTGRES_PASSWORD"]:
        conninfo += f" password={env['POSTGRES_PASSWORD']}"
    return conninfo, env["POSTGRES_SCHEMA"] or "public"


def save_manifest(settings: Settings, manifest: dict[str, Any]) -> None:
    body = json.dumps(manifest)
    if backend(settings) == "postgres":
        import psycopg

        conninfo, schema = _pg_conninfo(settings)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            table = f'"{schema}".bench_manifest'
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (id int PRIMARY KEY, body text)")
            conn.execute(
                f"INSERT INTO {table} VALUES (1, %s) ON CONFLICT (id) DO UPDATE SET body = %s",
                (body, body),
            )
        return
    with sqlite3.connect(sqlite_path(settings)) as lite:
        lite.execute(
            "CREATE TABLE IF NOT EXISTS bench_manifest (id INTEGER PRIMARY KEY, body TEXT)"
        )
        lite.execute("INSERT OR REPLACE INTO bench_manifest VALUES (1, ?)", (body,))


def load_manifest(settings: Settings) -> dict[str, Any] | None:
    """The manifest of a store built here, or None."""
    if backend(settings) == "postgres":
        import psycopg

        conninfo, schema = _pg_conninfo(settings)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            try:
                row = conn.execute(f'SELECT body FROM "{schema}".bench_manifest').fetchone()
            except psycopg.errors.UndefinedTable:
                return None
    else:
        with sqlite3.connect(sqlite_path(settings)) as lite:
            try:
                row = lite.execute("SELECT body FROM bench_manifest").fetchone()
            except sqlite3.OperationalError:
                return None
    return cast(dict[str, Any], json.loads(row[0])) if row else None


MILLION = "bench_ds_1m_seed42"  # the shared 1M-event store of the full benchmarks


def million(schema: str = MILLION) -> Settings:
    """The settings of the shared 1M-event dataset, built first if it is not there (about
    13 minutes here). A schema without a manifest is a build that died half-way (the
    manifest is written last): it is dropped and built again."""
    import psycopg
    from psycopg import sql

    from bench.servers import PG_CONNINFO, schema_url

    settings = Settings(database_url=schema_url(schema))
    if load_manifest(settings) is not None:
        return settings
    print(f"building the 1M-event dataset in schema {schema} (once)", file=sys.stderr)
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    started = time.perf_counter()

    def progress(n: int) -> None:
        if n % 100_000 < 1_000:
            print(
                f"  {n:>9,} events  {n / (time.perf_counter() - started):,.0f}/s", file=sys.stderr
            )

    build(settings, 1_000_000, seed=42, progress=progress)
    return settings


def main(argv: list[str] | None = None) -> int:
    from bench.servers import schema_url

    p = argparse.ArgumentParser(prog="python -m bench.dataset", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--batch", type=int, default=1000, help="events per transaction")
    p.add_argument("--span-days", type=int, default=300)
    p.add_argument("--min-open", type=int, default=None, help="open campaigns kept at least")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--database-url", help="sqlite:///PATH or postgresql://...")
    where.add_argument("--pg-schema", help="a PostgreSQL schema on BENCH_POSTGRES_URL")
    p.add_argument("--summary", action="store_true", help="print counts, not the whole manifest")
    args = p.parse_args(argv)
    url = args.database_url or schema_url(args.pg_schema)
    settings = Settings(database_url=url)
    started = time.perf_counter()

    def progress(n: int) -> None:
        rate = n / (time.perf_counter() - started)
        print(f"  {n:>9,} events  {rate:,.0f} events/s", file=sys.stderr)

    manifest = build(
        settings,
        args.events,
        seed=args.seed,
        batch=args.batch,
        span_days=args.span_days,
        min_open=args.min_open,
        progress=progress,
    )
    if args.summary:
        manifest = {k: v for k, v in manifest.items() if k not in ("orgs", "open_campaigns")}
    print(json.dumps(manifest, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
