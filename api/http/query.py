"""The one check of every route's query string, before the route runs: each parameter is
one the route declares, and one the route reads as a single value is given once.

What a route declares is read from its FastAPI dependant (the query parameters of the
endpoint and its dependencies; ``fastapi`` is bounded in ``pyproject.toml`` for this), which
is what the OpenAPI document lists (``tests/api/test_strict_query.py`` keeps them equal), so
what is accepted is what is documented. A parameter the route does
not declare is 400 ``invalid_query`` ("unknown parameter X; this route accepts: ..."), never
ignored; a single-valued parameter given twice is 400 ``invalid_query`` too, never "the last
one wins". A parameter declared as an array (an enumerated filter such as ``status`` or
``kind``) may be repeated: its values are OR-ed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from types import UnionType
from typing import Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.http.problems import ApiError

Declared = dict[str, bool]
"""A route's query parameters: name (alias) -> whether it may be repeated (a list)."""


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) in (Union, UnionType):
        return any(_is_list(a) for a in get_args(annotation) if a is not type(None))
    return get_origin(annotation) in (list, tuple, set, frozenset)


def _fields(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _fields(sub)


def declared(route: APIRoute) -> Declared:
    """The query parameters the route reads (its own and its dependencies'), as the OpenAPI
    document lists them (a test keeps the two the same); a walk of a few fields, so it is
    not cached (routes are not hashable)."""
    return {f.alias: _is_list(f.field_info.annotation) for f in _fields(route.dependant)}


def refuse(detail: str) -> ApiError:
    return ApiError(400, "invalid_query", "Invalid query", detail)


def strict_query(request: Request) -> None:
    """400 ``invalid_query`` for a parameter the route does not declare, or a single-valued
    one given more than once (an app-wide dependency: it runs before the route's own)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    accepts = declared(route)
    given = Counter(name for name, _ in request.query_params.multi_items())
    unknown = sorted(name for name in given if name not in accepts)
    if unknown:
        listed = ", ".join(sorted(accepts)) if accepts else "no query parameters"
        names = ", ".join(unknown)
        noun = "parameter" if len(unknown) == 1 else "parameters"
        raise refuse(f"unknown {noun} {names}; this route accepts: {listed}")
    repeated = sorted(name for name, n in given.items() if n > 1 and not accepts[name])
    if repeated:
        counts = ", ".join(f"{name} ({given[name]} times)" for name in repeated)
        raise refuse(
            f"given more than once: {counts}; each takes one value (only array parameters, "
            "such as an enumerated filter, may be repeated, to mean any of their values)"
        )
