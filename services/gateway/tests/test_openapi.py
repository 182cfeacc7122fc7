"""The merged OpenAPI document and the offline ``/docs``.

The upstream schemas come from real Litestar apps (built here, one per service, declaring every
public path of API.md with request/response Structs whose names collide across services) and
from the real services' ``create_app`` — served to the gateway over HTTP by the stub upstreams.
"""

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from gateway_support import Upstreams
from litestar import Litestar, route
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from daybook_gateway.links import LINKS
from daybook_gateway.openapi import merge_documents
from daybook_gateway.routing import prefixes_of

# Every public (method, path) of API.md, by the service that serves it.
API_MD: dict[str, list[tuple[str, str]]] = {
    "users": [
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/auth/jwks"),
        ("GET", "/api/v1/users/me"),
        ("PATCH", "/api/v1/users/me"),
        ("DELETE", "/api/v1/users/me"),
        ("POST", "/api/v1/users/me/password"),
        ("GET", "/api/v1/admin/users"),
    ],
    "journal": [
        ("POST", "/api/v1/journal/entries"),
        ("GET", "/api/v1/journal/entries"),
        ("GET", "/api/v1/journal/entries/{id}"),
        ("PATCH", "/api/v1/journal/entries/{id}"),
        ("DELETE", "/api/v1/journal/entries/{id}"),
        ("GET", "/api/v1/journal/trash"),
        ("POST", "/api/v1/journal/entries/{id}/restore"),
        ("POST", "/api/v1/journal/tags"),
        ("GET", "/api/v1/journal/tags"),
        ("GET", "/api/v1/journal/tags/{id}"),
        ("PATCH", "/api/v1/journal/tags/{id}"),
        ("DELETE", "/api/v1/journal/tags/{id}"),
        ("POST", "/api/v1/tasks"),
        ("GET", "/api/v1/tasks"),
        ("GET", "/api/v1/tasks/{id}"),
        ("PATCH", "/api/v1/tasks/{id}"),
        ("DELETE", "/api/v1/tasks/{id}"),
        ("POST", "/api/v1/tasks/{id}/restore"),
    ],
    "reminders": [
        ("POST", "/api/v1/reminders"),
        ("GET", "/api/v1/reminders"),
        ("GET", "/api/v1/reminders/{id}"),
        ("PATCH", "/api/v1/reminders/{id}"),
        ("DELETE", "/api/v1/reminders/{id}"),
        ("GET", "/api/v1/notifications"),
        ("POST", "/api/v1/notifications/{id}/read"),
    ],
    "gateway": [("GET", "/health"), ("GET", "/ready"), ("GET", "/api/v1/openapi.json"), ("GET", "/docs")],
}


def stub_service_schema(service: str, extra_paths: list[tuple[str, str]]) -> dict[str, Any]:
    """A Litestar app with the service's API.md paths; every service has its own ``Page`` and
    ``Payload`` (same names, different fields) so the merge must keep them apart."""

    page = msgspec.defstruct("Page", [(f"{service}_items", list[str]), ("next_cursor", str | None)])
    payload = msgspec.defstruct("Payload", [(f"{service}_field", str)], forbid_unknown_fields=True)
    handlers = []
    for i, (method, path) in enumerate([*API_MD[service], *extra_paths]):
        params: dict[str, Any] = {}
        if "{id}" in path:
            params["id"] = uuid.UUID
        if method in {"POST", "PATCH"}:
            params["data"] = payload
        returns: Any = None if method == "DELETE" else page

        async def handler(**kwargs: Any) -> Any:
            return None

        handler.__annotations__ = {**params, "return": returns}
        handler.__name__ = f"{service}_{i}"
        import inspect

        handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=t) for n, t in params.items()],
            return_annotation=returns,
        )
        operation_id = (
            f"Op{method.title()}{i}" if service != "reminders" else f"OpGet{i}"
        )  # collisions on purpose
        handlers.append(
            route(
                path.replace("{id}", "{id:uuid}"),
                http_method=[method],
                operation_id=operation_id,
                tags=[service],
            )(handler)
        )
    components = Components(
        security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
    )
    app = Litestar(
        route_handlers=handlers,
        openapi_config=OpenAPIConfig(
            title=f"Daybook {service}",
            version="1.0.0",
            path="/schema",
            components=components if service == "journal" else Components(),
            security=[{"BearerToken": []}] if service == "journal" else None,
        ),
    )
    return app.openapi_schema.to_schema()


EXTRA = {
    "users": [("GET", "/internal/metrics")],
    "journal": [("GET", "/health"), ("GET", "/api/v1/reminders/hijack")],  # not journal's prefix
    "reminders": [("GET", "/api/v1/remindersx")],
}


@pytest.fixture(scope="module")
def service_schemas() -> dict[str, dict[str, Any]]:
    return {s: stub_service_schema(s, EXTRA[s]) for s in ("users", "journal", "reminders")}


@pytest.fixture
def published(upstreams: Upstreams, service_schemas: dict[str, dict[str, Any]]) -> Iterator[None]:
    for stub in upstreams.all():
        stub.openapi = service_schemas[stub.name]
    yield
    for stub in upstreams.all():
        stub.openapi = None


