"""``/``: the reference web app (``web/`` at the repository root), served from its build directory.

``GATEWAY_WEB_DIR`` names the Vite build output (``index.html`` and ``assets/``); unset, ``/`` is the
gateway's usual 404 and the gateway serves the API only. The page is read on each request, so a
build that finishes while the gateway runs is served at once; until ``index.html`` exists, ``/``
answers a short "building" page (``503`` with ``Retry-After``) that reloads itself.

The emailed links of the users service (``USERS_PUBLIC_URL/reset-password?token=…`` and
``/verify-email?token=…``) are paths, not the app's hash routes, so those two paths answer the same
page; the app reads the path and the token from the address (:data:`LINK_PATHS`).

Assets have content hashes in their names (Vite), so they are cached for a year as immutable;
``index.html`` is revalidated every time. Text files are gzipped once per file version when the
client accepts it. Every answer carries the security headers: a Content-Security-Policy that allows
scripts and styles from this origin only (no inline script), ``nosniff`` and ``no-referrer``.
"""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
#: The paths of the emailed links (services/users ``mail/messages.py``): the app's page as at ``/``.
LINK_PATHS = ("/reset-password", "/verify-email")
IMMUTABLE = "public, max-age=31536000, immutable"

MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".json": "application/json",
}
COMPRESSIBLE = {".js", ".css", ".svg", ".json", ".html"}
#: An asset name as Vite writes it (``index-3f9a1c.js``): one path segment, no dot segments.
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")

BUILDING_SECONDS = 2
BUILDING_HTML = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta http-equiv="refresh" content="{BUILDING_SECONDS}">
  <title>Daybook is being built</title>
  <link rel="icon" href="data:,">
</head>
<body>
  <main>
    <h1>Daybook</h1>
    <p>The web app is being built; this page reloads by itself. The API is already up at
    <a href="/docs">/docs</a>. (If this lasts more than a minute or two, the build failed:
    the output of <code>daybook up</code> says why.)</p>
  </main>
</body>
</html>
"""


@lru_cache(maxsize=256)
def _read(path: Path, mtime_ns: int, size: int, compressed: bool) -> bytes:
    """The file's bytes (gzipped if asked), cached per version: a rebuilt file has a new mtime."""
    data = path.read_bytes()
    return gzip.compress(data, compresslevel=9, mtime=0) if compressed else data


def _file_response(
    request: Request[Any, Any, Any], path: Path, media_type: str, cache: str
) -> Response[bytes]:
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise NotFoundException() from None
    if not path.is_file():
        raise NotFoundException()
    headers = {**SECURITY_HEADERS, "Cache-Control": cache, "Vary": "Accept-Encoding"}
    compressed = path.suffix in COMPRESSIBLE and "gzip" in request.headers.get("accept-encoding", "")
    if compressed:
        headers["Content-Encoding"] = "gzip"
    body = _read(path, stat.st_mtime_ns, stat.st_size, compressed)
    return Response(body, media_type=media_type, headers=headers)


def web_handlers(web_dir: Path | None) -> list[Any]:
    """``GET /`` (and the emailed links' paths) and ``GET /assets/{name}``; none when the gateway serves the API only."""
    if web_dir is None:
        return []
    root = web_dir

    @get(["/", *LINK_PATHS], include_in_schema=False, sync_to_thread=False)
    def index(request: Request[Any, Any, Any]) -> Response[bytes] | Response[str]:
        page = root / "index.html"
        if not page.is_file():
            headers = {**SECURITY_HEADERS, "Cache-Control": "no-store", "Retry-After": str(BUILDING_SECONDS)}
            return Response(BUILDING_HTML, status_code=503, media_type="text/html", headers=headers)
        return _file_response(request, page, "text/html", "no-cache")

    @get("/assets/{name:str}", include_in_schema=False, sync_to_thread=False)
    def asset(request: Request[Any, Any, Any], name: str) -> Response[bytes]:
        media_type = MEDIA_TYPES.get(Path(name).suffix)
        if media_type is None or not ASSET_NAME.match(name):
            raise NotFoundException()
        return _file_response(request, root / "assets" / name, media_type, IMMUTABLE)

    return [index, asset]
