"""Finishing touches to the generated OpenAPI document: the bearer security scheme, and the
header patterns FastAPI does not carry over into optional header parameters."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.deps import IDEMPOTENCY_KEY, IF_MATCH

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
        app.openapi_schema = doc
        return doc

    app.openapi = build  # type: ignore[method-assign]
