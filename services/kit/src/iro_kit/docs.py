"""Swagger UI and ReDoc, served by each service from assets shipped in a Python package.

Councils run the services on closed networks and ops read these pages at 3 a.m., so nothing
here is fetched from a CDN or from Google Fonts: the pages are FastAPI's own, pointed at the
copies of Swagger UI and ReDoc in the `fastapi-offline` package, served under the service's
prefix (`/<prefix>/docs/assets/...`). The gateway routes by prefix, so the same URLs work
against a service directly and through nginx.

The pages need no token and are not in the OpenAPI schema, like health and metrics.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"

# The asset URLs carry the package's version, so a browser may keep them for a week and still
# fetches new copies the day the package is upgraded.
_ASSETS_VERSION = version("fastapi-offline")
_ASSET_CACHE = "public, max-age=604800"
# The pages name the schema and the asset versions: revalidated on every visit (cheap).
_PAGE_CACHE = "no-cache"

SWAGGER_UI_PARAMETERS: dict[str, Any] = {
    "persistAuthorization": True,
    # Swagger UI's default is to send the schema's URL to validator.swagger.io.
    "validatorUrl": None,
}


class _DocsAssets(StaticFiles):
    """The package's static directory, with a cache lifetime (ETag and 304s from Starlette)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = _ASSET_CACHE
        return response


def install_docs(app: FastAPI, prefix: str) -> None:
    """`<prefix>/docs` (Swagger UI), its OAuth2 redirect, `<prefix>/redoc` and their assets."""
    docs_url, redoc_url = f"{prefix}/docs", f"{prefix}/redoc"
    assets_url = f"{prefix}/docs/assets"
    oauth2_redirect_url = f"{docs_url}/oauth2-redirect"

    def urls(request: Request) -> tuple[str, str]:
        root = request.scope.get("root_path", "").rstrip("/")
        return f"{root}{app.openapi_url}", f"{root}{assets_url}"

    async def swagger_ui(request: Request) -> HTMLResponse:
        openapi_url, assets = urls(request)
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js?v={_ASSETS_VERSION}",
            swagger_css_url=f"{assets}/swagger-ui.css?v={_ASSETS_VERSION}",
            swagger_favicon_url=f"{assets}/favicon.png?v={_ASSETS_VERSION}",
            oauth2_redirect_url=f"{root}{oauth2_redirect_url}",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
        return _page(page)

    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return _page(get_swagger_ui_oauth2_redirect_html())

    async def redoc(request: Request) -> HTMLResponse:
        openapi_url, assets = urls(request)
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js?v={_ASSETS_VERSION}",
            redoc_favicon_url=f"{assets}/favicon.png?v={_ASSETS_VERSION}",
            with_google_fonts=False,
        )
        return _page(page)

    for path, endpoint in (
        (docs_url, swagger_ui),
        (oauth2_redirect_url, swagger_ui_oauth2_redirect),
        (redoc_url, redoc),
    ):
        # "ops", as health and metrics are: public, for people and tools, not in the schema.
        app.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False, tags=["ops"])
    app.mount(assets_url, _DocsAssets(directory=ASSETS), name="docs-assets")


def _page(page: HTMLResponse) -> HTMLResponse:
    page.headers["Cache-Control"] = _PAGE_CACHE
    return page
