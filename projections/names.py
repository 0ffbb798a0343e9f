"""The one home of "the name beside the id": :func:`named` adds, beside every field of a
JSON-ready answer that holds the id of an actor, an organization or an agency, the name the
directory gives that id now (None when it has none), all ids resolved in one lookup.

``actor_id`` gets ``actor_name`` beside it, ``decided_by`` gets ``decided_by_name``, a list
``consultant_ids`` gets ``consultant_names`` (in the same order). Other ids (campaigns,
recommendations, engagements, events) are not people and keep no name field. Nothing under a
``payload`` key is touched: that is a stored event exactly as recorded. The id is never
changed or dropped: it stays the evidence, the name is a reading aid (ADR 0015).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

Lookup = Callable[[Collection[str]], Mapping[str, str]]
NAMED = {
    "actor_id": "actor_name",
    "author_id": "author_name",
    "member_id": "member_name",
    "consultant_id": "consultant_name",
    "agency_id": "agency_name",
    "organization_id": "organization_name",
    "decided_by": "decided_by_name",
    "implemented_by": "implemented_by_name",
    "planned_by": "planned_by_name",
    "recommended_by": "recommended_by_name",
    "last_change_by": "last_change_by_name",
    "set_by": "set_by_name",
}
NAMED_LISTS = {"consultant_ids": "consultant_names"}
VERBATIM = frozenset({"payload"})


def ids_in(body: Any) -> Iterator[str]:
    """Every id of a named field in ``body``, at any depth."""
    if isinstance(body, list):
        for item in body:
            yield from ids_in(item)
    elif isinstance(body, dict):
        for key, value in body.items():
            if key in VERBATIM:
                continue
            if key in NAMED and isinstance(value, str):
                yield value
            elif key in NAMED_LISTS and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))
            else:
                yield from ids_in(value)


def with_names(body: Any, names: Mapping[str, str]) -> Any:
    """A copy of ``body`` with a name field right after each named field."""
    if isinstance(body, list):
        return [with_names(item, names) for item in body]
    if not isinstance(body, dict):
        return body
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in VERBATIM:
            out[key] = value
        elif key in NAMED:
            out[key] = value
            out[NAMED[key]] = names.get(value) if isinstance(value, str) else None
        elif key in NAMED_LISTS and isinstance(value, list):
            out[key] = value
            out[NAMED_LISTS[key]] = [names.get(v) if isinstance(v, str) else None for v in value]
        else:
            out[key] = with_names(value, names)
    return out


def named(body: Any, lookup: Lookup) -> Any:
    """``body`` with the names of its ids, looked up once for all of them."""
    ids = set(ids_in(body))
    return with_names(body, lookup(ids) if ids else {})
