"""Names beside ids in every read answer, from the directory of this app.

Each request binds the app's name store (``bind``, a dependency of the whole app); the read
routes then pass their JSON-ready bodies through :func:`named` (``projections.names``), which
looks every id up in one query. Outside a request of the app (no store bound) every name is
None, never a guess.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from contextvars import ContextVar
from typing import Any

from fastapi import Request

from ledger.persistence.names import NameStore
from projections import names

_store: ContextVar[NameStore | None] = ContextVar("name_store", default=None)


async def bind(request: Request) -> None:
    """Make the app's name store the one this request's answers are named from."""
    _store.set(getattr(request.app.state, "names", None))


def _lookup(ids: Collection[str]) -> Mapping[str, str]:
    store = _store.get()
    return {} if store is None else store.names_of(ids)


def named(body: Any) -> Any:
    """``body`` with ``X_name`` beside each id of an actor, organization or agency."""
    return names.named(body, _lookup)
