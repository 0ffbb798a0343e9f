"""Response schemas of the read side (views, integrity verification and receipts).

Each mirrors one row shape of ``projections`` (``projections.views.*`` tables, the query
dataclasses) after the JSON-ready conversion: ids, decimals and times are strings. Unknown
fields are refused, so a column added to a view without its schema fails the API tests
instead of silently vanishing from the answer.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
# Beside every id of an actor, an organization or an agency: its name in the directory now
# (``projections.names``), or None. The id stays the evidence; the name may change or vanish.
NAME: Any = Field(
    default=None,
    description="The display name of the id beside it, current at read time; null when the "
    "directory has none",
)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageOf(Out, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")
    position: int = Field(description="The log position the page reflects")


class AuditEntry(Out):
    """One audit-trail entry: who, for whom, on what, what happened, when."""

    position: int
    event_id: str
    event_type: str
    aggregate_type: str
    aggregate_id: str
    version: int
    recorded_at: str
    actor_id: str
    actor_name: str | None = NAME
    role: str
    party: str
    organization_id: str
    organization_name: str | None = NAME
    engagement_id: str | None
    campaign_id: str | None
    recommendation_id: str | None
    revision: int | None
    execution_ref: str | None
    as_approved: int | None = Field(description="1 as approved, 0 with a deviation")
    reason_code: str | None
    reason: str | None
    status_from: str | None
    status_to: str | None
    budget_from: dict[str, Any] | None
    budget_to: dict[str, Any] | None
    correlation_id: str
    causation_id: str | None
    details: dict[str, Any]


class KpiCheckOut(Out):
    metric: str
    actual: str | None
    target: str
    unit: str
    met: bool | None = Field(description="None while the actual cannot be measured")


class CampaignStateOut(Out):
    """One campaign as the read side sees it, with its derived KPIs."""

    campaign_id: str
    organization_id: str
    organization_name: str | None = NAME
    name: str
    objective: str
    status: str
    budget: dict[str, str]
    kpi_targets: list[dict[str, Any]]
    channels: list[str]
    version: int
    planned_at: str
    planned_by: str
    planned_by_name: str | None = NAME
    last_change_at: str
    last_change_by: str
    last_change_by_name: str | None = NAME
    last_change_role: str
    last_change_type: str
    pending_recommendations: int
    performance: dict[str, Any]
    derived: dict[str, str | None]
    kpis: list[KpiCheckOut]
    position: int


class RegisterEntry(Out):
    """One recommendation in the register: status, decision, implementation."""

    recommendation_id: str
    position: int
    organization_id: str
    organization_name: str | None = NAME
    engagement_id: str
    agency_id: str | None
    agency_name: str | None = NAME
    campaign_id: str | None
    author_id: str
    author_name: str | None = NAME
    kind: str
    status: str
    revision: int
    change: dict[str, Any]
    recommended_at: str
    revised_at: str
    expires_at: str
    approved_revision: int | None
    approved_change: dict[str, Any] | None
    decision: str | None
    decided_by: str | None
    decided_by_name: str | None = NAME
    decided_role: str | None
    decided_at: str | None
    decision_ms: int | None
    escalated: bool
    escalated_at: str | None
    reason_code: str | None
    reason: str | None
    closed_at: str | None
    implementation: str | None
    implemented_at: str | None
    implemented_by: str | None
    implemented_by_name: str | None = NAME
    execution_ref: str | None
    deviation_reason: str | None
    version: int
    last_position: int
    executions: list[ReportExecution] = Field(
        default_factory=list,
        description="The executions citing it, each with its spend authority (register pages)",
    )


class DecisionEntry(Out):
    position: int
    recommendation_id: str
    organization_id: str
    organization_name: str | None = NAME
    engagement_id: str
    actor_id: str
    actor_name: str | None = NAME
    role: str
    decision: str
    revision: int
    decided_at: str
    ms_since_recommended: int
    reason_code: str | None
    reason: str | None
    note: str | None
    approved_change: dict[str, Any] | None


class ReportDecision(Out):
    """One client decision, in the decision report."""

    position: int
    actor_id: str
    actor_name: str | None = NAME
    role: str
    outcome: str = Field(description="approved, approved_with_changes, rejected or escalated")
    revision: int
    decided_at: str
    ms_since_recommended: int
    reason_code: str | None
    reason: str | None = Field(description="A rejection's reason")
    note: str | None = Field(description="An approval's or escalation's note")
    approved_change: dict[str, Any] | None = Field(description="What an approval approved")


class ReportExecution(Out):
    """One execution citing the recommendation (or, in exceptions, citing none)."""

    position: int
    campaign_id: str
    actor_id: str
    actor_name: str | None = NAME
    role: str
    action: str = Field(description="The campaign event: Launched, BudgetAdjusted, ...")
    executed_at: str
    revision: int | None = Field(description="The revision it cites")
    executed: dict[str, Any] = Field(description="What it set: *_from and *_to values")
    as_approved: bool | None
    deviation_reason: str | None
    authority: str | None = Field(
        description="manager_allowance or executive (ADR 0012); none before it was recorded"
    )
    allowance_used: str | None = Field(description="What it took from the manager's allowance")


class DecisionRow(Out):
    """A recommendation whole: recommended, approved and executed side by side."""

    recommendation_id: str
    position: int
    row_position: int | None = Field(
        None, description="Decision report: the recommendation's or (group=decision) decision's"
    )
    organization_id: str
    organization_name: str | None = NAME
    engagement_id: str
    agency_id: str | None
    agency_name: str | None = NAME
    campaign_id: str | None
    kind: str
    status: str = Field(description="As read now: undecided past its expiry is expired")
    revision: int
    recommended_by: str
    recommended_by_name: str | None = NAME
    recommended_at: str
    expires_at: str
    recommended: dict[str, Any]
    approved: dict[str, Any] | None
    approved_revision: int | None
    executed: dict[str, Any] | None = Field(description="The last execution's values")
    decisions: list[ReportDecision]
    executions: list[ReportExecution]
    deviation: bool
    above_limit: bool = Field(description="An execution took an executive's authority")
    ms_to_first_decision: int | None
    ms_to_execution: int | None


class HandlingOut(Out):
    recommendation: RegisterEntry | None
    decisions: list[DecisionEntry]
    executions: list[ReportExecution] = Field(
        description="The executions citing it, each with its spend authority"
    )


class FiguresOut(Out):
    """How a set of recommendations was handled; docs/reports.md defines each figure."""

    recommendations: int
    by_status: dict[str, int]
    accepted: int
    rejected: int
    acceptance_rate: str | None
    median_decision_ms: int | None
    p90_decision_ms: int | None
    implemented_as_recommended: int
    implemented_with_changes: int
    not_implemented: int


class ConsultantRowOut(FiguresOut):
    engagement_id: str
    agency_id: str | None
    agency_name: str | None = NAME
    consultant_id: str
    consultant_name: str | None = NAME
    period: str


class ConsultantTotalOut(FiguresOut):
    consultant_id: str
    consultant_name: str | None = NAME


class KindRowOut(FiguresOut):
    kind: str


class ClientRowOut(FiguresOut):
    organization_id: str
    organization_name: str | None = NAME


class ManagerRowOut(Out):
    actor_id: str
    actor_name: str | None = NAME
    decisions: int
    by_decision: dict[str, int]
    median_decision_ms: int | None
    executions_without_recommendation: int | None


class HandlingReportOut(Out):
    consultants: list[ConsultantRowOut]
    by_consultant: list[ConsultantTotalOut]
    by_kind: list[KindRowOut]
    managers: list[ManagerRowOut]
    position: int


class AgencyReportOut(Out):
    """An agency's handling report across its clients (ADR 0016)."""

    agency_id: str
    agency_name: str | None = NAME
    overall: FiguresOut
    by_client: list[ClientRowOut]
    by_consultant: list[ConsultantTotalOut]
    by_kind: list[KindRowOut]
    position: int


