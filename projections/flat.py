"""An audit entry as flat CSV cells: fixed columns, plain text, no formulas.

The audit view keeps three columns as JSON text (``budget_from``, ``budget_to`` and
``details``, the event's own fields). A CSV export spreads them over fixed columns named by
their path: ``budget_to.amount``, ``details.settings_to.approval_limit``,
``details.change.budget.amount``... (:data:`CSV_COLUMNS`, documented in docs/api.md). A
cell is text, never JSON:

- a list of values is joined with ``"; "`` (``ppc; social``); a list of objects (KPI
  targets) writes each as ``key=value`` pairs joined with ``", "`` (``metric=cpa,
  target=40, unit=EUR; metric=roas, ...``);
- ``true``/``false`` for booleans, the empty cell for null;
- a value the column list does not know yet (an event field added later) is kept in
  ``details.other`` as ``path=value`` pairs joined with ``"; "`` (``details.new_field=x``),
  in path order, so nothing is dropped; ``details.originator_topic`` and the detail fields
  the view already copies into a column of the same name (``budget`` of a plan,
  ``budget_from``, ``budget_to``, ``status_from``, ``status_to``) are not repeated;
- a cell that a spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return: OWASP, "CSV Injection") is prefixed with a single
  quote, unless the whole cell is a plain decimal number such as ``-5.00``, which a
  spreadsheet reads as a number and which therefore stays as it is: in every column that
  can hold text a caller wrote (:data:`FREE_TEXT` and every ``details.`` column; the other
  columns hold ids, numbers, times and the ledger's own names, which never start so);
- U+0000 and lone surrogates (which UTF-8 cannot hold) are written as U+FFFD, as the read
  tables store them (``projections.codec.storable``).
"""

from __future__ import annotations

import json
import operator
import re
from functools import lru_cache
from typing import Any

from projections.codec import storable
from projections.names import NAMED
from projections.views.audit import COLUMNS, JSON_COLUMNS

MONEY = ("amount", "currency")
BUDGET = (*MONEY, "period")
SETTINGS = ("name", "default_currency", "approval_limit", "limit_period", "time_zone")
TERMS = ("consultant_ids", "channels", "campaign_ids", "ends_at")
CHANGE = (*(f"budget.{k}" for k in BUDGET), "kpi_targets", "channels")


def _under(prefix: str, keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}.{k}" for k in keys)


# The event fields (``details``), by the aggregate whose events carry them.
DETAILS = (
    # organization
    "name",
    "default_currency",
    "approval_limit",
    *_under("settings_from", SETTINGS),
    *_under("settings_to", SETTINGS),
    "member_id",
    "member_role",
    "agency_id",
    "consultant_ids",
    "channels",
    "campaign_ids",
    "starts_at",
    "ends_at",
    *_under("terms_from", TERMS),
    *_under("terms_to", TERMS),
    # campaign
    "objective",
    "kpi_targets",
    "implements.recommendation_id",
    "implements.revision",
    "deviation_reason",
    "note",
    "authority",
    "allowance_used",
    "targets_from",
    "targets_to",
    "channels_from",
    "channels_to",
    "period_start",
    "period_end",
    *_under("spend", MONEY),
    "impressions",
    "clicks",
    "conversions",
    *_under("revenue", MONEY),
    "corrects_version",
    # recommendation
    "campaign_id",
    "kind",
    *_under("change", CHANGE),
    "rationale",
    "evidence",
    "expected_impact",
    "expires_at",
    "revision",
    *_under("approved_change", CHANGE),
    "awaiting_executive",
    "reason_code",
    "reason_text",
    "reason",
    "execution.campaign_id",
    "execution.version",
    "execution.type",
    "as_approved",
)
# Detail fields the view already holds in a column of the same name, or not worth a column.
REPEATED = ("originator_topic", "budget", "budget_from", "budget_to", "status_from", "status_to")
OTHER = "details.other"
# The name the directory gives an id now, in a column right after the id (a reading aid: the
# id stays the evidence; projections.names). An export adds them to each row it writes.
NAME_COLUMNS = {c: NAMED[c] for c in ("actor_id", "organization_id")}


def _named(columns: tuple[str, ...]) -> tuple[str, ...]:
    """``columns`` with each name column right after its id."""
    out: list[str] = []
    for c in columns:
        out += [c, NAME_COLUMNS[c]] if c in NAME_COLUMNS else [c]
    return tuple(out)


