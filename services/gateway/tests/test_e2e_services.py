"""The gateway in front of the REAL users, journal and reminders services (each served by its own
CLI under Granian, on a fresh migrated database and a real NATS): the whole path a frontend takes —
register and log in through the gateway, then use the token that the gateway and each service
verify against the JWKS the users service publishes."""

from __future__ import annotations

import os
import re
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


async def test_options_needs_no_token_on_any_service(http: httpx.AsyncClient) -> None:
    # Which methods a path allows is no secret (the OpenAPI document lists them): OPTIONS
    # without a token is the service's 204 with Allow, as every other method's 401 is not.
    item = uuid.uuid4()
    expected = {
        "/api/v1/users/me": {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH"},
        "/api/v1/admin/users": {"GET", "HEAD", "OPTIONS"},
        "/api/v1/journal/tags": {"GET", "HEAD", "OPTIONS", "POST"},
        f"/api/v1/tasks/{item}": {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH"},
        f"/api/v1/sessions/{item}/activities/{item}/start": {"OPTIONS", "POST"},
        "/api/v1/reminders": {"GET", "HEAD", "OPTIONS", "POST"},
        f"/api/v1/notifications/{item}/read": {"OPTIONS", "POST"},
    }
    for path, methods in expected.items():
        r = await http.options(path)
        assert r.status_code == 204, (path, r.status_code, r.text)
        assert set(r.headers["allow"].split(", ")) == methods, path
        assert r.content == b""
        assert "www-authenticate" not in r.headers
    # Every other method still needs the token; an unknown path is still 404.
    assert (await http.get("/api/v1/journal/tags")).status_code == 401
    assert (await http.options("/api/v1/journal/nowhere")).status_code == 404


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


async def test_etag_and_location_are_declared_exactly_where_they_are_sent(http: httpx.AsyncClient) -> None:
    """Each answer of a walk through every service, read against the merged document: the
    ``ETag``/``Location`` headers it carries are the ones its operation declares for that status."""
    doc = (await http.get("/api/v1/openapi.json")).json()
    checked: list[str] = []

    async def call(method: str, template: str, path: str, **kwargs: object) -> httpx.Response:
        r = await http.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert r.status_code < 300, (method, path, r.text)
        declared = doc["paths"][template][method.lower()]["responses"][str(r.status_code)].get("headers", {})
        named = {name for name in ("ETag", "Location") if name in declared}
        sent = {name for name in ("ETag", "Location") if name.lower() in r.headers}
        assert named == sent, (method, template, r.status_code, named, sent)
        for name in named:
            assert declared[name]["required"] is True
        if "ETag" in sent:
            assert re.fullmatch(declared["ETag"]["schema"]["pattern"], r.headers["etag"]), r.headers["etag"]
        checked.append(f"{method} {template}")
        return r

    email, password = f"hdr-{uuid.uuid4().hex[:12]}@example.com", "correct horse battery"
    await call(
        "POST", "/api/v1/auth/register", "/api/v1/auth/register", json={"email": email, "password": password}
    )
    login = await call(
        "POST", "/api/v1/auth/login", "/api/v1/auth/login", json={"email": email, "password": password}
    )
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    await call("GET", "/api/v1/users/me", "/api/v1/users/me", headers=auth)
    await call("PATCH", "/api/v1/users/me", "/api/v1/users/me", headers=auth, json={"full_name": "H"})

    entries = "/api/v1/journal/entries"
    tag = await call("POST", "/api/v1/journal/tags", "/api/v1/journal/tags", headers=auth, json={"name": "t"})
    body = {"title": "a", "content": "b", "entry_date": "2026-01-22T10:00:00Z", "tag_ids": [tag.json()["id"]]}
    entry = (await call("POST", entries, entries, headers=auth, json=body)).json()["id"]
    one = entries + "/{entry_id}"
    await call("GET", one, f"{entries}/{entry}", headers=auth)
    await call("PATCH", one, f"{entries}/{entry}", headers=auth, json={"content": "c"})
    await call("GET", one + "/revisions", f"{entries}/{entry}/revisions", headers=auth)
    revision = one + "/revisions/{revision}/restore"
    await call("POST", revision, f"{entries}/{entry}/revisions/1/restore", headers=auth)
    await call("DELETE", one, f"{entries}/{entry}", headers=auth)
    await call("POST", one + "/restore", f"{entries}/{entry}/restore", headers=auth)
    await call("GET", entries, entries, headers=auth)
    task = (await call("POST", "/api/v1/tasks", "/api/v1/tasks", headers=auth, json={"title": "t"})).json()
    await call("GET", "/api/v1/tasks/{task_id}", f"/api/v1/tasks/{task['id']}", headers=auth)

    root = (await call("POST", "/api/v1/goals", "/api/v1/goals", headers=auth, json={"title": "g"})).json()[
        "id"
    ]
    activity = await call(
        "POST",
        "/api/v1/goals/{root_id}/activities",
        f"/api/v1/goals/{root}/activities",
        headers=auth,
        json={"name": "Run", "metrics": [{"name": "km", "unit": "km"}]},
    )
    session = await call(
        "POST", "/api/v1/goals/{root_id}/sessions", f"/api/v1/goals/{root}/sessions", headers=auth, json={}
    )
    instances = f"/api/v1/sessions/{session.json()['id']}/activities"
    made = await call(
        "POST",
        "/api/v1/sessions/{session_id}/activities",
        instances,
        headers=auth,
        json={"activity_id": activity.json()["id"]},
    )
    instance = "/api/v1/sessions/{session_id}/activities/{instance_id}"
    at = f"{instances}/{made.json()['id']}"
    await call("POST", instance + "/start", at + "/start", headers=auth)
    await call("POST", instance + "/stop", at + "/stop", headers=auth)
    values = [{"metric_id": activity.json()["metrics"][0]["id"], "value": 3}]
    await call("PUT", instance + "/metrics", at + "/metrics", headers=auth, json=values)

    reminder_body = {"title": "r", "message": "m", "frequency": "daily", "time": "09:00", "timezone": "UTC"}
    reminder = await call("POST", "/api/v1/reminders", "/api/v1/reminders", headers=auth, json=reminder_body)
    item, at = "/api/v1/reminders/{reminder_id}", f"/api/v1/reminders/{reminder.json()['id']}"
    await call("GET", item, at, headers=auth)
    await call("PATCH", item, at, headers=auth, json={"title": "r2"})
    await call("DELETE", item, at, headers=auth)
    await call("POST", item + "/restore", at + "/restore", headers=auth)
    await call("GET", "/api/v1/notifications", "/api/v1/notifications", headers=auth)
    assert len(checked) == 28
