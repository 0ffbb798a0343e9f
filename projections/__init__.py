"""The read side: projections of the ledger's events into SQL tables, and queries on them.

Modules, from the bottom up: ``db`` (connections, dialects), ``source`` (the event log,
decoded; LISTEN or polling), ``catalog`` (projections, generations, tracking), ``lease``,
``runner`` (batches + tracking in one transaction; background worker), ``views`` (the
projectors), ``queries`` (filtered pages), ``export`` (streaming CSV/NDJSON), ``rebuild``
(build beside, then switch), ``asof`` (past states from events), ``status`` (position, lag,
read-your-writes) and ``service`` (:class:`ReadSide`, the one object the API holds).
See docs/adr/0006-projection-runner.md.
"""
