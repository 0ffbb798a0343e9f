"""The projections the read side maintains, by name."""

from __future__ import annotations

from projections.catalog import Projection
from projections.errors import UnknownProjection
from projections.views import audit, campaigns, register

ALL: tuple[Projection, ...] = (audit.PROJECTION, campaigns.PROJECTION, register.PROJECTION)
BY_NAME = {p.name: p for p in ALL}


def named(name: str) -> Projection:
    try:
        return BY_NAME[name]
    except KeyError:
        raise UnknownProjection(
            "no projection has this name", name=name, known=",".join(BY_NAME)
        ) from None