NAMED_COLUMNS = _named(COLUMNS)
PLAIN = tuple(c for c in NAMED_COLUMNS if c not in JSON_COLUMNS)
# Columns that hold text a caller wrote (the others hold ids, numbers, times and names of
# the ledger's own): the only plain columns a formula could reach.
FREE_TEXT = ("actor_name", "organization_name", "reason", "correlation_id", "causation_id")
CSV_COLUMNS = (
    *PLAIN,
    *_under("budget_from", BUDGET),
    *_under("budget_to", BUDGET),
    *_under("details", DETAILS),
    OTHER,
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?").fullmatch

_STARTS = frozenset(FORMULA_START)
_INDEX = {c: i for i, c in enumerate(CSV_COLUMNS)}
_PLAIN = operator.itemgetter(*PLAIN)
_FREE = tuple(_INDEX[c] for c in FREE_TEXT)
_BLANK = [None] * (len(CSV_COLUMNS) - len(PLAIN))  # csv writes None as an empty cell
_OTHER = _INDEX[OTHER]
Tree = dict[str, "int | Tree"]


def _tree(prefix: str) -> Tree:
    """The cells of one JSON column's values, as nested keys: ``{"change": {"budget":
    {"amount": 57, ...}, ...}, ...}`` (an index into :data:`CSV_COLUMNS` at each leaf)."""
    tree: Tree = {}
    for column, i in _INDEX.items():
        if column.startswith(prefix + ".") and column != OTHER:
            *inner, leaf = column.removeprefix(prefix + ".").split(".")
            node = tree
            for key in inner:
                found = node.setdefault(key, {})
                assert isinstance(found, dict)
                node = found
            node[leaf] = i
    return tree


_BUDGET_TREES = {c: _tree(c) for c in ("budget_from", "budget_to")}
_DETAILS_TREE = _tree("details")


def neutral(cell: str) -> str:
    """``cell`` as a spreadsheet cannot run it: a leading single quote before a formula
    start, except on a plain decimal number."""
    if cell[:1] in _STARTS and NUMBER(cell) is None:
        return "'" + cell
    return cell


def text(value: Any) -> str:
    """One decoded JSON value as the text of a cell (before neutralising)."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is list:
        return "; ".join([text(v) for v in value])
    if type(value) is dict:  # an object inside a list
        return ", ".join([f"{k}={text(v)}" for k, v in value.items()])
    return str(value)


def _spread(obj: dict[str, Any], tree: Tree, path: str, out: list[Any], other: list[str]) -> None:
    """The values inside ``obj`` (a decoded JSON column) into their cells; ``path=value``
    into ``other`` for those that have none. Lists are values, not objects."""
    for key, value in obj.items():
        node = tree.get(key)
        if type(node) is int:
            if type(value) is str:  # the common case, inline: text() and neutral() of it
                out[node] = value if value[:1] not in _STARTS else neutral(value)
            elif value is not None:
                out[node] = neutral(text(value))
        elif type(value) is dict:
            _spread(value, node if isinstance(node, dict) else {}, f"{path}.{key}", out, other)
        elif value is not None:
            other.append(f"{path}.{key}={text(value)}")


def _decoded(column: str, raw: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(raw)
    if "\\u" in raw:  # stored JSON is ASCII: only an escape brings U+0000 or a surrogate
        decoded = _storable(decoded)
    if column == "details":
        for key in REPEATED:
            decoded.pop(key, None)
    return decoded


@lru_cache(maxsize=4096)
def _budget(column: str, raw: str) -> tuple[tuple[tuple[int, str], ...], tuple[str, ...]]:
    """A budget column's cells and its values without a column: the few budgets of an
    organization repeat over many entries, and are decoded once each."""
    out: list[Any] = [None] * len(CSV_COLUMNS)
    other: list[str] = []
    _spread(_decoded(column, raw), _BUDGET_TREES[column], column, out, other)
    return tuple((i, v) for i, v in enumerate(out) if v is not None), tuple(other)


def cells(row: dict[str, Any]) -> list[Any]:
    """One audit row, with its names (:data:`NAME_COLUMNS`, added by the export), as its
    CSV cells, in :data:`CSV_COLUMNS` order, neutralised (None is the empty cell). The
    view's text columns are stored storable already."""
    out = [*_PLAIN(row), *_BLANK]
    for i in _FREE:
        value = out[i]
        if value is not None and value[:1] in _STARTS:
            out[i] = neutral(value)
    other: list[str] = []
    for column in _BUDGET_TREES:
        raw = row[column]
        if raw:
            filled, more = _budget(column, raw)
            for i, cell in filled:
                out[i] = cell
            other += more
    raw = row["details"]
    if raw:
        _spread(_decoded("details", raw), _DETAILS_TREE, "details", out, other)
    if other:
        out[_OTHER] = neutral("; ".join(sorted(other)))
    return out


def _storable(value: Any) -> Any:
    if type(value) is dict:
        return {k: _storable(v) for k, v in value.items()}
    if type(value) is list:
        return [_storable(v) for v in value]
    return storable(value)
