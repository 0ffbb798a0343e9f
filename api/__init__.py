"""The edges: the HTTP API and the ``ledger`` command line. Imports ``projections`` and
``ledger``; nothing imports it.

``http``     the FastAPI application (``app.create_app``, one ledger per worker, built in
             the lifespan with the one command runner, ``runner``, the POST routes get
             through ``deps``), its routes (``routes.commands``, ``queries``, ``readmodels``,
             ``integrity``, ``admin``, ``health``), request and response schemas (the
             views' in ``read_schemas``), the one place errors become problem+json
             (``problems``), authentication (``deps``),
             admission control, edge middleware, metrics and OpenAPI finishing touches.
``cli``      the ``ledger`` command (``main.app``): ``serve`` (uvicorn on an explicit TCP
             socket, ``serving``), demo data (``demo``), integrity commands
             (``integrity``), projections and exports (``projections``).
``keys``     API keys (hashed, shown once), used by both edges.
``logs``     structlog to stdout: JSON when not on a terminal.
``periodic`` a daemon thread that calls a function every so many seconds.
"""
