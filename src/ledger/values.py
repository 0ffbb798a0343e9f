"""Value types shared by commands and aggregates.

Money is a :class:`~decimal.Decimal` with an ISO 4217 currency; a float is refused before it
can lose a cent. In events, values are stored as plain JSON-ready dicts (decimals as
strings) so that the stored payload is stable and readable by any tool.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Annotated, Any, Self
from zoneinfo import available_timezones

import pycountry
from babel.numbers import get_currency_precision
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ledger.errors import FloatMoneyRefused, InvalidCommand


class Role(StrEnum):
    MANAGER = "manager"
    EXECUTIVE = "executive"
    AUDITOR = "auditor"
    ADMIN = "admin"
    INTEGRATION = "integration"
    CONSULTANT = "consultant"
    AGENCY_ADMIN = "agency_admin"
    OPERATOR = "operator"
    SYSTEM = "system"


class MemberRole(StrEnum):
    """The roles an organization grants; consultants act through engagements instead."""

    MANAGER = "manager"
    EXECUTIVE = "executive"
    AUDITOR = "auditor"
    ADMIN = "admin"
    INTEGRATION = "integration"


class AgencyRole(StrEnum):
    """The roles an agency's roster holds (ADR 0016): its leads, and the consultants who
    may act for it within the engagements its clients grant."""

    AGENCY_ADMIN = "agency_admin"
    CONSULTANT = "consultant"


class Party(StrEnum):
    CLIENT = "client"
    AGENCY = "agency"
    PLATFORM = "platform"


class Channel(StrEnum):
    WEBSITE = "website"
    BLOG = "blog"
    EMAIL = "email"
    SOCIAL = "social"
    SEO = "seo"
    SEM = "sem"
    PPC = "ppc"
    CONTENT = "content"
    DISPLAY = "display"
    OTHER = "other"


class BudgetPeriod(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    LIFETIME = "lifetime"


class LimitPeriod(StrEnum):
    """The period over which the approval limit bounds a manager (ADR 0012)."""

    CALENDAR_MONTH = "calendar_month"
    CALENDAR_WEEK = "calendar_week"
    CALENDAR_QUARTER = "calendar_quarter"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class RecommendationKind(StrEnum):
    LAUNCH = "launch"
    PAUSE = "pause"
    RESUME = "resume"
    ADJUST_BUDGET = "adjust_budget"
    SET_KPI_TARGETS = "set_kpi_targets"
    CHANGE_CHANNELS = "change_channels"
    STRATEGY = "strategy"
    CONTENT = "content"
    SEO = "seo"
    TRAINING = "training"
    OTHER = "other"


ACTIONABLE_KINDS = frozenset(
    {
        RecommendationKind.LAUNCH,
        RecommendationKind.PAUSE,
        RecommendationKind.RESUME,
        RecommendationKind.ADJUST_BUDGET,
        RecommendationKind.SET_KPI_TARGETS,
        RecommendationKind.CHANGE_CHANNELS,
    }
)


class RecommendationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    APPROVED_WITH_CHANGES = "approved_with_changes"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    AWAITING_EXECUTIVE = "awaiting_executive"
    IMPLEMENTED = "implemented"


class RejectionReason(StrEnum):
    BUDGET_CONSTRAINTS = "budget_constraints"
    MISALIGNED_WITH_STRATEGY = "misaligned_with_strategy"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"
    RISK_TOO_HIGH = "risk_too_high"
    TIMING = "timing"
    LEGAL_OR_COMPLIANCE = "legal_or_compliance"
    DUPLICATE = "duplicate"
    OTHER = "other"


# Text: what every text field of a command may hold. NUL, the other C0 and C1 control
# characters (tab, line feed and carriage return excepted) and DEL are refused: PostgreSQL
# text cannot hold U+0000 and the rest are invisible in a register a reviewer reads. Lone
# surrogates, which UTF-8 cannot hold, are refused by pydantic's own str check before this.
UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _printable(value: str) -> str:
    found = UNPRINTABLE.search(value)
    if found is not None:
        raise PydanticCustomError(
            "text_control_character",
            "text may not contain the control character U+{char} (at index {index}); "
            "only tab, line feed and carriage return are allowed",
            {"char": f"{ord(found.group()):04X}", "index": found.start()},
        )
    return value


Printable = AfterValidator(_printable)  # the validator every command text field carries

# Blank: nothing a reader would see. Whitespace, format characters (Unicode category Cf: the
# zero-width space and joiners, the byte order mark, bidirectional marks) and the letters
# fonts draw as nothing: BRAILLE PATTERN BLANK, the HANGUL (CHOSEONG, JUNGSEONG, half-width)
# FILLERs.
BLANK_LETTERS = frozenset("\u2800\u3164\u115f\u1160\uffa0")


def is_blank(value: str) -> bool:
    """True when ``value`` shows nothing: the one test of every required text."""
    return all(
        ch.isspace() or ch in BLANK_LETTERS or unicodedata.category(ch) == "Cf" for ch in value
    )


def _visible(value: str) -> str:
    if is_blank(value):
        raise PydanticCustomError(
            "text_blank",
            "text may not be blank: it has nothing visible once whitespace and invisible "
            "characters are set aside",
        )
    return value


Visible = AfterValidator(_visible)  # the validator every required text field carries


def _text(
    max_length: int, *, min_length: int | None = None, strip: bool = False
) -> StringConstraints:
    return StringConstraints(strip_whitespace=strip, min_length=min_length, max_length=max_length)


# Required free text (objectives, rationales, notes on approval): surrounding whitespace is
# trimmed, so blank text is refused.
Text = Annotated[str, _text(4000, min_length=1, strip=True), Printable, Visible]
# A required reason (rejections, withdrawals, deviations, revocations): never blank.
Reason = Annotated[str, _text(4000, min_length=1, strip=True), Printable, Visible]
Name = Annotated[str, _text(200, min_length=1), Printable, Visible]
Note = Annotated[str, _text(4000), Printable]  # optional remarks: may be empty
EvidenceItem = Annotated[str, _text(2000, min_length=1), Printable, Visible]
Unit = Annotated[str, _text(32, min_length=1), Printable, Visible]  # a KPI target's unit


AMOUNT_TEXT = re.compile(r"^[0-9]{1,14}(\.[0-9]{1,4})?$")
TARGET_TEXT = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$")
NOT_MONEY = {
    "XXX",
    "XTS",
    "XAU",
    "XAG",
    "XPT",
    "XPD",
    "XBA",
    "XBB",
    "XBC",
    "XBD",
    "XDR",
    "XSU",
    "XUA",
}
CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies) - NOT_MONEY


def _currency(value: Any) -> Any:
    if isinstance(value, str) and value not in CURRENCIES:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return value


def _decimal_text(pattern: re.Pattern[str]) -> Any:
    def check(value: Any) -> Any:
        value = _refuse_float(value)
        if isinstance(value, Decimal) and not isinstance(value, bool):
            return value
        if not isinstance(value, str) or not pattern.match(value):
            raise ValueError(
                f"{value!r} is not a plain decimal: digits, an optional point and decimals, "
                'e.g. "1500.00"'
            )
        return Decimal(value)

    return check


def _refuse_float(value: Any) -> Any:
    """Amounts arrive as decimal strings (or Decimals from Python callers), never floats."""
    if isinstance(value, float):
        raise FloatMoneyRefused(
            "money amounts must be given as a decimal string, never a float",
            value=repr(value),
        )
    if isinstance(value, (int, bool)):
        raise ValueError('amounts are given as decimal strings, e.g. "1500.00"')
    return value


AMOUNT_SCHEMA = {
    "description": 'A decimal amount as a string, e.g. "1500.00"; never a JSON number',
    "type": "string",
    "pattern": r"^[0-9]{1,14}(\.[0-9]{1,4})?$",
}
Amount = Annotated[
    Decimal,
    BeforeValidator(_decimal_text(AMOUNT_TEXT)),
    Field(ge=0, max_digits=18, decimal_places=4),
    WithJsonSchema(AMOUNT_SCHEMA),
]
# The IANA names zoneinfo knows (tzdata is a dependency), less what names no place: the
# host's "localtime" link, tzdata's "Factory" placeholder and the "posixrules" default.
NOT_ZONES = {"localtime", "Factory", "posixrules"}
TIME_ZONES = (frozenset(available_timezones()) | {"UTC"}) - NOT_ZONES


def _time_zone(value: Any) -> Any:
    if isinstance(value, str) and value not in TIME_ZONES:
        raise ValueError(f"{value!r} is not an IANA time zone name, e.g. 'Europe/Paris'")
    return value


TimeZone = Annotated[
    str,
    BeforeValidator(_time_zone),
    Field(max_length=64, description="IANA time zone name, e.g. Europe/Paris"),
    Printable,
]
Currency = Annotated[
    str, BeforeValidator(_currency), Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
]


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_event(self) -> dict[str, Any]:
        """A JSON-ready dict for an event payload (decimals become strings)."""
        return self.model_dump(mode="json")


STORED = {"stored": True}  # validation context: values read back from stored events


def minor_unit(currency: str) -> int:
    """The currency's number of decimals (ISO 4217's minor unit, from CLDR via babel)."""
    return int(get_currency_precision(currency))


def fit_minor_unit(amount: Decimal, currency: str, field: str = "amount") -> Decimal:
    """``amount`` with at most its currency's decimals: zeros beyond them are dropped
    ("1000.0" JPY is 1000), any other digit there is refused."""
    decimals = minor_unit(currency)
    exponent = amount.as_tuple().exponent
    if not isinstance(exponent, int) or -exponent <= decimals:
        return amount
    fitted = amount.quantize(Decimal(1).scaleb(-decimals))
    if fitted != amount:
        raise InvalidCommand(
            f"{field} {amount} {currency} has more decimals than {currency} has: {decimals}",
            field=field,
            amount=str(amount),
            currency=currency,
            decimals=decimals,
        )
    return fitted


def plain(amount: Decimal) -> str:
    """``amount`` as a reader writes it: no trailing zeros, no exponent, at most the four
    decimals an amount may hold (a monthly equivalent such as 33 a day, 1003.75 a month, is
    computed to 28 digits): "1003.75", "1000", "304.1667"."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        amount = amount.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    return f"{amount.normalize():f}"


