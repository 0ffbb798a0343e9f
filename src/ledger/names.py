"""Display names: what a name may hold, and the shapes the directory keeps.

A name is personal data, not evidence: it lives in the name directory
(``ledger.persistence.names``), beside the event log and never in it, and every read shows
it next to the id it names (ADR 0015). The id stays the evidence.

A name's rules are those of a command's text, stricter: not blank (surrounding whitespace is
trimmed, and nothing visible is blank: ``ledger.values.is_blank``), at most ``MAX_NAME``
characters, no control character at all (NUL, the rest of C0 including tab and line breaks,
DEL and C1): a name is one line a reviewer reads; and no bidirectional control (the
embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069, the marks U+200E,
U+200F and U+061C), with which a right-to-left override would display one person's name
as another's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from pydantic_core import PydanticCustomError

from ledger.values import Visible

MAX_NAME = 200
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class NameKind(StrEnum):
    """What an id names: a person (or API client) acting, a client organization, an agency."""

    ACTOR = "actor"
    ORGANIZATION = "organization"
    AGENCY = "agency"


class NameAction(StrEnum):
    """One change of the directory, as its history records it."""

    SET = "set"
    ERASED = "erased"


def _one_line(value: str) -> str:
    found = CONTROL.search(value)
    if found is not None:
        raise PydanticCustomError(
            "name_control_character",
            "a name may not contain the control character U+{char} (at index {index})",
            {"char": f"{ord(found.group()):04X}", "index": found.start()},
        )
    found = BIDI.search(value)
    if found is not None:
        raise PydanticCustomError(
            "name_bidi_control",
            "a name may not contain the bidirectional control U+{char} (at index {index})",
            {"char": f"{ord(found.group()):04X}", "index": found.start()},
        )
    return value


DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME),
    AfterValidator(_one_line),
    Visible,
]


class SetName(BaseModel):
    """Give ``subject_id`` a display name (replacing the one it had)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject_id: UUID
    kind: NameKind
    name: DisplayName


@dataclass(frozen=True)
class NameEntry:
    """The name an id has now, who set it and when."""

    subject_id: UUID
    kind: NameKind
    name: str
    set_by: UUID
    set_at: str


@dataclass(frozen=True)
class NameChange:
    """One line of a name's history: who set which name when, from what (``name_from``, the
    name it replaced), and through what (``via``: ``api`` or ``cli``). After an erasure both
    names of every line of that id are None: the history keeps that a change happened, not
    what the name was."""

    sequence: int
    subject_id: UUID
    kind: NameKind
    action: NameAction
    name_from: str | None
    name_to: str | None
    actor_id: UUID
    at: str
    via: str
