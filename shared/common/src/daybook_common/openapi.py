"""The OpenAPI document tells the truth: every service's schema is made exact here, once.

Litestar documents each operation's success answer and a default ``400 {status_code, detail,
extra}`` that this API never sends.  :class:`PreciseJsonRenderPlugin` serves the service's
``/schema/openapi.json`` after :func:`make_precise` has rewritten it from what the app really
does, so an endpoint added later is documented exactly without any per-route work:

- the default 400 goes; every error an operation can answer is documented with the shared
  ``Problem`` / ``ValidationProblem`` schemas under ``application/problem+json``:
  ``401`` (with ``WWW-Authenticate``) when the handler depends, at any depth, on the verified
  caller; what other dependencies add (``403`` for an admin guard, see ``dependency_statuses``);
  ``404`` for paths with parameters; ``412`` with ``If-Match``; ``304`` with ``If-None-Match``;
  ``If-Match`` states which values can match (``IF_MATCH_SCHEMA``);
  ``409`` for every POST/PUT/PATCH (unique and state rules: ``Conflict``, duplicate keys);
  ``400``/``415``/``422`` for operations that take a body (the body guard's answers);
  ``422`` for any parameter;
- an optional query parameter also accepts the empty value, which means absent;
- no free-text string (parameter or schema) may hold the NUL character;
- a route adds what its own rules can answer with ``opt=problems({409: "..."})``.
- the ``ETag`` and ``Location`` a route declares (``response_headers=`` :data:`~daybook_common.http.VERSIONED`
  or :data:`~daybook_common.http.CREATED`) get their schemas; a ``304`` carries the ``ETag``;
- a route with ``media_type="text/event-stream"`` (Server-Sent Events) documents its success
  answer as that media type, a string, instead of the empty JSON schema Litestar gives it;
- a request body type adds the rules its fields alone cannot say (``oneOf``, ``not``) in a
  class attribute ``__openapi__``, merged into its component schema.

The gateway adds its own answers (413, 429, 502-504 ...) when it merges the documents.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute

from daybook_common.instants import RANGE
from daybook_common.problems import PROBLEM_JSON
from daybook_common.text import MULTI_LINE_PATTERN, NOT_BLANK_LINE_PATTERN, SINGLE_LINE_PATTERN

PROBLEM_REF = "#/components/schemas/Problem"
VALIDATION_PROBLEM_REF = "#/components/schemas/ValidationProblem"
#: The ``opt`` key under which a route handler lists the extra statuses it can answer.
PROBLEMS_OPT = "problems"
#: Dependencies that can refuse a request, by name, and the statuses they answer with.
DEFAULT_DEPENDENCY_STATUSES: Mapping[str, Mapping[int, str]] = {
    "current_user": {401: "Missing, invalid or expired access token"},
}

EVENT_STREAM = "text/event-stream"
EVENT_STREAM_SCHEMA: dict[str, Any] = {
    "type": "string",
    "description": "Server-Sent Events (WHATWG HTML, 9.2): `id:`/`data:` lines per event, `:` comments",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}
VALIDATION_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "ValidationProblem",
    "description": "RFC 9457 problem details of a request that failed validation: one item per bad field",
    "properties": {
        **PROBLEM_SCHEMA["properties"],
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "description": "dotted path of the field, '' for the body"},
                    "message": {"type": "string"},
                },
                "required": ["field", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail", "errors"],
}
WWW_AUTHENTICATE_HEADER: dict[str, Any] = {
    "description": "Bearer challenge",
    "schema": {"type": "string"},
    "required": True,
}

#: The schemas of the response headers routes declare (Litestar gives a documentation-only one none).
RESPONSE_HEADER_SCHEMAS: dict[str, dict[str, Any]] = {
    "ETag": {"type": "string", "pattern": '^"[0-9]+"$'},
    "Location": {"type": "string", "format": "uri-reference"},
}

#: ``If-Match`` as the services read it (:func:`daybook_common.http.expected_version`): a list in
#: which at least one item is ``*`` or a strong tag of a version; any other value never matches (412).
IF_MATCH_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r'^([^,]*,)*\s*(\*|"[0-9]{1,19}")\s*(,[^,]*)*$',
    "description": '`*` or ETags such as `"3"` (comma-separated); a value naming no current version is 412',
}
EMPTY_QUERY_VALUE: dict[str, Any] = {"type": "string", "maxLength": 0, "description": "empty: as if absent"}
_GENERIC_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not well-formed (e.g. not UTF-8, not JSON)",
    401: "Missing, invalid or expired access token",
    403: "Not allowed",
    404: "Not found, or owned by another user",
    409: "Conflicts with an existing resource",
    412: "If-Match does not match the current ETag",
    413: "Request body too large",
    415: "Content-Type is not application/json",
    422: "Validation failed",
    429: "Rate limited (see Retry-After)",
    502: "An upstream service failed",
    503: "A service or its database is unavailable, or the database too busy to answer in time (see Retry-After)",
    504: "An upstream service timed out",
}
#: No NUL anywhere in a string (PostgreSQL cannot store it; the services answer 422).
NO_NUL_PATTERN = r"^[^\x00]*$"
_DATA_KEYS = frozenset({"examples", "example", "default", "enum", "const"})
_WRITE_METHODS = frozenset({"post", "put", "patch"})
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def problems(statuses: Mapping[int, str] | Iterable[int]) -> dict[str, Any]:
    """``opt`` for a route handler: the extra problem statuses its own rules can answer."""
    described = (
        dict(statuses) if isinstance(statuses, Mapping) else {s: _GENERIC_DESCRIPTIONS[s] for s in statuses}
    )
    return {PROBLEMS_OPT: described}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI response object of one problem status."""
    ref = VALIDATION_PROBLEM_REF if status == 422 else PROBLEM_REF
    response: dict[str, Any] = {
        "description": description or _GENERIC_DESCRIPTIONS.get(status, "Error"),
        "content": {PROBLEM_JSON: {"schema": {"$ref": ref}}},
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": copy.deepcopy(WWW_AUTHENTICATE_HEADER)}
    if status in (429, 503):
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait",
                "schema": {"type": "string"},
                "required": status == 429,
            }
        }
    return response