class ExceptionCounts(Out):
    """How many exceptions of each kind, and the position the counts reflect."""

    execution_without_recommendation: int
    deviation: int
    approved_not_implemented: int
    escalation_pending: int
    expired_undecided: int
    position: int


class VerifyOut(Out):
    """The whole log verified; ``events`` counts the organization's events among those
    verified, ``log_events`` every tenant's."""

    ok: bool
    events: int = Field(description="The organization's events among those verified")
    log_events: int = Field(description="Events of the whole log verified, every tenant's")
    checkpoints: int
    findings: list[str]


class EventStatement(Out):
    """What one event of a receipt proves, read from the stored record its proof covers."""

    position: int
    event_type: str = Field(description="The event class, e.g. Recommendation.Recommended")
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int
    organization_id: str
    actor_id: str
    role: str
    party: str
    recorded_at: str = Field(description="The server's time of recording, from the payload")


class CheckpointStatement(Out):
    """The checkpoint a receipt's proofs lead to: who signed, what size, when."""

    key_id: str
    tree_size: int
    issued_at: str


class ReceiptStatement(Out):
    """What the receipt proves, in plain fields; verifiers read each again from the proof."""

    events: list[EventStatement]
    checkpoint: CheckpointStatement | None = Field(description="None while pending")


class ReceiptRecord(Out):
    """One stored record, its leaf, and (once a checkpoint covers it) its inclusion proof."""

    position: int
    aggregate_id: str
    version: int
    topic: str
    payload: str = Field(description="The stored bytes, base64")
    leaf_index: int
    leaf_hash: str = Field(description="base64")
    inclusion_proof: list[str] | None = Field(
        default=None, description="base64 hashes, nearest sibling first; absent while pending"
    )


class SignedCheckpointOut(Out):
    origin: str
    tree_size: int
    root_hash: str
    issued_at: str
    key_id: str
    signature: str


class ReceiptOut(Out):
    """A receipt (format campaign-decision-ledger/receipt/v2), verifiable offline."""

    format: str
    status: str
    statement: ReceiptStatement
    events: list[ReceiptRecord]
    checkpoint: SignedCheckpointOut | None
    public_keys: dict[str, str] = Field(description="Key id to public key PEM")


class AuditPage(PageOf[AuditEntry]):
    """A page of the audit trail."""


class CampaignStatesPage(PageOf[CampaignStateOut]):
    """A page of campaign states."""


class DecisionReportPage(PageOf[DecisionRow]):
    """A page of the decision report."""


class RegisterPage(PageOf[RegisterEntry]):
    """A page of the recommendation register."""


class ExceptionEntry(Out):
    """One exception: its kind, when it arose, and the values of the decision report."""

    exception: str = Field(description="The kind of exception (the recommendation keeps its own)")
    position: int
    at: str | None = Field(description="When it arose: execution, approval, escalation, expiry")
    age_days: float | None = Field(description="Days from `at` to now")
    organization_id: str
    organization_name: str | None = NAME
    campaign_id: str | None
    recommendation_id: str | None
    recommendation: DecisionRow | None = Field(description="The recommendation whole, if any")
    execution: ReportExecution | None = Field(description="The execution, for execution kinds")


class ExceptionsPage(PageOf[ExceptionEntry]):
    """A page of one kind of exception."""
