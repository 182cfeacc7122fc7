"""The precise OpenAPI document, empty query parameters and strict bodies, on a small app built
the way ``ServiceApp`` builds a service's."""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, ClassVar

import msgspec
import pytest
from litestar import Litestar, get, patch, post
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.params import Parameter
from litestar.testing import AsyncTestClient

from daybook_common.allow import AllowHeaderMiddleware
from daybook_common.http import expected_version
from daybook_common.openapi import PreciseJsonRenderPlugin, problems
from daybook_common.pagination import Cursor, Limit, Page, encode_cursor
from daybook_common.problems import exception_handlers
from daybook_common.query import QueryMiddleware, drop_empty_params
from daybook_common.service import wrap_outermost
from daybook_common.strict_body import StrictBodyRequest
from daybook_common.strict_query import check_query_values


class NoteCreate(msgspec.Struct, forbid_unknown_fields=True):
    when: datetime.datetime
    pinned: bool = False
    text: str | None = None
    secret: str | None = None

    __openapi__: ClassVar[dict[str, Any]] = {"oneOf": [{"required": ["text"]}, {"required": ["secret"]}]}


async def provide_caller() -> str:
    return "someone"


async def provide_admin(caller: str) -> str:
    return caller


@post("/notes", opt=problems({409: "Duplicate note"}))
async def create_note(data: NoteCreate, caller: str) -> NoteCreate:
    return data


@get("/notes")
async def list_notes(limit: Limit = 20, cursor: Cursor = None) -> Page[int]:
    return Page(items=[0] if cursor is None else [1], next_cursor=encode_cursor(1))


@patch("/notes/{note_id:uuid}")
async def update_note(
    note_id: uuid.UUID,
    data: NoteCreate,
    admin: str,
    if_match: Annotated[str | None, Parameter(header="If-Match")] = None,
) -> NoteCreate:
    return data


@get("/due")
async def list_due(
    due_before: datetime.datetime | None = None, done: bool | None = None
) -> dict[str, str | None]:
    return {"due_before": due_before.isoformat() if due_before else None, "done": str(done)}


@get("/public")
async def public() -> dict[str, str]:
    return {"ok": "yes"}


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = Litestar(
        [create_note, list_notes, update_note, list_due, public],
        dependencies={"caller": Provide(provide_caller), "admin": Provide(provide_admin)},
        exception_handlers=exception_handlers,
        request_class=StrictBodyRequest,
        before_request=check_query_values,
        openapi_config=OpenAPIConfig(
            title="t",
            version="1",
            path="/schema",
            render_plugins=[
                PreciseJsonRenderPlugin({"caller": {401: "No token"}, "admin": {403: "Admins only"}})
            ],
        ),
        logging_config=None,
    )
    wrap_outermost(app, QueryMiddleware)
    async with AsyncTestClient(app) as c:
        yield c


async def test_if_match_states_which_values_can_match(client: AsyncTestClient[Litestar]) -> None:
    """The document admits an If-Match exactly when it can match some version (else it is a 412)."""
    doc = (await client.get("/schema/openapi.json")).json()
    parameters = doc["paths"]["/notes/{note_id}"]["patch"]["parameters"]
    pattern = next(p for p in parameters if p["name"] == "If-Match")["schema"]["pattern"]
    for header in ("*", '"3"', ' "3" ', 'W/"1", "3"', '"3", *', 'x, "3",y', '"4",\t"3"', '"00"'):
        assert re.search(pattern, header) and expected_version(header) != frozenset(), header
    for header in ("", "3", 'W/"3"', '"abc"', '"-1"', '"\u00b2"', '"' + "9" * 20 + '"', ",", '"3', "**"):
        assert not re.search(pattern, header) and expected_version(header) == frozenset(), header


