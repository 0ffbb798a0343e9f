"""Query plans of the read side's hot queries (PostgreSQL), for docs/query-plans.md.

python -m bench.query_plans [SCHEMA]     # default bench_ds_1m_seed42, caught up first
"""

from __future__ import annotations

import sys
from datetime import datetime
from uuid import UUID

from ledger.settings import Settings
from projections import catalog
from projections.db import Database, Tx
from projections.queries.audit import AuditFilter, select
from projections.views import named

BUSIEST = (
    "SELECT organization_id, max(recorded_at) AS hi FROM {audit} "
    "WHERE organization_id IS NOT NULL GROUP BY organization_id ORDER BY count(*) DESC LIMIT 1"
)
MIDDLE = (
    "SELECT recorded_at FROM {audit} WHERE organization_id = ? ORDER BY recorded_at "
    "OFFSET (SELECT count(*) / 2 FROM {audit} WHERE organization_id = ?) LIMIT 1"
)
CAMPAIGN = "SELECT * FROM {campaigns} WHERE campaign_id = ? ORDER BY position LIMIT 1"
REGISTER = (
    "SELECT * FROM {recommendations} WHERE organization_id = ? AND status = ? "
    "ORDER BY position LIMIT 51"
)


def explain(tx: Tx, sql: str, params: tuple[object, ...]) -> str:
    rows = tx.all("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
    return "\n".join(str(next(iter(r.values()))) for r in rows)


def main() -> None:
    schema = sys.argv[1] if len(sys.argv) > 1 else "bench_ds_1m_seed42"
    url = f"postgresql://postgres@127.0.0.1:5432/postgres?schema={schema}"
    db = Database.from_settings(Settings(database_url=url), pool_size=1)
    out = []
    with db.transaction() as tx:
        vtx, _, position = catalog.readable(tx, named("audit"))
        out.append(
            f"audit entries: {vtx.scalar('SELECT count(*) FROM {audit}')}, "
            f"projection position {position}"
        )
        org = vtx.one(BUSIEST)
        assert org is not None
        oid = org["organization_id"]
        mid = vtx.scalar(MIDDLE, (oid, oid))
        flt = AuditFilter(
            organization_id=UUID(oid),
            since=datetime.fromisoformat(mid),
            until=datetime.fromisoformat(org["hi"]),
        )
        where = flt.where()
        sql = select(where, 51)
        out.append(
            "\n### Audit trail page (organization + time window, 50 rows)\n\n```\n"
            + vtx.sql(sql)
            + "\n\n"
            + explain(vtx, sql, tuple(where.params))
            + "\n```"
        )
    with db.transaction() as tx:
        vtx, _, _ = catalog.readable(tx, named("campaigns"))
        cid = vtx.scalar("SELECT campaign_id FROM {campaigns} ORDER BY position DESC LIMIT 1")
        out.append(
            "\n### Campaign state (one campaign)\n\n```\n"
            + explain(vtx, CAMPAIGN, (cid,))
            + "\n```"
        )
    with db.transaction() as tx:
        vtx, _, _ = catalog.readable(tx, named("register"))
        out.append(
            "\n### Recommendation register (organization + status, 50 rows)\n\n```\n"
            + explain(vtx, REGISTER, (oid, "pending"))
            + "\n```"
        )
    print("\n".join(out))
    db.close()


if __name__ == "__main__":
    main()