def add_problem(operation: dict[str, Any], status: int, description: str | None = None) -> None:
    """Document ``status`` as a problem answer of ``operation`` (kept if already documented)."""
    operation.setdefault("responses", {}).setdefault(str(status), problem_response(status, description))


def _depends_on(handler: HTTPRouteHandler, name: str) -> bool:
    """Whether the handler needs dependency ``name``, directly or through other dependencies."""
    providers = handler.resolve_dependencies()
    todo = list(handler.parsed_fn_signature.parameters)
    seen: set[str] = set()
    while todo:
        current = todo.pop()
        if current == name:
            return True
        if current in seen or current not in providers:
            continue
        seen.add(current)
        todo.extend(providers[current].parsed_fn_signature.parameters)
    return False


def _closed_structs(annotation: Any) -> set[str]:
    """Names of the msgspec Structs in ``annotation`` (at any depth) that forbid unknown fields."""
    names: set[str] = set()
    seen: set[int] = set()

    def walk(info: Any) -> None:
        if id(info) in seen:
            return
        seen.add(id(info))
        if isinstance(info, msgspec.inspect.StructType):
            if info.forbid_unknown_fields:
                names.add(info.cls.__name__)
            for field in info.fields:
                walk(field.type)
            return
        for attr in ("types", "item_type", "key_type", "value_type"):
            inner = getattr(info, attr, None)
            if isinstance(inner, tuple):
                for item in inner:
                    walk(item)
            elif inner is not None:
                walk(inner)

    with contextlib.suppress(TypeError, ValueError):  # a type msgspec cannot describe: left open
        walk(msgspec.inspect.type_info(annotation))
    return names


def _close_objects(handler: HTTPRouteHandler, schemas: dict[str, Any]) -> None:
    """``additionalProperties: false`` on the body schemas whose Struct rejects unknown fields (422)."""
    field = handler.parsed_data_field
    if field is None:
        return
    closed = _closed_structs(field.annotation)
    for schema in schemas.values():
        if isinstance(schema, dict) and schema.get("title") in closed and schema.get("type") == "object":
            schema["additionalProperties"] = False