async def test_every_operation_documents_its_real_problems(client: AsyncTestClient[Litestar]) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    create = doc["paths"]["/notes"]["post"]["responses"]
    update = doc["paths"]["/notes/{note_id}"]["patch"]["responses"]
    listing = doc["paths"]["/notes"]["get"]["responses"]
    assert set(create) == {"201", "400", "401", "409", "415", "422"}
    # admin depends on caller: 401 through the chain, 403 of its own, 404 for the path, 412 for If-Match
    assert set(update) == {"200", "400", "401", "403", "404", "409", "412", "415", "422"}
    assert set(listing) == {"200", "422"}
    assert set(doc["paths"]["/public"]["get"]["responses"]) == {"200"}
    assert create["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert create["409"]["description"] == "Duplicate note"
    assert create["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationProblem"
    }
    assert update["412"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    schemas = doc["components"]["schemas"]
    assert schemas["NoteCreate"]["properties"]["text"]["oneOf"][0] == {
        "type": "string",
        "pattern": "^[^\\x00]*$",
    }
    assert schemas["ValidationProblem"]["required"] == ["type", "title", "status", "detail", "errors"]
    assert schemas["NoteCreate"]["oneOf"] == [{"required": ["text"]}, {"required": ["secret"]}]
    cursor = next(p for p in doc["paths"]["/notes"]["get"]["parameters"] if p["name"] == "cursor")
    given, empty = cursor["schema"]["anyOf"]
    assert given["pattern"] == "^[A-Za-z0-9_-]+$"
    assert (empty["type"], empty["maxLength"]) == ("string", 0)


async def test_a_service_error_really_is_the_documented_validation_problem(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/notes", params={"cursor": "not a cursor!"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(body)
    assert body["errors"][0]["field"] == "cursor"


def test_drop_empty_params() -> None:
    assert drop_empty_params(b"cursor=&limit=5&q&x=%20") == b"limit=5&x=%20"
    assert drop_empty_params(b"a==") == b"a=="
    assert drop_empty_params(b"") == b""


async def test_empty_query_parameter_means_absent(client: AsyncTestClient[Litestar]) -> None:
    absent = await client.get("/notes")
    empty = await client.get("/notes?cursor=&limit=")
    assert empty.status_code == 200, empty.text
    assert empty.json() == absent.json() == {"items": [0], "next_cursor": encode_cursor(1)}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"when": 0, "text": "x"}, "when"),  # lax msgspec would make this 1970-01-01
        ({"when": "2026-01-01T00:00:00Z", "pinned": 0, "text": "x"}, "pinned"),
        ({"when": "2026-01-01T00:00:00Z", "pinned": "true", "text": "x"}, "pinned"),
    ],
)
async def test_bodies_are_decoded_as_strictly_as_documented(
    client: AsyncTestClient[Litestar], body: dict[str, Any], field: str
) -> None:
    response = await client.post("/notes", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_a_strictly_valid_body_is_accepted(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(
        "/notes", json={"when": "2026-01-01T10:00:00+02:00", "pinned": True, "text": "x"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["pinned"] is True


async def test_options_lists_every_method_of_the_path() -> None:
    app = Litestar([create_note, list_notes, update_note], logging_config=None)
    wrap_outermost(app, AllowHeaderMiddleware, litestar=app)
    async with AsyncTestClient(app) as c:
        collection = await c.options("/notes")
        one = await c.options(f"/notes/{uuid.uuid4()}")
    assert collection.status_code == 204
    assert collection.headers["allow"] == "GET, OPTIONS, POST"  # Litestar alone said "OPTIONS, POST"
    assert one.headers["allow"] == "OPTIONS, PATCH"


@pytest.mark.parametrize(
    ("query", "field"),
    [("due_before=0.5", "due_before"), ("due_before=2026-01-01", "due_before"), ("done=1", "done")],
)
async def test_query_values_are_read_as_strictly_as_documented(
    client: AsyncTestClient[Litestar], query: str, field: str
) -> None:
    response = await client.get(f"/due?{query}")  # msgspec's lax rules accepted each of these
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_strict_query_values_are_accepted(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/due?due_before=2026-01-22T10:00:00Z&done=false")
    assert response.status_code == 200, response.text
    assert response.json() == {"due_before": "2026-01-22T10:00:00+00:00", "done": "False"}
