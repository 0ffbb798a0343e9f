"""Text rules with no I/O (issue 11, its review): required text must show something, names
and KPI units too; names hold no bidirectional control; time zones are IANA names."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from ledger import commands as c
from ledger.names import SetName
from ledger.values import is_blank

# Whitespace, format characters (Cf) and the letters drawn as nothing.
INVISIBLE = ["\u200b", "\u2800", "\u3164", "\ufeff", "\u115f", "\u1160", "\uffa0", "\u2060"]


def refused(model: type[c.Command], data: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """The one error a command's JSON gets: its type and where."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(json.dumps(data))
    (error,) = caught.value.errors()
    return str(error["type"]), error["loc"]


@pytest.mark.parametrize("text", [*INVISIBLE, " \u200b\u200d\t", "\u2800\u3164 \ufeff"])
def test_text_of_only_whitespace_format_characters_and_blank_letters_is_blank(
    text: str,
) -> None:
    """Nothing visible: zero-width characters, fillers and Braille blanks count as blank."""
    assert is_blank(text)


@pytest.mark.parametrize("text", ["x", "\u200bx", "広", "\u2801", ".", "\u3164a"])
def test_text_with_one_visible_character_is_not_blank(text: str) -> None:
    """One visible character among invisible ones is enough."""
    assert not is_blank(text)


@pytest.mark.parametrize("char", INVISIBLE)
@pytest.mark.parametrize(
    ("model", "field", "data"),
    [
        (c.LaunchCampaign, "deviation_reason", {}),
        (c.Reject, "reason_text", {"revision": 1, "reason_code": "timing"}),
        (c.WithdrawRecommendation, "reason", {"revision": 1}),
        (c.RevokeMembership, "reason", {"member_role": "manager"}),
        (c.EndEngagement, "reason", {}),
        (c.RemoveAgencyMember, "reason", {"member_role": "consultant"}),
    ],
)
def test_every_required_reason_of_only_invisible_characters_is_refused(
    model: type[c.Command], field: str, data: dict[str, Any], char: str
) -> None:
    """A reason of "\\u200b" (or a Braille blank, a Hangul filler...) justifies nothing."""
    ids = {name: str(uuid4()) for name in model.model_fields if name.endswith("_id")}
    body = {**ids, **data, field: f" {char}{char} "}
    assert refused(model, body) == ("text_blank", (field,))
    ok = model.model_validate_json(json.dumps({**ids, **data, field: f"{char}rounded up"}))
    assert getattr(ok, field) == f"{char}rounded up"


PLAN = {
    "name": "Autumn",
    "objective": "Sales",
    "channels": ["ppc"],
    "budget": {"amount": "100", "currency": "EUR", "period": "monthly"},
}
TARGET = {"metric": "roi", "target": "2", "unit": "%"}


@pytest.mark.parametrize("blank", [" ", "   ", "\t", "\u200b", "\u3164"])
@pytest.mark.parametrize(
    ("model", "data", "loc"),
    [
        (c.PlanCampaign, {"name": None}, ("name",)),
        (c.PlanCampaign, {"kpi_targets": [{**TARGET, "unit": None}]}, ("kpi_targets", 0, "unit")),
        (c.CreateOrganization, {"name": None}, ("name",)),
        (c.ChangeOrganizationSettings, {"name": None}, ("name",)),
        (c.RegisterAgency, {"name": None}, ("name",)),
        (c.Recommend, {"evidence": [None]}, ("evidence", 0)),
    ],
)
def test_a_blank_name_kpi_unit_or_evidence_item_is_refused(
    model: type[c.Command], data: dict[str, Any], loc: tuple[Any, ...], blank: str
) -> None:
    """A campaign, organization or agency named " ", a KPI unit or an evidence item of
    spaces or invisible characters says nothing: refused naming the field."""
    ok = {**FILLED[model], **{k: fill(v, blank) for k, v in data.items()}}
    assert refused(model, ok) == ("text_blank", loc)


def test_a_blank_note_is_still_accepted() -> None:
    """An optional note may be empty or blank: it is a remark, not a reason."""
    ids = {"campaign_id": str(uuid4())}
    assert c.LaunchCampaign.model_validate_json(json.dumps({**ids, "note": " "})).note == " "


def fill(value: Any, blank: str) -> Any:
    """``value`` with every None in it replaced by ``blank``."""
    if value is None:
        return blank
    if isinstance(value, list):
        return [fill(v, blank) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, blank) for k, v in value.items()}
    return value


FILLED: dict[type[c.Command], dict[str, Any]] = {
    c.PlanCampaign: {"organization_id": str(uuid4()), **PLAN},
    c.CreateOrganization: {"name": "Client A", "default_currency": "EUR", "approval_limit": "1"},
    c.ChangeOrganizationSettings: {"organization_id": str(uuid4())},
    c.RegisterAgency: {},
    c.Recommend: {
        "organization_id": str(uuid4()),
        "engagement_id": str(uuid4()),
        "campaign_id": str(uuid4()),
        "kind": "strategy",
        "rationale": "CPA fell",
        "evidence": ["r-1"],
        "expected_impact": "+10%",
        "expires_at": "2099-01-01T00:00:00Z",
    },
}


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "Mars/Olympus", "utc"])
def test_an_organization_time_zone_outside_the_iana_names_is_refused(zone: str) -> None:
    """The host's "localtime" and tzdata's "Factory" name no place: refused naming the field."""
    data = {"organization_id": str(uuid4()), "time_zone": zone}
    assert refused(c.ChangeOrganizationSettings, data)[1] == ("time_zone",)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "Asia/Ho_Chi_Minh", "America/Sao_Paulo"])
def test_an_iana_time_zone_name_is_taken(zone: str) -> None:
    """Any place name zoneinfo knows is a time zone an organization may keep."""
    data = {"organization_id": str(uuid4()), "time_zone": zone}
    assert c.ChangeOrganizationSettings.model_validate_json(json.dumps(data)).time_zone == zone


BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("char", [*BIDI, "\u200e", "\u200f", "\u061c"])
def test_a_name_holding_a_bidirectional_control_is_refused(char: str) -> None:
    """ "a\\u202eb" would display one person's name as another's: refused, naming U+XXXX."""
    with pytest.raises(ValidationError) as caught:
        SetName.model_validate({"subject_id": uuid4(), "kind": "actor", "name": f"Mia{char}Lee"})
    (error,) = caught.value.errors()
    assert error["type"] == "name_bidi_control"
    assert f"U+{ord(char):04X}" in error["msg"]


@pytest.mark.parametrize("blank", ["\u200b", "\u3164", "\u2800 \ufeff"])
def test_a_name_of_only_invisible_characters_is_refused(blank: str) -> None:
    """The directory's names use the same blank test as every required text."""
    with pytest.raises(ValidationError) as caught:
        SetName.model_validate({"subject_id": uuid4(), "kind": "actor", "name": blank})
    assert [e["type"] for e in caught.value.errors()] == ["text_blank"]


def test_a_right_to_left_name_without_controls_is_taken() -> None:
    """Arabic or Hebrew letters need no control character and are kept as given."""
    name = "مريم ليلى"
    assert (
        SetName.model_validate({"subject_id": uuid4(), "kind": "actor", "name": name}).name == name
    )
