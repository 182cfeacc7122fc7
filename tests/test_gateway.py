"""The gateway and every upstream answer through it."""

from __future__ import annotations

import httpx


def test_health(http: httpx.Client) -> None:
    r = http.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_ready_with_every_upstream(http: httpx.Client) -> None:
    r = http.get("/ready")
    assert r.status_code == 200, r.text
    upstreams = r.json()["upstreams"]
    assert set(upstreams) == {"users", "journal", "reminders"}
    for name, state in upstreams.items():
        assert state["status"] == "ready", (name, state)


def test_request_id_is_echoed(http: httpx.Client) -> None:
    r = http.get("/health", headers={"X-Request-ID": "e2e-request-id-1"})
    assert r.headers["x-request-id"] == "e2e-request-id-1"


def test_one_openapi_document_and_offline_docs(http: httpx.Client) -> None:
    r = http.get("/api/v1/openapi.json")
    assert r.status_code == 200, r.text
    document = r.json()
    assert document["openapi"].startswith("3.1")
    paths = set(document["paths"])
    for path in ("/api/v1/auth/login", "/api/v1/journal/entries", "/api/v1/reminders"):
        assert path in paths, sorted(paths)
    docs = http.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]


def test_unknown_path_is_a_problem(http: httpx.Client) -> None:
    r = http.get("/api/v1/does-not-exist")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 404
