"""The FastAPI application: one ledger per worker process, built in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.http import naming, openapi, problems, reference
from api.http.admission import AdmissionMiddleware, AdmissionSettings
from api.http.metrics import observe_projections
from api.http.middleware import EdgeMiddleware
from api.http.query import strict_query
from api.http.routes import (
    admin,
    agencies,
    commands,
    decisions,
    health,
    integrity,
    names,
    queries,
    readmodels,
)
from api.http.runner import LedgerRunner
from api.keys import KeyStore
from api.logs import configure_logging
from api.periodic import Periodic
from ledger.application.group_commit import GroupCommitter
from ledger.application.names import Directory
from ledger.application.service import Ledger
from ledger.integrity.keyring import Keyring
from ledger.integrity.notary import Notary
from ledger.persistence.names import NameStore
from ledger.settings import Settings
from projections.service import ReadSide

MAX_BODY = 64 * 1024
DESCRIPTION = """An event-sourced, tamper-evident record of who recommended, who decided and
who executed each change to a client's marketing campaigns.

Authenticate with `Authorization: Bearer <API key>`. Every POST accepts an
`Idempotency-Key`; retries with the same key and body replay the first response.
Errors are RFC 9457 `application/problem+json` documents with a stable `code`.
"""


def create_app(
    settings: Settings | None = None, admission: AdmissionSettings | None = None
) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ledger = Ledger(settings)
        keys = KeyStore(settings)
        app.state.ledger = ledger
        app.state.keys = keys
        app.state.names = NameStore(settings)
        app.state.directory = Directory(ledger, app.state.names)
        app.state.authenticators = [keys]  # an OIDC/JWT verifier can be appended here
        app.state.notary = Notary(ledger, Keyring.load(settings))
        app.state.committer = GroupCommitter(ledger) if settings.group_commit else None
        app.state.read_side = start_read_side(ledger, settings)
        app.state.runner = LedgerRunner(app.state.committer or ledger, app.state.read_side)
        app.state.before_metrics = lambda: observe_projections(app.state.read_side)
        ticker = Periodic(
            settings.checkpoint_interval, app.state.notary.issue_checkpoint, "checkpoint"
        )
        ticker.start()
        try:
            yield
        finally:
            ticker.stop()
            if app.state.committer is not None:
                app.state.committer.close()
            if app.state.read_side is not None:
                app.state.read_side.close()
            keys.close()
            app.state.names.close()
            ledger.close()

    app = FastAPI(
        title="Campaign Decision Ledger",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by api.http.reference from the package, not from a CDN
        redoc_url=None,
        dependencies=[
            Depends(strict_query),  # every query parameter declared, once unless a list
            Depends(naming.bind),  # the names beside ids in every read
        ],
        openapi_tags=[
            {"name": "commands"},
            {"name": "queries"},
            {"name": "admin"},
            {"name": "operations"},
        ],
    )
    problems.install(app)
    openapi.install(app)
    reference.install(app)
    app.include_router(commands.router, tags=["commands"])
    app.include_router(queries.router, tags=["queries"])
    app.include_router(readmodels.router)
    app.include_router(decisions.router)
    app.include_router(agencies.router)
    app.include_router(integrity.router)
    app.include_router(admin.router)
    app.include_router(names.router)
    app.include_router(health.router)
    app.add_middleware(AdmissionMiddleware, settings=admission or AdmissionSettings())
    app.add_middleware(EdgeMiddleware, max_body=MAX_BODY)  # outside admission: ids, logs
    origins: Any = settings.cors_origins
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins.split(","),
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )
    return app


def start_read_side(ledger: Ledger, settings: Settings) -> ReadSide | None:
    """The projections: run in this process (embedded) or by `ledger projections run`."""
    if ledger.backend == "memory":
        return None
    read_side = ReadSide(ledger, pool_size=2)
    if settings.projections == "embedded":
        read_side.start()
    else:
        read_side.install()
    return read_side
