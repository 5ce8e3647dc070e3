"""``/docs``: the Swagger UI page, with its assets served by the app itself.

FastAPI's own page loads Swagger UI from a CDN, so on a host without Internet
access it is blank. The JavaScript, CSS and icon come instead from the installed
``fastapi-swagger`` package (a copy of the Swagger UI distribution kept up with its
releases) under ``/docs/assets/``; the page names nothing outside the app.
The app is created with ``docs_url=None`` and includes :data:`router`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Final

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

ASSETS_PACKAGE: Final = "fastapi_swagger.resources"
PREFIX: Final = "/docs/assets"
# Only these are served (the package directory holds Python files too).
MEDIA_TYPES: Final = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}

router = APIRouter(include_in_schema=False)


@cache
def asset(name: str) -> bytes:
    """The bytes of one Swagger UI file, read from the package once per process."""
    return resources.files(ASSETS_PACKAGE).joinpath(name).read_bytes()


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    app = request.app
    return get_swagger_ui_html(
        openapi_url=root + app.openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{root}{PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{root}{PREFIX}/favicon-32x32.png",
    )


@router.get(PREFIX + "/{name}")
def swagger_asset(name: str) -> Response:
    media_type = MEDIA_TYPES.get(name)
    if media_type is None:
        raise HTTPException(404, "not found")
    # The files change only with the installed package: let a browser keep them a day.
    return Response(
        asset(name), media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
    )
