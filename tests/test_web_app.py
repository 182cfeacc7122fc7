"""The web app at ``/`` through the gateway: in compose (``daybook images test``) the gateway
container's own build of ``web/``, copied into its image; in a stack these tests start, the small
build ``conftest`` gives it. Either way the page, its hashed script and the security headers."""

from __future__ import annotations

import re

import httpx


def test_the_gateway_serves_the_web_app_at_root(http: httpx.Client) -> None:
    page = http.get("/")
    assert page.status_code == 200, page.text[:500]
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert '<div id="root"></div>' in page.text
    scripts = re.findall(r'<script type="module" crossorigin src="(/assets/[^"]+\.js)"', page.text)
    assert len(scripts) == 1, page.text
    script = http.get(scripts[0], headers={"Accept-Encoding": "gzip"})
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert script.headers["content-encoding"] == "gzip"
    assert "document" in script.text  # httpx decompressed it: a script, not an error page
    # The API beside it is unchanged.
    assert http.get("/api/v1/journal/entries").status_code == 401
