"""The API reference pages, /docs (Swagger UI) and /redoc (ReDoc), served with their scripts,
styles and favicon from the package itself, so they open on a closed network.

The assets are vendored from the npm registry by ``scripts/vendor-docs-assets``, which records
their versions and SHA-256 in ``static/assets.json`` beside them. No page references another
host: the Google Fonts link of ReDoc is left out and Swagger UI's online validator badge (an
image from the validator's host) is turned off.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/static/reference"
FAVICON = f"{PREFIX}/favicon.png"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"


def install(app: FastAPI) -> None:
    """Serve the assets and the two pages; the app is made with ``docs_url=None`` and
    ``redoc_url=None`` so FastAPI's own pages (which load from a CDN) are not there."""
    app.mount(PREFIX, StaticFiles(directory=STATIC), name="reference-assets")
    title = f"{app.title}: API reference"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/swagger-ui.css",
            swagger_favicon_url=FAVICON,
            oauth2_redirect_url=OAUTH2_REDIRECT,
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            redoc_js_url=f"{PREFIX}/redoc.standalone.js",
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.png", media_type="image/png")
