"""``/``: the web app's build served by the gateway (``GATEWAY_WEB_DIR``), with its security headers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from daybook_gateway.web import CSP

INDEX = (
    '<!DOCTYPE html><html><head><script type="module" src="/assets/index-abc123.js"></script></head></html>'
)


def assert_secure(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CSP
    assert "unsafe-inline" not in CSP.split("script-src", 1)[1].split(";", 1)[0]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_without_a_web_dir_slash_is_the_usual_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_building_page_until_the_build_exists(make_gateway: Callable[..., Any], tmp_path: Path) -> None:
    async with make_gateway(GATEWAY_WEB_DIR=str(tmp_path)) as client:
        building = await client.get("/")
        assert building.status_code == 503
        assert building.headers["content-type"] == "text/html; charset=utf-8"
        assert building.headers["retry-after"] == "2"
        assert "being built" in building.text
        assert '<meta http-equiv="refresh"' in building.text
        assert "<script" not in building.text
        assert_secure(building)

        (tmp_path / "index.html").write_text(INDEX)  # the build finished while the gateway runs
        page = await client.get("/")
        assert page.status_code == 200
        assert page.text == INDEX
        assert page.headers["cache-control"] == "no-cache"
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert_secure(page)


async def test_hashed_assets_are_long_cached_and_gzipped(
    make_gateway: Callable[..., Any], tmp_path: Path
) -> None:
    (tmp_path / "assets").mkdir()
    script = b"console.log('daybook');\n" * 100
    (tmp_path / "assets" / "index-abc123.js").write_bytes(script)
    (tmp_path / "index.html").write_text(INDEX)
    async with make_gateway(GATEWAY_WEB_DIR=str(tmp_path)) as client:
        plain = await client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200
        assert plain.content == script
        assert plain.headers["content-type"] == "text/javascript; charset=utf-8"
        assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "content-encoding" not in plain.headers
        assert_secure(plain)

        packed = await client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip, br"})
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.headers["vary"] == "Accept-Encoding"
        assert int(packed.headers["content-length"]) < len(script) / 10
        assert packed.content == script  # httpx decodes it


async def test_only_asset_files_are_served(make_gateway: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "secret.js").write_text("outside assets/")
    (tmp_path / "assets" / "notes.txt").write_text("not an asset type")
    async with make_gateway(GATEWAY_WEB_DIR=str(tmp_path)) as client:
        for path in (
            "/assets/missing-1.js",
            "/assets/notes.txt",
            "/assets/..%2fsecret.js",
            "/assets/.hidden.js",
            "/secret.js",
            "/index.html",
        ):
            response = await client.get(path)
            assert response.status_code in (400, 404), path
            assert "outside assets" not in response.text
            assert str(tmp_path) not in response.text
        # The API is unchanged beside the app.
        assert (await client.get("/health")).json() == {"status": "ok"}


async def test_emailed_link_paths_open_the_app(make_gateway: Callable[..., Any], tmp_path: Path) -> None:
    """The users service mails ``<public url>/reset-password?token=…`` and ``/verify-email?token=…``."""
    (tmp_path / "index.html").write_text(INDEX)
    async with make_gateway(GATEWAY_WEB_DIR=str(tmp_path)) as client:
        for path in ("/reset-password?token=abc", "/verify-email?token=abc"):
            page = await client.get(path)
            assert page.status_code == 200, path
            assert page.text == INDEX
            assert page.headers["cache-control"] == "no-cache"
            assert_secure(page)
        assert (await client.get("/reset-password/extra")).status_code == 404
