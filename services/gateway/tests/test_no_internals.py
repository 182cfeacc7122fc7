"""No internals in the gateway's answers (issue 12): only the docs page's own assets are served
(not the Swagger bundle's stock files), a 404 names neither the client's path nor a server-side
one, and every refused access token gets the same 401 detail (the reason is logged)."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest
from joserfc.jwk import ECKey

from daybook_devtools.testing.tokens import TestSigner


@pytest.mark.parametrize(
    "path",
    [
        "/docs/assets/index.html",
        "/docs/assets/swagger-initializer.js",
        "/docs/assets/oauth2-redirect.html",
        "/docs/assets/swagger-ui-bundle.js.map",
        "/docs/assets/%2e",
        "/docs/assets/%2e%2e",
        "/docs/assets/%00",
        "/docs/assets/..%2f..%2fetc%2fpasswd",
        "/docs/assets/",
        "/no-such-page-secret-marker",
    ],
)
async def test_only_the_docs_assets_are_served_and_404s_say_nothing(
    client: httpx.AsyncClient, path: str
) -> None:
    r = await client.get(path)
    assert r.status_code == 404, (path, r.status_code, r.text[:200])
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"] == "No resource at this path"
    assert "site-packages" not in r.text and "secret-marker" not in r.text and "passwd" not in r.text


async def test_the_docs_page_assets_are_still_served(client: httpx.AsyncClient) -> None:
    for name in (
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
    ):
        r = await client.get(f"/docs/assets/{name}")
        assert r.status_code == 200, name
        assert r.content


async def test_every_refused_token_gets_one_generic_401(
    client: httpx.AsyncClient, signer: TestSigner, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = TestSigner(key=ECKey.generate_key("P-256", parameters={"kid": "not-ours"}))
    user = uuid.uuid4()
    good = signer.headers(user, ttl=600)["Authorization"]
    header, payload, _ = good.removeprefix("Bearer ").split(".")
    tokens = {
        "missing": None,
        "malformed": "Bearer not-a-jwt",
        "unknown key": stranger.headers(user, ttl=600)["Authorization"],
        "expired": signer.headers(user, ttl=-3600)["Authorization"],
        "alg none": f"Bearer {header}.{payload}.",
    }
    caplog.set_level(logging.INFO, logger="daybook.gateway")
    details = set()
    for label, token in tokens.items():
        headers = {"Authorization": token} if token else {}
        r = await client.get("/api/v1/journal/entries", headers=headers)
        assert r.status_code == 401, label
        details.add(r.json()["detail"])
    assert details == {"Missing or invalid access token"}
    assert any("unknown signing key" in r.getMessage() for r in caplog.records)
