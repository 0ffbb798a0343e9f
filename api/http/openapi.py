"""Finishing touches to the generated OpenAPI document: the bearer security scheme, and the
header patterns FastAPI does not carry over into optional header parameters."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.http.deps import IDEMPOTENCY_KEY, IF_MATCH

PUBLIC = ("/healthz", "/readyz", "/metrics", "/v1/integrity/keys")
PATTERNS = {"Idempotency-Key": IDEMPOTENCY_KEY.pattern, "If-Match": IF_MATCH.pattern}


def install(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        doc.setdefault("components", {})["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key issued by `ledger keys create`",
            }
        }
        for path, ops in doc["paths"].items():
            for op in ops.values():
                params = op.get("parameters", [])
                op["parameters"] = [p for p in params if p["name"].lower() != "authorization"]
                if not op["parameters"]:
                    del op["parameters"]
                for p in op.get("parameters", []):
                    if p["name"] in PATTERNS:
                        p["schema"] = {
                            "type": "string",
                            "pattern": PATTERNS[p["name"]],
                            "description": p["schema"].get("description", ""),
                        }
                if path not in PUBLIC:
                    op["security"] = [{"bearer": []}]
                _complete_responses(path, method_of(ops, op), op)
        app.openapi_schema = doc
        return doc

    app.openapi = build  # type: ignore[method-assign]


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
ETAG = {"description": "The aggregate's version", "schema": {"type": "string"}}
VERSIONED = (
    "/v1/campaigns/{campaign_id}",
    "/v1/recommendations/{recommendation_id}",
    "/v1/organizations/{organization_id}",
)


def method_of(ops: dict[str, Any], op: dict[str, Any]) -> str:
    return next(m for m, o in ops.items() if o is op)


def _complete_responses(path: str, method: str, op: dict[str, Any]) -> None:
    """Errors as application/problem+json with the Problem schema; 405 (with Allow) on every
    operation; 413 and 415 on every POST; ETag on the versioned GETs."""
    responses = op.setdefault("responses", {})
    if path:  # every path answers 405 (with Allow) to a method it does not serve
        responses.setdefault(
            "405",
            {
                "description": "Method not allowed",
                "headers": {"Allow": {"schema": {"type": "string"}}},
            },
        )
    if method == "post":
        responses.setdefault("413", {"description": "Body over 64 KiB"})
        responses.setdefault("415", {"description": "Body is not application/json"})
    for status, response in responses.items():
        if status.isdigit() and int(status) >= 400:
            response["content"] = {"application/problem+json": {"schema": PROBLEM_REF}}
    if method == "get" and path in VERSIONED:
        responses["200"].setdefault("headers", {})["ETag"] = ETAG
