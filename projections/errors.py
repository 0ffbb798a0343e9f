"""The one error tree of the read side.

ProjectionError
├── PositionNotAdvanced   a batch starts at or before the recorded position, or the
│                         tracking row moved under it: refused, rolled back, no row changed
├── LeaseNotHeld          another runner holds (or took over) the projection's lease
├── GenerationChanged     the active generation switched during a batch: retry
├── RebuildInProgress     another rebuild of the projection is running
├── ProjectionNotReady    the projection's tables do not exist yet (the API answers 503)
├── InconsistentLog       an event refers to something no earlier event created: the
│                         runner stops on it rather than guess
├── UnexpectedEvent       the log holds a record that is not a ledger event
├── UnknownProjection     no projection has this name
└── InvalidQuery          a filter or cursor that makes no sense (the API answers 400)

The API maps these by class (``api.http.problems.PROJECTION_STATUS``): ProjectionNotReady
503, InvalidQuery 400, UnknownProjection 404; the others stay inside the runner. The
ledger's roots (``LedgerError``, ``ConfigurationError`` in ``ledger.errors``,
``EvidenceError`` in ``ledger.integrity.checkpoint``) are drawn beside this one in
docs/adr/0003-error-tree.md.
"""

from __future__ import annotations

from ledger.errors import ContextError


class ProjectionError(ContextError):
    """Base of every error the read side raises on purpose."""

    code = "projection_error"


class PositionNotAdvanced(ProjectionError):
    code = "position_not_advanced"


class LeaseNotHeld(ProjectionError):
    code = "lease_not_held"


class GenerationChanged(ProjectionError):
    code = "generation_changed"


class RebuildInProgress(ProjectionError):
    code = "rebuild_in_progress"


class ProjectionNotReady(ProjectionError):
    code = "projection_not_ready"


class InconsistentLog(ProjectionError):
    code = "inconsistent_log"


class UnexpectedEvent(ProjectionError):
    code = "unexpected_event"


class UnknownProjection(ProjectionError):
    code = "unknown_projection"


class InvalidQuery(ProjectionError):
    code = "invalid_query"
