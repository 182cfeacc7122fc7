"""HTTP conventions every service shares: ETags, ``If-Match``/``If-None-Match``, header types,
JSON and page responses.

One ETag scheme: a resource's ETag is its version counter, quoted (``"3"``); every change
bumps the version. ``If-Match`` uses the strong comparison (RFC 9110 §13.1.1: weak or
malformed tags never match) and becomes a plain :data:`~daybook_common.errors.ExpectedVersion`
for the service layer, which raises ``PreconditionFailed`` (412) on a mismatch;
``If-None-Match`` uses the weak comparison and lets a GET answer 304. ``If-Match`` is optional
(API.md: a write *with* one that no longer matches is 412; none is ever required, so no 428).

Every route that sends ``ETag`` (or ``Location``, for a create) says so in its decorator with
``response_headers=`` :data:`VERSIONED` (or :data:`CREATED`), so the OpenAPI document declares
it (:mod:`daybook_common.openapi` adds the header's schema).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast

import msgspec
from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.params import Parameter

from daybook_common.errors import ExpectedVersion
from daybook_common.idempotency import Create, IdempotencyKeys, fingerprint, legacy_fingerprint
from daybook_common.pagination import Page

T = TypeVar("T")

JSON = "application/json"
_JSON_BYTES = JSON.encode("ascii")
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 255

#: A strong entity tag that can name a version (a bigint: at most 19 digits).
_STRONG_TAG = re.compile(r'"[0-9]{1,19}"')

IfMatchHeader = Annotated[
    str | None, Parameter(header="If-Match", description="ETag from a previous read; 412 if it changed")
]
IfNoneMatchHeader = Annotated[str | None, Parameter(header="If-None-Match", description="304 if unchanged")]
IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header=IDEMPOTENCY_KEY_HEADER,
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        description="Retrying a create with the same key and body within 24 h returns the first response",
    ),
]

ETAG_HEADER = ResponseHeader(
    name="ETag",
    documentation_only=True,
    required=True,
    description='The resource\'s version, a strong entity tag (`"3"`): send it as If-Match to change it',
)
LOCATION_HEADER = ResponseHeader(
    name="Location", documentation_only=True, required=True, description="The new resource's path"
)
#: ``response_headers`` of a route answering one versioned resource (its ETag).
VERSIONED = (ETAG_HEADER,)
#: ``response_headers`` of a route creating one (its ETag and Location).
CREATED = (ETAG_HEADER, LOCATION_HEADER)


def etag(version: int) -> str:
    """The strong entity tag of a resource at ``version``."""
    return f'"{version}"'


def expected_version(if_match: str | None) -> ExpectedVersion:
    """An ``If-Match`` header as the version(s) a change expects (``None``: absent or ``*``).

    A header naming no valid strong tag (weak or malformed ones) expects an empty set, which
    no version satisfies: the change gets 412.
    """
    if if_match is None:
        return None
    versions: set[int] = set()
    for raw in if_match.split(","):
        tag = raw.strip()
        if tag == "*":
            return None
        if _STRONG_TAG.fullmatch(tag):  # ASCII digits only: int() refuses "²" and 4301+ digits
            versions.add(int(tag[1:-1]))
    if len(versions) == 1:
        return versions.pop()
    return frozenset(versions)


def none_match(if_none_match: str | None, version: int) -> bool:
    """True when ``If-None-Match`` names the current version (so a GET may answer 304)."""
    if if_none_match is None:
        return False
    current = etag(version)
    for raw in if_none_match.split(","):
        tag = raw.strip()
        if tag == "*" or tag.removeprefix("W/") == current:
            return True
    return False


def json_response(
    body: Any, status_code: int = 200, version: int | None = None, headers: dict[str, str] | None = None
) -> Response[bytes]:
    """Encode once with msgspec; ``version`` adds the ETag header."""
    all_headers = dict(headers or {})
    if version is not None:
        all_headers["ETag"] = etag(version)
    return Response(
        content=msgspec.json.encode(body), status_code=status_code, media_type=JSON, headers=all_headers
    )


def not_modified(version: int) -> Response[bytes]:
    return Response(content=b"", status_code=304, headers={"ETag": etag(version)})


def read_response(
    body: Any, version: int, if_none_match: str | None, headers: dict[str, str] | None = None
) -> Response[bytes]:
    """A single-resource GET: 304 when ``If-None-Match`` names ``version``, else the body with its ETag."""
    if none_match(if_none_match, version):
        return not_modified(version)
    return json_response(body, version=version, headers=headers)


_encode_json = msgspec.json.Encoder().encode


def encode_page(items: list[Any], next_cursor: str | None) -> bytes:
    """A list page's JSON: the bytes Litestar's serializer gives for ``Page(items, next_cursor)``."""
    return _encode_json(Page(items=items, next_cursor=next_cursor))


async def send_json(send: Callable[[Any], Awaitable[None]], body: bytes) -> None:
    """Answer ``200`` with a JSON ``body`` straight over ASGI ``send`` (the journal's hot reads,
    served off Litestar's response machinery: the same two headers its ``Response`` gives)."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", _JSON_BYTES), (b"content-length", str(len(body)).encode("ascii"))],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def page_response(items: list[T], next_cursor: str | None) -> Response[Page[T]]:
    """A list page, encoded here once with msgspec (the bytes Litestar's serializer would give).

    Litestar would build the same body through its generic serializer hooks; on list endpoints
    encoding it directly is cheaper, and the declared return type ``Response[Page[...]]`` keeps
    the OpenAPI schema unchanged.
    """
    # The body is those bytes; the declared Response[Page[T]] is what the OpenAPI schema shows.
    return cast("Response[Page[T]]", Response(content=encode_page(items, next_cursor), media_type=JSON))


def stored_response(status_code: int, body: bytes, headers: dict[str, str]) -> Response[bytes]:
    """A response already encoded (an idempotent create's first answer, or its replay)."""
    return Response(content=body, status_code=status_code, media_type=JSON, headers=headers)


async def idempotent_create(
    keys: IdempotencyKeys, key: str | None, method: str, path: str, body: Any, create: Create
) -> Response[bytes]:
    """A creating POST under ``Idempotency-Key``: runs ``create`` once per key, replays it after."""
    if key is None:
        stored = await keys.run(None, b"", create)
    else:
        legacy = (legacy_fingerprint(method, path, body),)
        stored = await keys.run(key, fingerprint(method, path, body), create, also=legacy)
    return stored_response(stored.status_code, stored.body, stored.headers)


__all__ = [
    "CREATED",
    "ETAG_HEADER",
    "IDEMPOTENCY_KEY_HEADER",
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "JSON",
    "LOCATION_HEADER",
    "VERSIONED",
    "IdempotencyKey",
    "IfMatchHeader",
    "IfNoneMatchHeader",
    "encode_page",
    "etag",
    "expected_version",
    "idempotent_create",
    "json_response",
    "none_match",
    "not_modified",
    "page_response",
    "read_response",
    "send_json",
    "stored_response",
]