class MoneyValue(Value):
    """An amount in a currency; the amount fits the currency's minor unit."""

    amount: Amount
    currency: Currency

    @model_validator(mode="after")
    def _fits_currency(self, info: ValidationInfo) -> Self:
        if info.context != STORED:
            # Set once, while the frozen instance is being built and before anyone sees it.
            self.__dict__["amount"] = fit_minor_unit(self.amount, self.currency)
        return self

    @classmethod
    def from_event(cls, data: dict[str, Any]) -> Self:
        """The value as stored, without re-checking it against today's rules."""
        return cls.model_validate(data, context=STORED)


class Money(MoneyValue):
    pass


class Budget(MoneyValue):
    period: BudgetPeriod

    def money(self) -> Money:
        return Money(amount=self.amount, currency=self.currency)


class KpiTarget(Value):
    metric: Annotated[
        str,
        StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$"),
        Printable,
    ]
    target: Annotated[
        Decimal,
        BeforeValidator(_decimal_text(TARGET_TEXT)),
        Field(max_digits=18, decimal_places=6),
        WithJsonSchema(
            {
                "description": 'A decimal target as a string, e.g. "4.5"',
                "type": "string",
                "pattern": r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$",
            }
        ),
    ]
    unit: Unit


class ProposedChange(Value):
    """The concrete change a recommendation proposes, typed by its kind.

    ``budget`` for adjust_budget, ``kpi_targets`` for set_kpi_targets, ``channels`` for
    change_channels; launch, pause and resume carry no values; advisory kinds carry none.
    """

    budget: Budget | None = None
    kpi_targets: tuple[KpiTarget, ...] | None = None
    channels: tuple[Channel, ...] | None = None

    @classmethod
    def from_event(cls, data: dict[str, Any] | None) -> ProposedChange:
        return cls.model_validate(data or {}, context=STORED)
