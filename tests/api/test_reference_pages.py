"""The API reference opens on a closed network: every HTML page the service serves (/docs,
/redoc, the OAuth2 redirect) loads only what the service itself serves, and each asset it loads
answers 200 with the SHA-256 recorded in api/http/static/assets.json."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.reference import PREFIX, STATIC
from ledger.settings import Settings

ASSETS = json.loads((STATIC / "assets.json").read_text())
ABSOLUTE = re.compile(r"""(?:https?:)?//[a-z0-9.-]+""", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)
SOURCE_MAP = re.compile(r"sourceMappingURL=(\S+)")


class Loads(HTMLParser):
    """The URLs a page makes the browser load or follow, and its inline scripts and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (tag.attribute, url)
        self.inline: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("src", "href", "spec-url", "action", "poster", "data"):
                self.urls.append((f"{tag}.{name}", value))
            if value and name == "srcset":
                self.urls += [(f"{tag}.srcset", part.split()[0]) for part in value.split(",")]
            if value and name == "style":
                self.inline.append(value)
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in and data.strip():
            self.inline.append(data)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("reference")
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp / 'ledger.db'}",
            log_format="json",
            signing_key_path=tmp / "keys" / "signing-key.pem",
        )
    )
    with TestClient(app) as c:
        yield c


def html_pages(client: TestClient) -> dict[str, str]:
    """Every GET route without path parameters whose answer is HTML, with its text."""
    pages = {}
    for route in client.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", None) or set()
        if "GET" not in methods or "{" in path:
            continue
        r = client.get(path)
        if r.headers.get("content-type", "").startswith("text/html"):
            pages[path] = r.text
    return pages


def same_host(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.netloc and parts.scheme in ("", "data")


def test_the_reference_pages_are_the_html_the_service_serves(client: TestClient) -> None:
    """/docs, /redoc and the OAuth2 redirect answer HTML; FastAPI's CDN pages are gone."""
    pages = html_pages(client)
    assert set(pages) == {"/docs", "/redoc", "/docs/oauth2-redirect"}
    routes = [r for r in client.app.routes if isinstance(r, APIRoute)]  # type: ignore[attr-defined]
    assert not [r.path for r in routes if r.include_in_schema and r.path in pages]


def test_no_page_loads_anything_from_another_host(client: TestClient) -> None:
    """Each src/href of each page is on this host, and no inline script or style names an
    absolute URL (the spec, the OAuth2 redirect and the assets are all relative)."""
    for path, html in html_pages(client).items():
        page = Loads()
        page.feed(html)
        elsewhere = [(where, url) for where, url in page.urls if not same_host(url)]
        assert elsewhere == [], path
        for text in page.inline:
            assert ABSOLUTE.findall(text) == [], (path, text[:200])


def test_swagger_ui_is_told_not_to_load_the_online_validator_badge(client: TestClient) -> None:
    """Swagger UI shows a badge image from the validator's host unless validatorUrl is null:
    the one thing its bundle would load from elsewhere on its own."""
    html = client.get("/docs").text
    assert '"validatorUrl": null' in html
    assert "url: '/openapi.json'" in html
    assert 'spec-url="/openapi.json"' in client.get("/redoc").text
    assert "fonts.googleapis" not in client.get("/redoc").text


def loaded_assets(client: TestClient) -> set[str]:
    found = set()
    for html in html_pages(client).values():
        page = Loads()
        page.feed(html)
        found |= {url for where, url in page.urls if where != "redoc.spec-url"}
    return found


def test_every_asset_a_page_loads_answers_200_with_its_recorded_hash(client: TestClient) -> None:
    """The scripts, styles and favicon the pages name are served from the package, byte for
    byte what the registry gave (assets.json)."""
    assets = loaded_assets(client)
    assert {f"{PREFIX}/{n}" for n in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")} | {
        f"{PREFIX}/redoc.standalone.js"
    } <= assets
    for url in assets:
        r = client.get(url)
        assert r.status_code == 200, url
        name = url.removeprefix(f"{PREFIX}/")
        assert hashlib.sha256(r.content).hexdigest() == ASSETS["files"][name]["sha256"], url


def test_the_served_styles_and_scripts_load_nothing_from_another_host(client: TestClient) -> None:
    """The CSS imports and url()s nothing absolute; a source map named by a script is
    relative (it resolves on this host)."""
    for url in loaded_assets(client):
        r = client.get(url)
        if url.endswith(".css"):
            refs = [a or b for a, b in CSS_URL.findall(r.text)]
            assert [u for u in refs if not same_host(u)] == [], url
        if url.endswith((".js", ".css")):
            for ref in SOURCE_MAP.findall(r.text):
                assert same_host(ref), (url, ref)


def test_every_vendored_file_is_served_and_the_favicon_too(client: TestClient) -> None:
    """Each file assets.json lists answers 200 with its hash; /favicon.ico is the PNG."""
    for name, entry in ASSETS["files"].items():
        r = client.get(f"{PREFIX}/{name}")
        assert r.status_code == 200, name
        assert hashlib.sha256(r.content).hexdigest() == entry["sha256"], name
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/png"
    assert icon.content == (STATIC / "favicon.png").read_bytes()


def test_the_recorded_versions_are_the_ones_the_vendoring_script_pins() -> None:
    """assets.json and scripts/vendor-docs-assets agree (swagger-ui-dist 5, redoc 2: ReDoc 3
    sends telemetry to its vendor's host)."""
    script = (Path(__file__).resolve().parents[2] / "scripts" / "vendor-docs-assets").read_text()
    for name, entry in ASSETS["packages"].items():
        assert f'"{name}": (\n        "{entry["version"]}"' in script, name
        assert entry["integrity"].startswith("sha512-")
    assert ASSETS["packages"]["redoc"]["version"].startswith("2.")
    for name in ASSETS["files"]:
        assert (
            hashlib.sha256((STATIC / name).read_bytes()).hexdigest()
            == (ASSETS["files"][name]["sha256"])
        )