def walk_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from walk_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_refs(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def assert_self_contained(document: dict[str, Any]) -> None:
    refs = list(walk_refs(document))
    assert refs, "expected some $refs"
    for ref in refs:
        resolve(document, ref)  # KeyError when dangling
    schemes = document["components"].get("securitySchemes", {})
    for item in document["paths"].values():
        for operation in item.values():
            for requirement in operation.get("security", []) if isinstance(operation, dict) else []:
                assert set(requirement) <= set(schemes), requirement


async def test_merged_document_has_every_public_path_of_api_md(
    client: httpx.AsyncClient, published: None, upstreams: Upstreams
) -> None:
    r = await client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["openapi"] == "3.1.0"
    assert "x-daybook-unavailable" not in doc
    missing = [
        (method, path)
        for entries in API_MD.values()
        for method, path in entries
        if method.lower() not in doc["paths"].get(path, {})
    ]
    assert missing == []
    # only public paths: the services' internal and foreign paths are dropped
    for path in (
        "/internal/metrics",
        "/api/v1/reminders/hijack",
        "/api/v1/remindersx",
        "/schema/openapi.json",
    ):
        assert path not in doc["paths"]
    assert all(stub.seen == [] for stub in upstreams.all())  # schema fetches are not API traffic


async def test_components_are_prefixed_per_service_and_refs_rewritten(
    client: httpx.AsyncClient, published: None
) -> None:
    doc = (await client.get("/api/v1/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    for service in ("users", "journal", "reminders"):
        assert f"{service}_items" in schemas[f"{service}_Page"]["properties"]
        assert f"{service}_field" in schemas[f"{service}_Payload"]["properties"]
    assert "Page" not in schemas and "Payload" not in schemas
    body = doc["paths"]["/api/v1/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/journal_Payload"}
    ok = doc["paths"]["/api/v1/reminders"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/reminders_Page"}
    assert_self_contained(doc)


async def test_security_and_operation_ids(client: httpx.AsyncClient, published: None) -> None:
    doc = (await client.get("/api/v1/openapi.json")).json()
    paths = doc["paths"]
    # journal declared its own scheme: renamed with its prefix
    assert paths["/api/v1/tasks"]["get"]["security"] == [{"journal_BearerToken": []}]
    assert "journal_BearerToken" in doc["components"]["securitySchemes"]
    # users/reminders declared none: the gateway documents its bearer check on protected paths
    assert paths["/api/v1/users/me"]["get"]["security"] == [{"gateway_BearerToken": []}]
    assert paths["/api/v1/notifications"]["get"]["security"] == [{"gateway_BearerToken": []}]
    assert "security" not in paths["/api/v1/auth/login"]["post"]
    operation_ids = [
        op["operationId"] for item in paths.values() for op in item.values() if "operationId" in op
    ]
    assert len(operation_ids) == len(set(operation_ids))


async def test_unreachable_service_is_listed_not_fatal(
    make_gateway: Any, upstreams: Upstreams, service_schemas: dict[str, dict[str, Any]]
) -> None:
    upstreams.users.openapi = service_schemas["users"]
    upstreams.journal.openapi = service_schemas["journal"]
    upstreams.reminders.openapi = None  # answers 404 for its schema
    try:
        async with make_gateway() as c:
            doc = (await c.get("/api/v1/openapi.json")).json()
    finally:
        upstreams.users.openapi = upstreams.journal.openapi = None
    assert doc["x-daybook-unavailable"] == ["reminders"]
    assert "/api/v1/tasks" in doc["paths"] and "/api/v1/reminders" not in doc["paths"]
    assert_self_contained(doc)


def test_merge_rewrites_nested_refs_and_escaped_names() -> None:
    documents = {
        "journal": {
            "openapi": "3.1.0",
            "paths": {
                "/api/v1/journal/entries": {
                    "parameters": [{"$ref": "#/components/parameters/Limit"}],
                    "get": {
                        "responses": {
                            "200": {
                                "content": {
                                    "application/json": {
                                        "schema": {
                                            "oneOf": [
                                                {"$ref": "#/components/schemas/Entry"},
                                                {"$ref": "#/components/schemas/a~1b"},
                                            ]
                                        }
                                    }
                                }
                            },
                            "404": {"$ref": "#/components/responses/NotFound"},
                        }
                    },
                },
                "/health": {"get": {"responses": {}}},
            },
            "components": {
                "schemas": {
                    "Entry": {"properties": {"tags": {"items": {"$ref": "#/components/schemas/Tag"}}}},
                    "Tag": {"type": "object"},
                    "a/b": {"type": "string"},
                },
                "parameters": {"Limit": {"name": "limit", "in": "query"}},
                "responses": {"NotFound": {"description": "nope"}},
            },
        },
        "users": None,
        "reminders": {"paths": {}, "components": {"schemas": {"Tag": {"type": "integer"}}}},
    }
    doc = merge_documents(documents, {s: prefixes_of(s) for s in documents})
    schemas = doc["components"]["schemas"]
    assert schemas["journal_Entry"]["properties"]["tags"]["items"] == {
        "$ref": "#/components/schemas/journal_Tag"
    }
    assert schemas["journal_Tag"] == {"type": "object"} and schemas["reminders_Tag"] == {"type": "integer"}
    item = doc["paths"]["/api/v1/journal/entries"]
    assert item["parameters"] == [{"$ref": "#/components/parameters/journal_Limit"}]
    one_of = item["get"]["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"]
    assert one_of == [
        {"$ref": "#/components/schemas/journal_Entry"},
        {"$ref": "#/components/schemas/journal_a~1b"},
    ]
    assert doc["x-daybook-unavailable"] == ["users"]
    assert doc["paths"]["/health"]["get"]["operationId"] == "GatewayHealth"  # the gateway's, not journal's
    assert_self_contained(doc)


def real_service_schemas(key_file: str) -> dict[str, dict[str, Any]]:
    """The schemas the real services publish today (built from their create_app, no database needed)."""
    from daybook_devtools.testing.tokens import TestSigner
    from daybook_journal.app import create_app as journal_app
    from daybook_journal.settings import Settings as JournalSettings
    from daybook_reminders.app import create_app as reminders_app
    from daybook_reminders.settings import Settings as RemindersSettings
    from daybook_users.app import create_app as users_app
    from daybook_users.settings import Settings as UsersSettings

    jwks = TestSigner().jwks_json
    apps = {
        "users": users_app(
            UsersSettings.from_env(
                {
                    "USERS_JWKS_JSON": jwks,
                    "USERS_SIGNING_KEY_FILE": key_file,
                    "USERS_GENERATE_SIGNING_KEY": "true",
                }
            )
        ),
        "journal": journal_app(JournalSettings.from_env({"JOURNAL_JWKS_JSON": jwks})),
        "reminders": reminders_app(RemindersSettings.from_env({"REMINDERS_JWKS_JSON": jwks})),
    }
    return {name: app.openapi_schema.to_schema() for name, app in apps.items()}


async def test_real_services_schemas_merge_cleanly(
    make_gateway: Any, upstreams: Upstreams, tmp_path: Any
) -> None:
    schemas = real_service_schemas(str(tmp_path / "users-signing-key.pem"))
    for stub in upstreams.all():
        stub.openapi = schemas[stub.name]
    try:
        async with make_gateway() as c:
            doc = (await c.get("/api/v1/openapi.json")).json()
    finally:
        for stub in upstreams.all():
            stub.openapi = None
    assert "x-daybook-unavailable" not in doc
    for service, schema in schemas.items():
        for path, item in schema.get("paths", {}).items():
            public = any(path == p or path.startswith(p + "/") for p in prefixes_of(service))
            if public:
                assert set(item) <= set(doc["paths"][path]), (service, path)
    if any(re.match(r"^/api/v1/", p) for s in schemas.values() for p in s.get("paths", {})):
        assert_self_contained(doc)


async def test_docs_are_served_without_any_external_url(client: httpx.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert re.findall(r"(?:https?:)?//[^\s\"'<>]+", html) == []  # no http(s):// nor protocol-relative URL
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "http" not in csp
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/init.js"} <= set(
        assets
    )
    for asset in assets:
        a = await client.get(asset)
        assert a.status_code == 200, asset
        assert len(a.content) > 0
    init = (await client.get("/docs/init.js")).text
    assert '"/api/v1/openapi.json"' in init
    assert "validatorUrl: null" in init  # no call to the public validator service
    assert re.findall(r"https?://", init) == []
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    assert "cache-control" in bundle.headers


async def test_docs_ui_understands_openapi_3_1(client: httpx.AsyncClient) -> None:
    bundle = (await client.get("/docs/assets/swagger-ui-bundle.js")).text
    assert "OpenAPI 3.1" in bundle or "isOAS31" in bundle  # Swagger UI >= 5 renders 3.1 documents


def test_links_chain_created_ids_to_the_item_operations(tmp_path: Any) -> None:
    """Every link of the table is in the merged document and names what its target really takes."""
    schemas = real_service_schemas(str(tmp_path / "users-signing-key.pem"))
    doc = merge_documents(schemas, {name: prefixes_of(name) for name in schemas})
    operations = {
        op["operationId"]: (path, op)
        for path, item in doc["paths"].items()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    components = doc["components"]["schemas"]
    assert LINKS
    for source, status, targets, parameters in LINKS:
        response = operations[source][1]["responses"][status]
        for target in targets:
            path, _ = operations[target]
            link = response["links"][target]
            assert link["operationId"] == target
            assert set(link["parameters"]) == set(re.findall(r"\{(\w+)\}", path)), (source, target)
        for expression in parameters.values():
            if expression.startswith("$request.path."):
                assert "{" + expression.removeprefix("$request.path.") + "}" in operations[source][0]
            else:
                schema = response["content"]["application/json"]["schema"]
                name = schema["$ref"].rsplit("/", 1)[1]
                assert expression.removeprefix("$response.body#/") in components[name]["required"], expression
