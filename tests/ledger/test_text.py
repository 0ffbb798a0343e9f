"""Text the whole system can hold: every text field of every command refuses control
characters, and a required reason refuses blank text."""

from __future__ import annotations

import types
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Union, get_args, get_origin
from uuid import uuid4

import pytest
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from ledger import commands as c
from ledger.values import Printable, RecommendationKind, RejectionReason

# A str field needs no text validator only when a pattern already confines it to printable
# ASCII: the currency code.
CONFINED = {r"^[A-Z]{3}$"}


def _commands() -> list[type[c.Command]]:
    found, todo = [], list(c.Command.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        found.append(cls)
    return found


def _str_slots(annotation: Any, metadata: list[Any], path: str) -> Iterator[tuple[str, bool]]:
    """Every place a plain str can sit in ``annotation``, and whether it is checked."""
    origin = get_origin(annotation)
    if annotation is str:
        patterns = {getattr(m, "pattern", None) for m in metadata}
        yield path, any(m is Printable for m in metadata) or bool(patterns & CONFINED)
    elif origin is Annotated:
        base, *more = get_args(annotation)
        inner = [m for f in more if isinstance(f, FieldInfo) for m in f.metadata]
        yield from _str_slots(base, [*metadata, *more, *inner], path)
    elif origin in (Union, types.UnionType, tuple, list):
        for arg in get_args(annotation):
            if arg is not Ellipsis and arg is not type(None):
                yield from _str_slots(arg, metadata if origin is Union else [], path + "[]")
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            yield from _str_slots(info.annotation, list(info.metadata), f"{path}.{name}")


def test_every_text_field_of_every_command_uses_the_printable_text_type() -> None:
    """No command, nor a value inside one, has a str field without the control-character
    check: a new field of plain str fails here."""
    slots = [slot for command in _commands() for slot in _str_slots(command, [], command.__name__)]
    assert len(slots) > 20  # the walk found the fields (names, reasons, notes, evidence, KPIs)
    assert [path for path, checked in slots if not checked] == []


def _recommend(**text: Any) -> dict[str, Any]:
    return {
        "organization_id": uuid4(),
        "engagement_id": uuid4(),
        "kind": RecommendationKind.STRATEGY,
        "rationale": "why",
        "expected_impact": "more",
        "expires_at": datetime(2099, 1, 1, tzinfo=UTC),
        **text,
    }


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\ud800"])
@pytest.mark.parametrize("field", ["rationale", "expected_impact", "evidence"])
def test_a_control_character_in_any_text_field_is_refused_naming_the_field(
    char: str, field: str
) -> None:
    """NUL, C0, DEL, C1 and lone surrogates are refused, and the error names the field."""
    value: Any = (f"a{char}b",) if field == "evidence" else f"a{char}b"
    with pytest.raises(ValidationError) as refused:
        c.Recommend.model_validate(_recommend(**{field: value}))
    (error,) = refused.value.errors()
    assert error["loc"][0] == field
    if char == "\ud800":  # pydantic's own str check refuses lone surrogates first
        assert error["type"] == "string_unicode"
        return
    assert error["type"] == "text_control_character"
    assert f"U+{ord(char):04X}" in error["msg"]


def test_tab_line_feed_carriage_return_and_other_scripts_are_kept() -> None:
    """Ordinary text (tabs, new lines, any script, emoji) passes unchanged."""
    text = "Plan\tA\r\nĐợt 2 — 広告 🚀"
    command = c.Recommend.model_validate(_recommend(rationale=text, evidence=(text,)))
    assert command.rationale == text
    assert command.evidence == (text,)


@pytest.mark.parametrize("blank", ["", "   ", "\t\r\n "])
def test_a_blank_deviation_reason_is_refused(blank: str) -> None:
    """A deviation reason of whitespace only is no justification."""
    with pytest.raises(ValidationError) as refused:
        c.LaunchCampaign.model_validate({"campaign_id": uuid4(), "deviation_reason": blank})
    assert refused.value.errors()[0]["loc"] == ("deviation_reason",)


@pytest.mark.parametrize("blank", ["", "  "])
def test_every_required_reason_refuses_blank_text(blank: str) -> None:
    """Reject, withdraw, end engagement and revoke membership each need a real reason."""
    rec = uuid4()
    cases: list[tuple[type[c.Command], dict[str, Any], str]] = [
        (
            c.Reject,
            {"reason_code": RejectionReason.TIMING, "reason_text": blank},
            "reason_text",
        ),
        (c.WithdrawRecommendation, {"reason": blank}, "reason"),
    ]
    for command, fields, name in cases:
        with pytest.raises(ValidationError) as refused:
            command.model_validate({"recommendation_id": rec, "revision": 1, **fields})
        assert refused.value.errors()[0]["loc"] == (name,)
    for command in (c.EndEngagement, c.RevokeMembership):
        assert command.model_fields["reason"].metadata[0].min_length == 1
        assert command.model_fields["reason"].metadata[0].strip_whitespace
