"""``python -m bench.integrity [--events N] [--postgres URL]``: `ledger verify` throughput.

Fills a fresh store (an SQLite file in a temporary directory; with ``--postgres``, a
throw-away schema) with N stored events: a small world built by commands, then copies of a
recommendation's record under new aggregate ids, appended through the recorder so the
Merkle log grows with them. Then, in the same run and on the same rows, it times:

- ``verify``: ``ledger.integrity.verify.verify``, one checkpoint (reads events, leaves and stored
  nodes, recomputes every leaf and node, compares);
- ``read + sha256``: the same events read by ``stream_events`` and each hashed once with
  hashlib (the floor for any verifier that reads the rows from this store);
- ``sha256 only``: one hashlib call per row over rows already in memory.

Each figure is the best of ``--repeats`` runs, in events per second.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent

from ledger.application.service import Ledger
from ledger.integrity.keyring import Keyring
from ledger.integrity.notary import Notary
from ledger.integrity.verify import verify
from ledger.persistence.sql import stream_events
from ledger.settings import Settings
from tests.support import Clock, World


def fill(ledger: Ledger, events: int, batch: int = 1000) -> None:
    world = World(ledger, Clock(datetime.now(UTC))).setup()
    world.recommend()
    rows = ledger.recorder.select_notifications(1, 1000)
    template = rows[-1]  # the recommendation's record
    have = len(rows)
    while have < events:
        size = min(batch, events - have)
        ledger.recorder.insert_events(
            [StoredEvent(uuid.uuid4(), 1, template.topic, template.state) for _ in range(size)]
        )
        have += size


def best(repeats: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(database_url: str, events: int, repeats: int, keys: Path) -> dict[str, float]:
    settings = Settings(database_url=database_url, signing_key_path=keys)
    ledger = Ledger(settings)
    try:
        fill(ledger, events)
        notary = Notary(ledger, Keyring.load(settings))
        checkpoint = notary.issue_checkpoint()
        public = dict(notary.keyring.public_keys())
        count = checkpoint.tree_size

        def run_verify() -> None:
            report = verify(ledger, [checkpoint], public)
            if not report.ok or report.events != count:
                raise SystemExit(f"verify failed on an untouched store: {report.findings}")

        rows = list(stream_events(ledger.recorder))

        def read_and_hash() -> None:
            for position, ident, version, topic, payload in stream_events(ledger.recorder):
                hashlib.sha256(
                    b"%d|%s|%d|%s|" % (position, str(ident).encode(), version, topic.encode())
                    + payload
                ).digest()

        def hash_only() -> None:
            for position, ident, version, topic, payload in rows:
                hashlib.sha256(
                    b"%d|%s|%d|%s|" % (position, str(ident).encode(), version, topic.encode())
                    + payload
                ).digest()

        return {
            "events": count,
            "verify": count / best(repeats, run_verify),
            "read + sha256": count / best(repeats, read_and_hash),
            "sha256 only": count / best(repeats, hash_only),
        }
    finally:
        ledger.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", default="", help="postgresql://... (a schema is made)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        keys = Path(tmp) / "keys" / "signing-key.pem"
        targets = {"sqlite": f"sqlite:///{Path(tmp) / 'ledger.db'}"}
        schema = f"bench_integrity_{uuid.uuid4().hex[:8]}"
        if args.postgres:
            sep = "&" if "?" in args.postgres else "?"
            targets["postgres"] = f"{args.postgres}{sep}schema={schema}"
        try:
            for name, url in targets.items():
                figures = measure(url, args.events, args.repeats, keys)
                print(
                    f"{name:<9} {int(figures['events']):>9,} events  "
                    + "  ".join(f"{k}: {v:>9,.0f}/s" for k, v in figures.items() if k != "events")
                )
        finally:
            if args.postgres:
                import psycopg
                from psycopg import sql

                with psycopg.connect(args.postgres.split("?")[0], autocommit=True) as conn:
                    conn.execute(
                        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
