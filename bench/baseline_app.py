"""The bare stack the ledger is built on, as the baselines its HTTP figures are compared to.

(a) ``create_pg_app``: FastAPI validates the body of the ledger's AdjustBudget route (the very
    pydantic model the API derives from ``ledger.commands.AdjustBudget``) and does one INSERT,
    committed, through a psycopg_pool connection pool sized like the ledger's (5 + 10).
(b) ``create_sqlite_app``: the same with one INSERT into an SQLite file in WAL mode, with
    the library's durability setting (``synchronous`` left at its default, FULL).

No authentication, no idempotency, no rules: the point is what the web framework and the
database cost on their own. Served by the same uvicorn as the ledger, with plain ``def``
endpoints (run in the threadpool) as the ledger's are::

    BENCH_BASELINE_PG='host=127.0.0.1 dbname=postgres user=postgres' \\
    BENCH_BASELINE_TABLE=bench_x.baseline_commands \\
    uvicorn bench.baseline_app:create_pg_app --factory --workers 2 --port 8100
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from fastapi import Body, FastAPI, Path
from pydantic import BaseModel

from api.http.schemas import body_of
from ledger import commands as c

AdjustBudgetBody: type[BaseModel] = body_of(c.AdjustBudget, "campaign_id")
if TYPE_CHECKING:
    BodyModel = BaseModel
else:
    BodyModel = AdjustBudgetBody  # FastAPI validates against the generated model
ROUTE = "/v1/campaigns/{campaign_id}/budget"
PG_COLUMNS = "id bigserial PRIMARY KEY, campaign_id uuid NOT NULL, body text NOT NULL"
SQLITE_COLUMNS = "id INTEGER PRIMARY KEY, campaign_id TEXT NOT NULL, body TEXT NOT NULL"


def _app(lifespan: Any) -> FastAPI:
    app = FastAPI(title="bare-stack baseline", lifespan=lifespan)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def create_pg_app() -> FastAPI:
    """Baseline (a): validate, then one INSERT through psycopg_pool."""
    from psycopg_pool import ConnectionPool

    conninfo = os.environ["BENCH_BASELINE_PG"]
    table = os.environ["BENCH_BASELINE_TABLE"]
    pool = ConnectionPool(conninfo, min_size=5, max_size=15, open=False, timeout=5)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool.open(wait=True)
        try:
            yield
        finally:
            pool.close()

    app = _app(lifespan)
    sql = f"INSERT INTO {table} (campaign_id, body) VALUES (%s, %s) RETURNING id"

    def adjust(
        campaign_id: Annotated[UUID, Path()],
        body: Annotated[BodyModel, Body()],
    ) -> dict[str, Any]:
        with pool.connection() as conn:  # commits on leaving the block
            row = conn.execute(sql, (campaign_id, body.model_dump_json())).fetchone()
        assert row is not None
        return {"id": row[0], "campaign_id": str(campaign_id)}

    app.add_api_route(ROUTE, adjust, methods=["POST"])
    return app


def create_sqlite_app() -> FastAPI:
    """Baseline (b): validate, then one INSERT into an SQLite file in WAL mode."""
    path = os.environ["BENCH_BASELINE_SQLITE"]
    local = threading.local()
    # One writer at a time, queued on a lock in the process rather than in SQLite's busy
    # handler, which sleeps between retries and wastes most of the time under contention.
    serialize = os.environ.get("BENCH_BASELINE_SQLITE_LOCK", "1") == "1"
    write_lock = threading.Lock() if serialize else contextlib.nullcontext()

    @contextmanager
    def connection() -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            local.conn = conn
        with conn:  # one transaction, committed on leaving the block
            yield conn

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        with connection() as conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS baseline_commands ({SQLITE_COLUMNS})")
        yield

    app = _app(lifespan)

    def adjust(
        campaign_id: Annotated[UUID, Path()],
        body: Annotated[BodyModel, Body()],
    ) -> dict[str, Any]:
        with write_lock, connection() as conn:
            cur = conn.execute(
                "INSERT INTO baseline_commands (campaign_id, body) VALUES (?, ?)",
                (str(campaign_id), body.model_dump_json()),
            )
        return {"id": cur.lastrowid, "campaign_id": str(campaign_id)}

    app.add_api_route(ROUTE, adjust, methods=["POST"])
    return app
