"""``/docs``: Swagger UI served from the assets shipped in the ``swagger-ui-bundle-v2`` wheel.

Nothing is loaded from another host (the validator badge is off, the page's CSP only allows
``'self'``), so the docs work on a machine without internet access.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

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

    assets: Router = create_static_files_router(
        path=ASSETS_PATH,
        directories=[swagger_ui_dir()],
        name="docs-assets",
        cache_control=CacheControlHeader(max_age=86_400, public=True),
        include_in_schema=False,
    )
    return [docs, init_js, assets]
