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


async def test_security_headers_on_every_answer_and_no_store_on_a_callers_data(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """Every answer says ``nosniff``; an authenticated one that sets no caching of its own gets
    ``Cache-Control: no-store`` (a journal page must not stay in a shared browser's cache), one
    that does keeps it; public answers are left to their service."""
    answers = {
        "proxied, authenticated": await client.get("/api/v1/journal/entries", headers=auth),
        "proxied, empty": await client.delete("/api/v1/journal/entries/empty", headers=auth),
        "refused token": await client.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"}),
        "no token": await client.get("/api/v1/reminders"),
        "own route": await client.get("/health"),
        "unknown path": await client.get("/api/v1/nothing-here"),
        "public route": await client.post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x"}),
    }
    for label, r in answers.items():
        assert r.headers.get_list("x-content-type-options") == ["nosniff"], (label, r.headers)
    for label in ("proxied, authenticated", "proxied, empty"):
        assert answers[label].headers.get_list("cache-control") == ["no-store"], label
    assert "cache-control" not in answers["public route"].headers
    r = await client.get(
        "/api/v1/journal/entries", headers={**auth, "X-Stub-Cache-Control": "private, max-age=5"}
    )
    assert r.status_code == 200 and r.headers.get_list("cache-control") == ["private, max-age=5"]
