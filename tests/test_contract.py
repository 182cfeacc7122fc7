"""The merged OpenAPI document tells the truth, and the API keeps to it (through the gateway).

Each test here is one defect the fuzzer found (issue 13): statuses the document did not list,
vague success bodies, request rules the document did not state, lax body decoding, empty query
parameters, and ``OPTIONS`` answers that left methods out.
"""

from __future__ import annotations

import uuid
import zoneinfo
from typing import Any

import httpx
import pytest

PROBLEM = "application/problem+json"
GATEWAY_STATUSES = {"413", "429", "502", "503", "504"}


@pytest.fixture(scope="module")
def document(http: httpx.Client) -> dict[str, Any]:
    response = http.get("/api/v1/openapi.json")
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def caller(http: httpx.Client) -> dict[str, str]:
    email, password = f"contract-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery staple"
    assert http.post("/api/v1/auth/register", json={"email": email, "password": password}).status_code == 201
    login = http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        if path.startswith("/api/v1/") and path != "/api/v1/openapi.json"
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]


def test_every_proxied_operation_documents_its_problems(document: dict[str, Any]) -> None:
    operations = _operations(document)
    assert len(operations) >= 30
    for method, path, operation in operations:
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        assert set(responses) >= GATEWAY_STATUSES, where
        for status, response in responses.items():
            # every error is problem+json (no Litestar default 400 {status_code, detail, extra})
            if status.startswith(("4", "5")):
                schema = response["content"][PROBLEM]["schema"]
                expected = "ValidationProblem" if status == "422" else "Problem"
                assert schema == {"$ref": f"#/components/schemas/{expected}"}, (where, status)
        if not path.startswith("/api/v1/auth/"):
            assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True, where
        if operation.get("parameters") or "requestBody" in operation:
            assert "422" in responses, where
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}


def test_success_bodies_are_exact(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            for media in (response.get("content") or {}).values():
                assert media.get("schema") not in ({}, None), (method, path, status)
    created = document["paths"]["/api/v1/reminders"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/reminders_Reminder"
    }


def test_request_rules_are_in_the_document(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    timezone = schemas["reminders_ReminderCreate"]["properties"]["timezone"]
    assert set(timezone["enum"]) <= zoneinfo.available_timezones()
    assert "Europe/Berlin" in timezone["enum"] and "0" not in timezone["enum"]
    reminder = schemas["reminders_ReminderCreate"]
    titles = [branch["title"] for branch in reminder["oneOf"]]
    assert titles == ["RRuleReminder", "CustomReminder", "CalendarReminder"]
    assert reminder["oneOf"][1]["properties"]["custom_days"]["minItems"] == 1
    assert reminder["properties"]["start_date"]["pattern"] == "^(19[7-9][0-9]|2[0-9]{3})-"
    assert reminder["oneOf"][0]["required"] == ["rrule"]
    entry = schemas["journal_EntryCreate"]
    assert [branch["required"] for branch in entry["oneOf"]] == [["content"], ["encrypted"]]
    # The encrypted branch names the component (a bare object types as an empty record in clients).
    assert entry["oneOf"][1]["properties"]["encrypted"] == {"$ref": "#/components/schemas/journal_Encrypted"}
    assert entry["additionalProperties"] is False
    assert schemas["journal_Encrypted"]["properties"]["iv"]["contentEncoding"] == "base64"
    cursor = next(p for p in document["paths"]["/api/v1/tasks"]["get"]["parameters"] if p["name"] == "cursor")
    assert cursor["schema"]["anyOf"][0]["pattern"] == "^[A-Za-z0-9_-]+$"


def test_empty_query_parameters_mean_absent(http: httpx.Client, caller: dict[str, str]) -> None:
    for path in ("/api/v1/journal/entries", "/api/v1/tasks", "/api/v1/reminders", "/api/v1/notifications"):
        absent = http.get(path, headers=caller)
        empty = http.get(f"{path}?cursor=&limit=&q=", headers=caller)
        assert absent.status_code == 200, absent.text
        assert empty.status_code == 200, (path, empty.text)
        assert empty.json() == absent.json(), path


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/journal/entries", {"entry_date": 0, "content": "x"}, "entry_date"),
        ("/api/v1/journal/entries", {"entry_date": "2026-01-01T00:00:00Z"}, "content"),
        (
            "/api/v1/reminders",
            {
                "title": "t",
                "message": "",
                "frequency": "daily",
                "time": "08:00",
                "timezone": "Europe/Berlin",
                "is_active": 0,
            },
            "is_active",
        ),
        (
            "/api/v1/reminders",
            {"title": "t", "message": "", "frequency": "daily", "time": "08:00", "timezone": "0"},
            "timezone",
        ),
        ("/api/v1/tasks", {"title": "t", "due_at": 1700000000}, "due_at"),
    ],
)
def test_what_the_document_rejects_is_rejected(
    http: httpx.Client, caller: dict[str, str], path: str, body: dict[str, Any], field: str
) -> None:
    response = http.post(path, json=body, headers=caller)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert field in {error["field"] for error in response.json()["errors"]}


