"""The OpenAPI contract: complete, and the file in docs/ matches the app."""

from __future__ import annotations

import json
from pathlib import Path

from api.cli.main import openapi_text
from api.http.app import create_app
from ledger.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def app_document() -> str:
    return openapi_text(create_app(Settings(database_url="memory://", allow_memory=True)))


def test_docs_openapi_json_matches_the_app() -> None:
    """Regenerate with `ledger openapi --output docs/openapi.json` when this fails."""
    assert DOC.read_text() == app_document()


def test_every_command_documents_its_statuses_headers_and_an_example() -> None:
    """Each POST lists its success and error statuses, ETag, and an example body."""
    spec = json.loads(app_document())
    commands = 0
    for path, ops in spec["paths"].items():
        op = ops.get("post")
        if op is None or "/admin/" in path or "/integrity/" in path:
            continue
        commands += 1
        statuses = set(op["responses"])
        assert {"400", "401", "403", "404", "409", "413", "415", "422", "500", "503"} <= statuses
        ok = op["responses"].get("201") or op["responses"]["200"]
        assert "ETag" in ok["headers"], path
        params = {p["name"] for p in op.get("parameters", [])}
        assert "Idempotency-Key" in params, path
        assert ("If-Match" in params) != ("201" in op["responses"]), path
        body = op.get("requestBody")
        if body is not None:
            schema_ref = body["content"]["application/json"]["schema"]
            if "anyOf" in schema_ref:  # a command without fields: an empty object or nothing
                schema_ref = schema_ref["anyOf"][0]
            ref = schema_ref["$ref"].rsplit("/", 1)[1]
            schema = spec["components"]["schemas"][ref]
            assert schema.get("examples") or not schema.get("required"), path
    assert commands == 29


def test_every_read_under_v1_declares_a_non_empty_response_schema() -> None:
    """Each GET under /v1 documents what its 200 answer holds, for every media type."""
    spec = json.loads(app_document())
    reads = 0
    for path, ops in spec["paths"].items():
        op = ops.get("get")
        if op is None or not path.startswith("/v1/"):
            continue
        reads += 1
        content = op["responses"]["200"]["content"]
        schema = content.get("application/json", content.get("application/zip", {})).get("schema")
        assert schema, path
        assert schema.get("$ref") or schema.get("type") or schema.get("anyOf"), path
    assert reads >= 19
