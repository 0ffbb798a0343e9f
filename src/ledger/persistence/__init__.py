"""Persistence: the event store, recorders, the SQLite/PostgreSQL seam, positions."""