def test_options_lists_every_method_of_the_path(http: httpx.Client, caller: dict[str, str]) -> None:
    tags = http.options("/api/v1/journal/tags", headers=caller)
    assert tags.status_code == 204, tags.text
    assert set(tags.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    one = http.options(f"/api/v1/tasks/{uuid.uuid4()}", headers=caller)
    assert set(one.headers["allow"].split(", ")) == {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH"}
    # A 405 names HEAD too where GET is allowed (the gateway answers it), not where it is not.
    assert set(http.post("/health").headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert set(http.put("/api/v1/tasks", headers=caller).headers["allow"].split(", ")) == {
        "GET",
        "HEAD",
        "OPTIONS",
        "POST",
    }
    assert "HEAD" not in http.get("/api/v1/auth/login").headers["allow"]
    assert "HEAD" not in http.options("/api/v1/notifications/stream", headers=caller).headers["allow"]


def test_a_nul_in_a_query_parameter_is_422_not_500(http: httpx.Client, caller: dict[str, str]) -> None:
    # The fuzzer's case: GET /tasks?q=...%00... reached PostgreSQL and answered 500.
    for path in ("/api/v1/tasks?q=a%00b", "/api/v1/journal/entries?q=a%00b", "/api/v1/reminders?cursor=%00"):
        response = http.get(path, headers=caller)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["errors"][0]["message"] == "must not contain the NUL character"


def test_head_is_answered_as_get_without_the_body(http: httpx.Client, caller: dict[str, str]) -> None:
    # RFC 9110 §9.3.2: every GET resource answers HEAD (it was 405 everywhere, /health included).
    task = http.post("/api/v1/tasks", json={"title": "head"}, headers=caller)
    assert task.status_code == 201, task.text
    for path in ("/health", "/api/v1/openapi.json", "/api/v1/tasks", f"/api/v1/tasks/{task.json()['id']}"):
        get, head = http.get(path, headers=caller), http.head(path, headers=caller)
        assert head.status_code == get.status_code == 200, (path, head.status_code)
        assert head.content == b"", path
        assert head.headers["content-length"] == get.headers["content-length"], path
        assert head.headers.get("etag") == get.headers.get("etag"), path
        assert "x-request-id" in head.headers, path
    assert http.head("/api/v1/tasks").status_code == 401  # the same checks as the GET's
    assert http.head(f"/api/v1/tasks/{uuid.uuid4()}", headers=caller).status_code == 404
    # Neither the endless event stream nor a whole account export runs for a HEAD.
    assert http.head("/api/v1/notifications/stream", headers=caller).status_code == 405
    assert http.head("/api/v1/users/me/export", headers=caller).status_code == 405


def test_a_missing_required_parameter_is_named_and_the_path_not_echoed(
    http: httpx.Client, caller: dict[str, str]
) -> None:
    goal = http.post("/api/v1/goals", json={"title": "stats"}, headers=caller)
    assert goal.status_code == 201, goal.text
    response = http.get(
        f"/api/v1/goals/{goal.json()['id']}/stats?to=2026-02-01T00:00:00Z&bucket=week", headers=caller
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"] == [{"field": "from", "message": "required"}]
    assert "/api/v1/goals" not in response.text and body["detail"] == "Validation failed"


def test_an_empty_body_is_a_422_naming_the_body(http: httpx.Client, caller: dict[str, str]) -> None:
    # It was {"field": "data", "message": "'data'"} (a KeyError's text).
    headers = {**caller, "Content-Type": "application/json"}
    response = http.post("/api/v1/tasks", content=b"", headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": "body", "message": "a JSON body is required"}]


def test_an_encoded_body_is_415_not_parsed_as_plain_json(http: httpx.Client, caller: dict[str, str]) -> None:
    # A body claiming Content-Encoding: gzip was decoded as plain JSON and created a task.
    headers = {**caller, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    response = http.post("/api/v1/tasks", content=b'{"title": "x"}', headers=headers)
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == PROBLEM
    identity = http.post(
        "/api/v1/tasks", content=b'{"title": "x"}', headers={**headers, "Content-Encoding": "identity"}
    )
    assert identity.status_code == 201, identity.text


def test_a_body_of_the_wrong_json_type_is_a_422_naming_the_body(
    http: httpx.Client, caller: dict[str, str]
) -> None:
    for content in (b"null", b"[1, 2]", b'"text"', b"7"):
        headers = {**caller, "Content-Type": "application/json"}
        response = http.post("/api/v1/tasks", content=content, headers=headers)
        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == ["body"], content


def test_a_key_twice_in_one_json_object_is_422(http: httpx.Client, caller: dict[str, str]) -> None:
    # {"title": "a", "title": "b"} created a task titled "b" (the last one silently won).
    headers = {**caller, "Content-Type": "application/json"}
    response = http.post("/api/v1/tasks", content=b'{"title": "a", "title": "b"}', headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": "title", "message": "duplicate key in a JSON object"}]
    entry = b'{"content": "c", "entry_date": "2026-01-01T00:00:00Z", "content": "d"}'
    assert http.post("/api/v1/journal/entries", content=entry, headers=headers).status_code == 422
