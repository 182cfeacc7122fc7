"""The gateway in front of the REAL users, journal and reminders services (each served by its own
CLI under Granian, on a fresh migrated database and a real NATS): the whole path a frontend takes —
register and log in through the gateway, then use the token that the gateway and each service
verify against the JWKS the users service publishes."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from gateway_support import Servers, bin_path, servers, wait_ready

from daybook_devtools.embedded import free_port
from daybook_devtools.testing.databases import TestDatabase

SERVICES = ("users", "journal", "reminders")


@pytest.fixture(scope="module")
async def stack(
    fresh_database: TestDatabase, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    import importlib

    for name in SERVICES:
        fresh_database.migrate(name, importlib.import_module(f"daybook_{name}").SCRIPT_LOCATION)
    workdir = tmp_path_factory.mktemp("stack")
    ports = {name: free_port() for name in ("gateway", *SERVICES)}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    jwks_url = urls["users"] + "/api/v1/auth/jwks"
    base = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with servers(workdir) as group:
        for name in SERVICES:
            prefix = name.upper()
            env = {
                **base,
                f"{prefix}_PORT": str(ports[name]),
                f"{prefix}_DATABASE_URL": fresh_database.url(name),
                f"{prefix}_NATS_URL": nats_url,
                f"{prefix}_JWKS_URL": jwks_url,
                f"{prefix}_LOG_LEVEL": "WARNING",
            }
            if name == "users":
                env["USERS_SIGNING_KEY_FILE"] = str(workdir / "signing-key.pem")
            group.start(name, [bin_path(f"daybook-{name}"), "serve"], env, ports[name])
        await group.wait()
        gateway_env = {
            **base,
            "GATEWAY_PORT": str(ports["gateway"]),
            "GATEWAY_USERS_URL": urls["users"],
            "GATEWAY_JOURNAL_URL": urls["journal"],
            "GATEWAY_REMINDERS_URL": urls["reminders"],
            "GATEWAY_JWKS_URL": jwks_url,
        }
        group.start("gateway", [bin_path("daybook-gateway"), "serve"], gateway_env, ports["gateway"])
        await group.wait()
        ready = await wait_ready(urls["gateway"] + "/ready")
        assert ready.status_code == 200, _logs(group, ready.text)
        yield urls["gateway"]


def _logs(group: Servers, text: str) -> str:
    return text + "\n" + "\n".join(f"--- {n}\n{group.log(n)[-1500:]}" for n, _, _ in group.procs)


@pytest.fixture
async def http(stack: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack, timeout=30) as c:
        yield c


async def test_ready_reports_every_real_service(http: httpx.AsyncClient) -> None:
    r = await http.get("/ready")
    assert r.status_code == 200
    assert {name: v["status"] for name, v in r.json()["upstreams"].items()} == dict.fromkeys(
        SERVICES, "ready"
    )
    assert r.json()["signing_keys"] == "loaded"


async def test_register_login_and_use_every_service_through_the_gateway(http: httpx.AsyncClient) -> None:
    email = f"gw-{uuid.uuid4().hex[:12]}@example.com"
    password = "correct horse battery"
    r = await http.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    r = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}

    r = await http.get("/api/v1/users/me", headers={**auth, "X-Request-ID": "e2e-me"})
    assert r.status_code == 200, r.text
    assert r.json()["email"] == email
    assert r.headers["x-request-id"] == "e2e-me"

    for path in ("/api/v1/journal/entries", "/api/v1/tasks", "/api/v1/reminders", "/api/v1/notifications"):
        r = await http.get(path, headers=auth)
        assert r.status_code == 200, (path, r.text)
        assert r.json()["items"] == []

    r = await http.get("/api/v1/journal/entries")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_merged_openapi_of_the_real_services(http: httpx.AsyncClient) -> None:
    r = await http.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert "x-daybook-unavailable" not in doc
    for path in (
        "/api/v1/auth/login",
        "/api/v1/users/me",
        "/api/v1/journal/entries",
        "/api/v1/tasks",
        "/api/v1/reminders",
        "/api/v1/notifications",
        "/health",
        "/docs",
    ):
        assert path in doc["paths"], path
