"""``/docs``: Swagger UI served from the assets shipped in the ``swagger-ui-bundle-v2`` wheel.

Nothing is loaded from another host (the validator badge is off, the page's CSP only allows
``'self'``), so the docs work on a machine without internet access.  Only the files the page
uses are served (:data:`ASSETS`): not the bundle's stock ``index.html`` or
``swagger-initializer.js`` (which point at an external demo API), and no directory lookups
whose 404 could name the server's install path.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from litestar import Response, get
from litestar.exceptions import NotFoundException

ASSETS_PATH = "/docs/assets"
OPENAPI_URL = "/api/v1/openapi.json"

DOCS_HTML = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Daybook API</title>
  <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS_PATH}/swagger-ui-bundle.js" charset="utf-8"></script>
  <script src="{ASSETS_PATH}/swagger-ui-standalone-preset.js" charset="utf-8"></script>
  <script src="/docs/init.js" charset="utf-8"></script>
</body>
</html>
"""

INIT_JS = f"""window.onload = function () {{
  window.ui = SwaggerUIBundle({{
    url: "{OPENAPI_URL}",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  }});
}};
"""

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def swagger_ui_dir() -> Path:
    from swagger_ui_bundle import swagger_ui_path

    return Path(swagger_ui_path)


#: The bundle's files the docs page loads, with their media types; nothing else is served.
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


@cache
def asset(name: str) -> bytes:
    return (swagger_ui_dir() / name).read_bytes()


def docs_handlers() -> list[Any]:
    @get("/docs", include_in_schema=False, sync_to_thread=False)
    def docs() -> Response[str]:
        return Response(
            DOCS_HTML,
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"},
        )

    @get("/docs/init.js", include_in_schema=False, sync_to_thread=False)
    def init_js() -> Response[str]:
        return Response(INIT_JS, media_type="application/javascript; charset=utf-8")

    @get(ASSETS_PATH + "/{name:str}", include_in_schema=False, sync_to_thread=False)
    def docs_asset(name: str) -> Response[bytes]:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise NotFoundException()
        return Response(
            asset(name),
            media_type=media_type,
            headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
        )

    return [docs, init_js, docs_asset]
