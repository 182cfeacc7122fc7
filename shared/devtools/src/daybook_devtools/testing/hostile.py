"""Hostile-input cases derived from a service's own OpenAPI document.

Every string field of every JSON request body and every string query parameter the
document lists becomes a case, so a field added later is covered without editing a test.
:func:`assert_refuses_hostile_input` sends them all (NUL in each field, deep nesting,
invalid UTF-8, non-JSON content types) and checks each answer is the documented
problem+json, never a 500.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

NUL = "a\x00b"
#: Timestamps a forged cursor may carry: no offset, and two whose UTC form is out of range.
NAIVE_INSTANT = "2026-01-02T09:00:00"
OUT_OF_RANGE_INSTANTS = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59")
#: Just past a PostgreSQL ``integer`` (what a cursor's sort order, depth or rank is).
PAST_INTEGER = 2**31


def forged_cursor(*values: Any) -> str:
    """A cursor as ``daybook_common.pagination.encode_cursor`` writes one, with values of the
    client's choosing: cursors are not signed, so any client can send this."""
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    field: str
    location: str  # "body" or "query"


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _is_string(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    schema = _resolve(schema, components)
    if schema.get("type") == "string" or "string" in (schema.get("type") or []):
        return True
    return any(_is_string(option, components) for option in schema.get("anyOf", schema.get("oneOf", [])))


def _concrete(path: str) -> str:
    """The path with each ``{param}`` filled by a (non-existent) UUID."""
    parts = [str(uuid.uuid4()) if p.startswith("{") else p for p in path.split("/")]
    return "/".join(parts)


def string_field_cases(openapi: dict[str, Any]) -> list[Case]:
    components = openapi.get("components", {}).get("schemas", {})
    cases: list[Case] = []
    for path, operations in openapi.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and _is_string(parameter.get("schema", {}), components):
                    cases.append(Case(method.upper(), path, parameter["name"], "query"))
            content = operation.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            if body is None:
                continue
            for name, prop in _resolve(body, components).get("properties", {}).items():
                if _is_string(prop, components):
                    cases.append(Case(method.upper(), path, name, "body"))
    return cases


def body_routes(openapi: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in openapi.get("paths", {}).items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "requestBody" in operation
    ]


def _assert_problem(response: httpx.Response, status: int, label: str) -> dict[str, Any]:
    assert response.status_code == status, f"{label}: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/problem+json"), label
    body: dict[str, Any] = response.json()
    assert body["status"] == status, label
    assert "Traceback" not in response.text and "SELECT" not in response.text, label
    return body


async def assert_refuses_hostile_input(
    client: httpx.AsyncClient, headers: dict[str, str], *, min_cases: int
) -> list[Case]:
    """Send every hostile case to ``client`` (a service app); return the NUL cases checked."""
    openapi = (await client.get("/schema/openapi.json")).json()
    cases = string_field_cases(openapi)
    assert len(cases) >= min_cases, [c.field for c in cases]  # the document really lists the fields
    for case in cases:
        url = _concrete(case.path)
        label = f"NUL in {case.location} {case.field} of {case.method} {case.path}"
        if case.location == "query":
            response = await client.request(case.method, url, params={case.field: NUL}, headers=headers)
        else:
            response = await client.request(case.method, url, json={case.field: NUL}, headers=headers)
        body = _assert_problem(response, 422, label)
        assert [e["field"] for e in body["errors"]] == [case.field], label

    for method, path in body_routes(openapi):
        url = _concrete(path)
        json_headers = {**headers, "Content-Type": "application/json"}
        deep = b"[" * 5000 + b"]" * 5000
        label = f"{method} {path}"
        _assert_problem(
            await client.request(method, url, content=b'{"a": ' + deep + b"}", headers=json_headers),
            422,
            f"deep nesting: {label}",
        )
        _assert_problem(
            await client.request(method, url, content=b'{"title": "caf\xe9"}', headers=json_headers),
            400,
            f"invalid UTF-8: {label}",
        )
        for content_type, content in (
            ("text/plain", json.dumps({"title": "x"}).encode()),
            ("application/x-www-form-urlencoded", b"title=x"),
            ("application/xml", b"<title>x</title>"),
        ):
            response = await client.request(
                method, url, content=content, headers={**headers, "Content-Type": content_type}
            )
            _assert_problem(response, 415, f"{content_type}: {label}")
    return cases
