"""Routing, authentication at the edge, request ids and forwarded headers."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from gateway_support import PEER, Upstreams
from joserfc.jwk import ECKey

from daybook_devtools.testing.tokens import TestSigner

ROUTES = [
    ("/api/v1/auth/login", "users"),
    ("/api/v1/users/me", "users"),
    ("/api/v1/admin/users", "users"),
    ("/api/v1/journal/entries", "journal"),
    ("/api/v1/tasks", "journal"),
    ("/api/v1/reminders", "reminders"),
    ("/api/v1/notifications/0190/read", "reminders"),
]
# What the services may receive from the gateway besides the client's own end-to-end headers.
GATEWAY_ADDED = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-id"}


def only_seen_by(upstreams: Upstreams, name: str) -> Any:
    for stub in upstreams.all():
        if stub.name != name:
            assert stub.seen == [], f"{stub.name} should not have been called"
    target = getattr(upstreams, name)
    assert len(target.seen) == 1
    return target.seen[0]


@pytest.mark.parametrize(("path", "service"), ROUTES)
async def test_each_prefix_reaches_its_service_unchanged(
    client: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str], path: str, service: str
) -> None:
    r = await client.get(path, params={"q": "café au lait", "tag": ["a", "b"]}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["service"] == service
    assert r.headers["x-upstream"] == service
    seen = only_seen_by(upstreams, service)
    assert seen.method == "GET"
    assert seen.path_qs == f"{path}?q=caf%C3%A9+au+lait&tag=a&tag=b"


async def test_percent_encoding_and_prefix_itself_are_forwarded_verbatim(
    client: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    r = await client.get("/api/v1/tasks", headers=auth)
    assert r.status_code == 200
    r = await client.get("/api/v1/journal/tags/a%2Fb%20c", headers=auth)
    assert r.status_code == 200
    assert upstreams.journal.paths() == ["/api/v1/tasks", "/api/v1/journal/tags/a%2Fb%20c"]


async def test_body_method_and_response_metadata_pass_through(
    client: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    payload = b'{"title": "Hello", "entry_date": "2026-01-22"}'
    r = await client.post(
        "/api/v1/journal/entries/created",
        content=payload,
        headers={**auth, "Content-Type": "application/json", "Idempotency-Key": "k-1"},
    )
    assert r.status_code == 201
    assert r.headers["location"] == "/api/v1/journal/entries/1"
    assert r.headers["etag"] == '"v1"'
    seen = upstreams.journal.seen[0]
    assert seen.method == "POST" and seen.body == payload
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["content-length"] == str(len(payload))
    assert seen.headers["idempotency-key"] == "k-1"

    for method in ("PATCH", "PUT", "DELETE"):
        r = await client.request(method, "/api/v1/tasks/1", headers=auth, content=b"{}")
        assert r.json()["method"] == method
    r = await client.delete("/api/v1/tasks/empty", headers=auth)
    assert r.status_code == 204 and r.content == b""


async def test_unknown_paths_are_the_gateways_own_404(
    client: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    for path in (
        "/nope",
        "/api/v1/unknown",
        "/api/v1/journalx/entries",
        "/api/v2/journal/entries",
        "/schema",
    ):
        r = await client.get(path, headers=auth)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == 404
    assert all(stub.seen == [] for stub in upstreams.all())


async def test_dot_segments_are_refused_not_resolved(
    client: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    r = await client.get("/api/v1/auth/%2E%2E/%2E%2E/journal/entries")
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert all(stub.seen == [] for stub in upstreams.all())


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Bearer " + "x" * 40},
    ],
    ids=["missing", "basic", "empty-bearer", "garbage", "not-jws"],
)
async def test_missing_or_malformed_token_is_401_before_any_upstream(
    client: httpx.AsyncClient, upstreams: Upstreams, headers: dict[str, str]
) -> None:
    for path in (
        "/api/v1/journal/entries",
        "/api/v1/users/me",
        "/api/v1/notifications",
        "/api/v1/admin/users",
    ):
        r = await client.get(path, headers=headers)
        assert r.status_code == 401, (path, r.text)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == 401
    r = await client.post("/api/v1/tasks", headers=headers, content=b'{"title": "x"}')
    assert r.status_code == 401
    assert all(stub.seen == [] for stub in upstreams.all())


async def test_expired_forged_and_foreign_tokens_are_401(
    client: httpx.AsyncClient, upstreams: Upstreams, signer: TestSigner
) -> None:
    user = uuid.uuid4()
    other_key = TestSigner()  # same kid, different key: the signature cannot verify
    stranger = TestSigner(key=ECKey.generate_key("P-256", parameters={"kid": "someone-elses-key"}))
    tokens = {
        "expired": signer.token(user, ttl=-3600),
        "wrong audience": signer.token(user, aud="another-api"),
        "wrong issuer": signer.token(user, iss="evil"),
        "no subject": signer.token(user, sub=None),
        "bad signature": other_key.token(user),
        "unknown key": stranger.token(user),
    }
    for reason, token in tokens.items():
        r = await client.get("/api/v1/journal/entries", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, reason
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert all(stub.seen == [] for stub in upstreams.all())


async def test_auth_paths_are_public_and_authorization_passes_through_unchanged(
    client: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    for path in ("register", "login", "refresh", "logout"):
        r = await client.post(f"/api/v1/auth/{path}", json={"email": "a@b.c"})
        assert r.status_code == 200, path
    r = await client.get("/api/v1/auth/jwks")
    assert r.status_code == 200
    assert [s.path_qs for s in upstreams.users.seen] == [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/jwks",
    ]
    r = await client.get("/api/v1/reminders", headers=auth)
    assert r.status_code == 200
    seen = upstreams.reminders.seen[0]
    assert seen.headers["authorization"] == auth["Authorization"]


async def test_gateway_adds_no_identity_headers(
    client: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    await client.get("/api/v1/journal/entries", headers={**auth, "Accept": "application/json"})
    seen = upstreams.journal.seen[0]
    sent = {"host", "accept", "authorization", "user-agent", "accept-encoding", "connection"}
    extra = {k.lower() for k in seen.headers} - sent - GATEWAY_ADDED
    assert extra == set(), extra


async def test_request_id_is_echoed_and_propagated(
    client: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    r = await client.get("/api/v1/tasks", headers={**auth, "X-Request-ID": "req-123.abc:9"})
    assert r.headers["x-request-id"] == "req-123.abc:9"
    assert upstreams.journal.seen[-1].headers["x-request-id"] == "req-123.abc:9"

    r = await client.get("/api/v1/tasks", headers=auth)
    generated = r.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert upstreams.journal.seen[-1].headers["x-request-id"] == generated

    for bad in ("has spaces in it", "x" * 129, "semi;colon"):
        r = await client.get("/api/v1/tasks", headers={**auth, "X-Request-ID": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
        assert upstreams.journal.seen[-1].headers["x-request-id"] == r.headers["x-request-id"]

    # the gateway's own responses and its refusals carry one too
    for path, headers in (("/health", {}), ("/nope", {}), ("/api/v1/tasks", {})):
        r = await client.get(path, headers={**headers, "X-Request-ID": "own-1"})
        assert r.headers["x-request-id"] == "own-1", path
        assert r.headers.get_list("x-request-id") == ["own-1"]


async def test_upstream_request_id_header_is_replaced_by_the_gateways(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    r = await client.get("/api/v1/tasks/hop", headers={**auth, "X-Request-ID": "mine"})
    assert r.headers.get_list("x-request-id") == ["mine"]


async def test_hop_by_hop_headers_are_stripped_both_ways(
    client: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    r = await client.get(
        "/api/v1/tasks/hop",
        headers={
            **auth,
            "Connection": "keep-alive, X-Private-Hop",
            "X-Private-Hop": "secret",
            "Keep-Alive": "timeout=100",
            "TE": "trailers",
            "Proxy-Authorization": "Basic Zm9vOmJhcg==",
            "Upgrade": "websocket",
            "X-End-To-End": "kept",
        },
    )
    assert r.status_code == 200
    seen = upstreams.journal.seen[0].headers
    for name in ("x-private-hop", "keep-alive", "te", "proxy-authorization", "upgrade", "transfer-encoding"):
        assert name not in seen, name
    assert seen["x-end-to-end"] == "kept"
    for name in ("keep-alive", "proxy-authenticate", "trailer", "upgrade"):
        assert name not in r.headers, name
    assert r.headers["x-kept"] == "yes"


async def test_forwarded_headers_name_the_real_peer(
    client: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    await client.get(
        "/api/v1/tasks",
        headers={
            **auth,
            "X-Forwarded-For": "6.6.6.6",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "evil",
        },
    )
    seen = upstreams.journal.seen[0].headers
    assert seen.getall("x-forwarded-for") == [PEER]  # an untrusted client cannot spoof its address
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == "gateway.test"
    assert seen["host"] == "gateway.test"


async def test_trusted_proxy_chain_is_extended(
    make_gateway: Any, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    async with make_gateway(GATEWAY_TRUSTED_PROXIES=f"{PEER}/32") as c:
        await c.get(
            "/api/v1/tasks",
            headers={
                **auth,
                "X-Forwarded-For": "203.0.113.9",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "app.example",
            },
        )
    seen = upstreams.journal.seen[0].headers
    assert seen["x-forwarded-for"] == f"203.0.113.9, {PEER}"
    assert seen["x-forwarded-proto"] == "https"
    assert seen["x-forwarded-host"] == "app.example"


async def test_health_is_the_gateways_own(client: httpx.AsyncClient, upstreams: Upstreams) -> None:
    r = await client.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert all(stub.seen == [] for stub in upstreams.all())
    r = await client.delete("/health")
    assert r.status_code == 405
    assert r.headers["content-type"].startswith("application/problem+json")
