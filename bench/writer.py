"""The command path without HTTP: ``Ledger.execute`` or the group committer, in-process.

16 threads (``--threads``) each adjust the budgets of their own campaigns, with an
idempotency key, for ``--seconds``, against a fresh PostgreSQL schema. Prints commands/s,
p50, and for the group committer how busy its writer thread was and its mean batch. With
``--count``, first runs one recommend, approve and adjust alone and prints the statements
each sent to PostgreSQL (psycopg ``execute`` calls; pool pre-pings counted apart).

    python -m bench.writer --group-commit
    python -m bench.writer --plain --count
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg

from bench.dataset import build
from bench.servers import fresh_schema, schema_url
from ledger import commands as c
from ledger.application.service import Ledger
from ledger.identity import Actor
from ledger.settings import Settings
from ledger.values import Budget, BudgetPeriod, ProposedChange, RecommendationKind


def raised(budget: dict[str, str], by: int) -> Budget:
    amount = Decimal(budget["amount"]) + by
    return Budget(amount=amount, currency=budget["currency"], period=BudgetPeriod(budget["period"]))


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """Count the statements psycopg sends through cursors (``Connection.execute`` too); the
    pool's pre-ping is the empty query."""
    counts: Counter[str] = Counter()
    cursor_execute = psycopg.Cursor.execute

    def on_cursor(self: Any, query: Any, *a: Any, **k: Any) -> Any:
        text = query.as_string(self) if hasattr(query, "as_string") else str(query)
        counts[" ".join(text.split())[:60] or "(pool pre-ping)"] += 1
        return cursor_execute(self, query, *a, **k)

    psycopg.Cursor.execute = on_cursor  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        psycopg.Cursor.execute = cursor_execute  # type: ignore[method-assign]


def count(runner: Any, manifest: dict[str, Any]) -> None:
    camp = next(x for x in manifest["open_campaigns"] if x["status"] == "active")
    org = manifest["orgs"][camp["org"]]
    manager, consultant = Actor(UUID(org["manager"])), Actor(UUID(org["consultants"][0]))
    budget = raised(camp["budget"], 7)

    def run(name: str, command: c.Command, actor: Actor) -> UUID:
        with counting() as counts:
            result = runner.execute(command, actor, correlation_id=name, idempotency_key=name)
        pings = counts.pop("(pool pre-ping)", 0)
        print(f"{name}: {sum(counts.values()) + pings} statements, {pings} pool pre-pings")
        for query, n in counts.most_common():
            print(f"   {n:3d}  {query}")
        rec: UUID = result.aggregate_id
        return rec

    rec = run(
        "recommend",
        c.Recommend(
            organization_id=UUID(org["id"]),
            engagement_id=UUID(org["engagement_id"]),
            campaign_id=UUID(camp["id"]),
            kind=RecommendationKind.ADJUST_BUDGET,
            change=ProposedChange(budget=budget),
            rationale="bench",
            expected_impact="bench",
            expires_at=datetime.now(UTC) + timedelta(days=9),
        ),
        consultant,
    )
    run("approve", c.Approve(recommendation_id=rec, revision=1), manager)
    adjust = c.AdjustBudget(campaign_id=UUID(camp["id"]), budget=budget, implements=rec)
    run("adjust", adjust, manager)


def drive(runner: Any, manifest: dict[str, Any], threads: int, seconds: float) -> list[float]:
    camps = [x for x in manifest["open_campaigns"] if x["status"] in ("active", "paused")]
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    def work(i: int) -> None:
        mine, n = camps[i::threads], 0
        while time.monotonic() < stop:
            camp = mine[n % len(mine)]
            org = manifest["orgs"][camp["org"]]
            budget = raised(camp["budget"], 1)
            camp["budget"] = budget.to_event()
            started = time.perf_counter()
            runner.execute(
                c.AdjustBudget(campaign_id=UUID(camp["id"]), budget=budget),
                Actor(UUID(org["manager"])),
                correlation_id=f"w{i}-{n}",
                idempotency_key=f"w{i}-{n}-{time.time_ns()}",
            )
            latencies.append(time.perf_counter() - started)
            n += 1

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.writer", description=__doc__.split("\n")[0])
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--group-commit", action="store_true")
    how.add_argument("--plain", action="store_true", help="Ledger.execute in each thread")
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--events", type=int, default=3_000)
    p.add_argument("--count", action="store_true", help="statements per command first")
    args = p.parse_args(argv)
    from api.logs import configure_logging
    from ledger.application.group_commit import GroupCommitter

    with fresh_schema("writer") as schema:
        settings = Settings(database_url=schema_url(schema))
        manifest = build(settings, args.events, min_open=max(64, 4 * args.threads))
        configure_logging("json", level=30)
        ledger = Ledger(settings)
        committer = GroupCommitter(ledger) if args.group_commit else None
        busy, sizes = [0.0], []
        if committer is not None:
            process = committer._process

            def timed(batch: list[Any]) -> None:
                started = time.perf_counter()
                sizes.append(len(batch))
                try:
                    process(batch)
                finally:
                    busy[0] += time.perf_counter() - started

            committer._process = timed  # type: ignore[method-assign,assignment] # timing wrapper
        runner: Any = committer or ledger
        try:
            if args.count:
                count(runner, manifest)
            started = time.perf_counter()
            latencies = drive(runner, manifest, args.threads, args.seconds)
            wall = time.perf_counter() - started
        finally:
            if committer is not None:
                committer.close()
            ledger.close()
    line = (
        f"{'group commit' if committer else 'Ledger.execute'}, {args.threads} threads: "
        f"{len(latencies) / wall:.0f} commands/s, p50 {1000 * statistics.median(latencies):.1f} ms"
    )
    if sizes:
        line += f", writer busy {busy[0] / wall:.0%}, mean batch {statistics.mean(sizes):.1f}"
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