def forbid_nul(node: Any) -> None:
    """Every free-text string schema under ``node`` also says "no NUL character" (it is a 422)."""
    if isinstance(node, list):
        for item in node:
            forbid_nul(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and not ({"enum", "const", "format"} & node.keys()):
        if "pattern" not in node:
            node["pattern"] = NO_NUL_PATTERN
        elif node["pattern"] in _NUL_FREE_PATTERNS:  # it says so already (daybook_common.text)
            pass
        elif {"pattern": NO_NUL_PATTERN} not in node.get("allOf", []):
            node.setdefault("allOf", []).append({"pattern": NO_NUL_PATTERN})
    for key, value in node.items():
        if key not in _DATA_KEYS:
            forbid_nul(value)


def _names_a_resource(parameter: Mapping[str, Any]) -> bool:
    """A query parameter whose value is a resource id (``?root_id=``): unknown or another user's is 404."""
    return parameter.get("in") == "query" and _has_uuid(parameter.get("schema"))


def _has_uuid(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("format") == "uuid" and schema.get("type") == "string":
        return True
    return any(_has_uuid(branch) for key in ("oneOf", "anyOf") for branch in schema.get(key, []))


#: Python's ``\s`` (what msgspec checks) spelled for ECMA-262 (what the document's readers use):
#: Python also counts U+001C..U+001F and U+0085 as space, ECMA also counts U+FEFF.
PY_SPACE = r"\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def ecma_pattern(pattern: str) -> str:
    r"""``pattern`` (Python ``re``) with ``\s``/``\S`` spelled so ECMA-262 means the same."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            token = pattern[i : i + 2]
            if token == "\\s":
                out.append(PY_SPACE if in_class else f"[{PY_SPACE}]")
            elif token == "\\S" and not in_class:
                out.append(f"[^{PY_SPACE}]")
            else:
                out.append(token)
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


#: Patterns (as the document spells them) that refuse NUL themselves.
_NUL_FREE_PATTERNS = frozenset(
    {
        NO_NUL_PATTERN,
        *(ecma_pattern(p) for p in (SINGLE_LINE_PATTERN, NOT_BLANK_LINE_PATTERN, MULTI_LINE_PATTERN)),
    }
)


def _ecma_patterns(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _ecma_patterns(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                node[key] = ecma_pattern(value)
            elif key not in _DATA_KEYS:
                _ecma_patterns(value)


def _allow_empty(parameter: dict[str, Any]) -> None:
    """An optional query parameter may be empty: ``?name=`` means absent (:mod:`daybook_common.query`)."""
    schema = parameter.get("schema")
    if isinstance(schema, dict):
        parameter["schema"] = {"anyOf": [schema, copy.deepcopy(EMPTY_QUERY_VALUE)]}


def _has_date_time(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("format") == "date-time":
        return True
    return any(_has_date_time(branch) for key in ("oneOf", "anyOf") for branch in schema.get(key, []))


def _state_instant_range(parameter: dict[str, Any]) -> None:
    """A date-time query parameter says which instants it takes (:mod:`daybook_common.instants`)."""
    if _has_date_time(parameter.get("schema")):
        said = str(parameter.get("description") or "").rstrip(". ")
        parameter["description"] = f"{said}; instants {RANGE}" if said else f"An instant {RANGE}"


def _state_instant_ranges(node: Any) -> None:
    """Every date-time schema under ``node`` says which instants it holds (also in ``oneOf`` branches)."""
    if isinstance(node, list):
        for item in node:
            _state_instant_ranges(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("format") == "date-time" and RANGE not in str(node.get("description") or ""):
        said = str(node.get("description") or "").rstrip(". ")
        node["description"] = f"{said}; an instant {RANGE}" if said else f"An instant {RANGE}"
    for key, value in node.items():
        if key not in _DATA_KEYS:
            _state_instant_ranges(value)


def _merge_body_rules(
    operation: Mapping[str, Any], handler: HTTPRouteHandler, schemas: dict[str, Any]
) -> None:
    """Merge the body type's ``__openapi__`` rules into the component the operation refers to."""
    field = handler.parsed_data_field
    rules = getattr(field.annotation, "__openapi__", None) if field is not None else None
    if not isinstance(rules, Mapping):
        return
    content = operation.get("requestBody", {}).get("content", {})
    for media in content.values():
        ref = media.get("schema", {}).get("$ref", "")
        name = ref.rsplit("/", 1)[-1]
        if ref.startswith("#/components/schemas/") and name in schemas:
            schemas[name].update(copy.deepcopy(dict(rules)))


def _event_stream_answers(responses: dict[str, Any]) -> None:
    """A route with ``media_type="text/event-stream"`` answers a stream of events, not JSON."""
    for status, response in responses.items():
        if status.startswith("2") and isinstance(response, dict):
            response["content"] = {EVENT_STREAM: {"schema": copy.deepcopy(EVENT_STREAM_SCHEMA)}}


def _state_if_match(parameters: list[dict[str, Any]]) -> None:
    """An ``If-Match`` header says which values can ever match (others are a 412, not a 422)."""
    for parameter in parameters:
        if parameter.get("in") == "header" and str(parameter.get("name", "")).lower() == "if-match":
            parameter["schema"] = copy.deepcopy(IF_MATCH_SCHEMA)


def _not_modified_response() -> dict[str, Any]:
    etag = {"description": "The resource's current version", "required": True}
    return {"description": "Not modified: the ETag still matches", "headers": {"ETag": etag}}


def _header_schemas(responses: dict[str, Any]) -> None:
    """Give each declared ``ETag``/``Location`` response header its schema."""
    for response in responses.values():
        for name, header in ((response or {}).get("headers") or {}).items():
            if name in RESPONSE_HEADER_SCHEMAS and isinstance(header, dict):
                header.setdefault("schema", copy.deepcopy(RESPONSE_HEADER_SCHEMAS[name]))
                header.pop("deprecated", None)


def operation_statuses(
    handler: HTTPRouteHandler, dependency_statuses: Mapping[str, Mapping[int, str]]
) -> dict[int, str]:
    """The problem statuses the handler's dependencies and its own ``opt`` declare."""
    statuses: dict[int, str] = {}
    for name, answers in dependency_statuses.items():
        if _depends_on(handler, name):
            statuses.update(answers)
    statuses.update(handler.opt.get(PROBLEMS_OPT) or {})
    return statuses


def make_precise(
    document: Mapping[str, Any],
    handlers: Mapping[tuple[str, str], HTTPRouteHandler],
    dependency_statuses: Mapping[str, Mapping[int, str]] = DEFAULT_DEPENDENCY_STATUSES,
) -> dict[str, Any]:
    """A copy of a Litestar-generated document with every operation's real problem answers."""
    doc = copy.deepcopy(dict(document))
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = copy.deepcopy(PROBLEM_SCHEMA)
    schemas["ValidationProblem"] = copy.deepcopy(VALIDATION_PROBLEM_SCHEMA)
    for path, item in (doc.get("paths") or {}).items():
        for method, operation in item.items():
            if method not in _HTTP_METHODS or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("400", None)  # Litestar's default {status_code, detail, extra}: never sent
            parameters = operation.get("parameters") or []
            for parameter in parameters:
                if parameter.get("in") == "query":
                    _state_instant_range(parameter)
                if parameter.get("in") == "query" and not parameter.get("required"):
                    _allow_empty(parameter)
            has_body = "requestBody" in operation
            handler = handlers.get((path, method))
            if handler is not None:
                for status, description in operation_statuses(handler, dependency_statuses).items():
                    add_problem(operation, status, description)
                _merge_body_rules(operation, handler, schemas)
                _close_objects(handler, schemas)
                if str(handler.media_type) == EVENT_STREAM:
                    _event_stream_answers(responses)
            if any(p.get("in") == "path" or _names_a_resource(p) for p in parameters):
                add_problem(operation, 404)
            names = {str(p.get("name", "")).lower() for p in parameters if p.get("in") == "header"}
            if "if-match" in names:
                add_problem(operation, 412)
                _state_if_match(parameters)
            if "if-none-match" in names:
                responses.setdefault("304", _not_modified_response())
            _header_schemas(responses)
            if method in _WRITE_METHODS:  # a unique rule or a state rule (Conflict) of any write
                add_problem(operation, 409)
            if has_body:
                add_problem(operation, 400)
                add_problem(operation, 415)
            if has_body or parameters:
                add_problem(operation, 422)
    _ecma_patterns(schemas)
    forbid_nul(schemas)
    _state_instant_ranges(schemas)
    for item in (doc.get("paths") or {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                _ecma_patterns(operation.get("parameters") or [])
                forbid_nul(operation.get("parameters") or [])
    return doc


def route_handlers(app: Litestar) -> dict[tuple[str, str], HTTPRouteHandler]:
    """Every documented route handler of the app by (OpenAPI path, lower-case method)."""
    plugin = app.plugins.get(OpenAPIPlugin)
    found: dict[tuple[str, str], HTTPRouteHandler] = {}
    for route in plugin.included_routes.values():
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                found[(route.path_format or "/", method.lower())] = handler
    return found


class PreciseJsonRenderPlugin(JsonRenderPlugin):
    """Serves the service's OpenAPI document as JSON after :func:`make_precise`."""

    def __init__(self, dependency_statuses: Mapping[str, Mapping[int, str]] | None = None) -> None:
        super().__init__()
        self.dependency_statuses = {**DEFAULT_DEPENDENCY_STATUSES, **(dependency_statuses or {})}
        self._rendered: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:
            precise = make_precise(openapi_schema, route_handlers(request.app), self.dependency_statuses)
            self._rendered = self.render_json(request, precise)
        return self._rendered


__all__ = [
    "NO_NUL_PATTERN",
    "PROBLEM_REF",
    "PROBLEM_SCHEMA",
    "VALIDATION_PROBLEM_REF",
    "VALIDATION_PROBLEM_SCHEMA",
    "PreciseJsonRenderPlugin",
    "add_problem",
    "forbid_nul",
    "make_precise",
    "problem_response",
    "problems",
]
