"""The error trees of the ledger: refusals, and configuration.

Every refused command raises one of these, with keyword context naming the ids involved;
nothing is appended when one is raised. The API maps each class once to an HTTP status and
a stable machine ``code`` (the class attribute of the same name).

    LedgerError
    ├── InvalidCommand            the command is well-formed but makes no sense (422)
    │   └── FloatMoneyRefused     a money amount arrived as a float
    ├── NotFound                  an id the actor may not see, or that does not exist (404)
    ├── Forbidden                 the actor lacks the decision right (403)
    │   ├── OperatorRequired      only a platform operator may do this (API keys)
    │   ├── RoleRequired          a role is held, but not one that may issue this command
    │   ├── SegregationOfDuties   the author of a recommendation may not decide on it
    │   └── EngagementRequired    a consultant without an active engagement covering it
    ├── RuleViolation             the command breaks a rule of the domain (409)
    │   ├── InvalidTransition     a status that does not allow the command
    │   ├── RecommendationExpired past its expiry; it can no longer be approved
    │   ├── ExecutionMismatch     an execution differs from the approval without a reason
    │   └── NotOnRoster           an engagement names a consultant its agency does not list
    ├── Conflict                  the aggregate moved on (409)
    │   ├── RevisionConflict      a decision names a revision that is no longer current
    │   ├── VersionConflict       the expected version is not the current one
    │   └── ConcurrencyExhausted  retried on concurrent writes and still lost
    ├── IdempotencyError
    │   ├── IdempotencyKeyReused  the same key came with a different command (422)
    │   └── IdempotencyKeyInFlight the first request with this key is still running (409)
    └── StoreUnavailable          the event store cannot be reached (503)
        └── Overloaded            too many commands already waiting in this process (503)

A setting the process cannot start with is no refusal of a command, and no HTTP status
of its own: it stops the process (the CLI prints one line and exits with code 2; inside a
request it would be a 500).

    ConfigurationError            a LEDGER_ setting has a value the ledger cannot run with
    └── StoreConfigError          LEDGER_DATABASE_URL names no store the ledger can use

The other roots, each drawn in its own module: ``ledger.integrity.checkpoint.EvidenceError``
(stored data, a proof or a checkpoint does not check out) and
``projections.errors.ProjectionError`` (the read side); docs/adr/0003-error-tree.md draws
them all.
"""

from __future__ import annotations

from typing import Any


class ContextError(Exception):
    """What every error root of ours shares: a detail and keyword context (ids, values),
    shown as ``detail (key=value, ...)``. Not raised itself."""

    def __init__(self, detail: str, **context: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.context = context

    def __str__(self) -> str:
        if not self.context:
            return self.detail
        ctx = ", ".join(f"{k}={v}" for k, v in sorted(self.context.items()))
        return f"{self.detail} ({ctx})"


class LedgerError(ContextError):
    """Base of every error the ledger raises on purpose."""

    code = "ledger_error"
    title = "Ledger error"


class InvalidCommand(LedgerError):
    code = "invalid_command"
    title = "Invalid command"


class FloatMoneyRefused(InvalidCommand):
    code = "float_money_refused"
    title = "Money must not be a float"


class NotFound(LedgerError):
    code = "not_found"
    title = "Not found"


class Forbidden(LedgerError):
    code = "forbidden"
    title = "Forbidden"


class OperatorRequired(Forbidden):
    code = "operator_required"
    title = "Operator required"


class RoleRequired(Forbidden):
    code = "role_required"
    title = "Role required"


class SegregationOfDuties(Forbidden):
    code = "segregation_of_duties"
    title = "The author of a recommendation may not decide on it"


class EngagementRequired(Forbidden):
    code = "engagement_required"
    title = "An active engagement covering this is required"


class RuleViolation(LedgerError):
    code = "rule_violation"
    title = "Rule violation"


class InvalidTransition(RuleViolation):
    code = "invalid_transition"
    title = "Not allowed in the current status"


class RecommendationExpired(RuleViolation):
    code = "recommendation_expired"
    title = "Recommendation expired"


class ExecutionMismatch(RuleViolation):
    code = "execution_mismatch"
    title = "Execution differs from the approval"


class NotOnRoster(RuleViolation):
    code = "not_on_roster"
    title = "The agency does not list this consultant"


class Conflict(LedgerError):
    code = "conflict"
    title = "Conflict"


class RevisionConflict(Conflict):
    code = "revision_conflict"
    title = "The recommendation moved on to another revision or status"


class VersionConflict(Conflict):
    code = "version_conflict"
    title = "The aggregate moved on"


class ConcurrencyExhausted(Conflict):
    code = "concurrency_exhausted"
    title = "Too many concurrent writes"


class IdempotencyError(LedgerError):
    code = "idempotency_error"
    title = "Idempotency error"


class IdempotencyKeyReused(IdempotencyError):
    code = "idempotency_key_reused"
    title = "Idempotency key reused with a different request"


class IdempotencyKeyInFlight(IdempotencyError):
    code = "idempotency_key_in_flight"
    title = "A request with this idempotency key is still in flight"


class StoreUnavailable(LedgerError):
    code = "store_unavailable"
    title = "Event store unavailable"


class Overloaded(StoreUnavailable):
    code = "overloaded"
    title = "Too many commands waiting; retry shortly"


class ConfigurationError(ContextError):
    """Base of the settings a process cannot start with (not a refusal: no HTTP status)."""


class StoreConfigError(ConfigurationError):
    """LEDGER_DATABASE_URL names no store the ledger can use."""
