"""HTTP helpers shared by the journal controllers: ETags, If-Match, JSON responses."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Response
from litestar.exceptions import HTTPException
from litestar.params import Parameter

from daybook_common.pagination import Page
from daybook_common.problems import validation_error

T = TypeVar("T")

JSON = "application/json"

IfMatchHeader = Annotated[
    str | None, Parameter(header="If-Match", description="ETag from a previous read; 412 if it changed")
]
IfNoneMatchHeader = Annotated[str | None, Parameter(header="If-None-Match", description="304 if unchanged")]
IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retrying a create with the same key and body returns the first response",
    ),
]


def etag(version: int) -> str:
    """The strong entity tag of a resource at ``version``."""
    return f'"{version}"'


@dataclass(frozen=True)
class IfMatch:
    """A parsed ``If-Match`` header (strong comparison, RFC 9110 §13.1.1)."""

    any: bool
    versions: frozenset[int]

    def matches(self, version: int) -> bool:
        return self.any or version in self.versions


def parse_if_match(value: str | None) -> IfMatch | None:
    """``None`` when the header is absent; weak or malformed tags never match."""
    if value is None:
        return None
    versions: set[int] = set()
    for raw in value.split(","):
        tag = raw.strip()
        if tag == "*":
            return IfMatch(any=True, versions=frozenset())
        if len(tag) >= 3 and tag[0] == '"' and tag[-1] == '"' and tag[1:-1].isdigit():
            versions.add(int(tag[1:-1]))
    return IfMatch(any=False, versions=frozenset(versions))


def none_match(value: str | None, version: int) -> bool:
    """True when ``If-None-Match`` names the current version (so a GET may answer 304)."""
    if value is None:
        return False
    current = etag(version)
    for raw in value.split(","):
        tag = raw.strip()
        if tag == "*" or tag.removeprefix("W/") == current:
            return True
    return False


def precondition_failed() -> HTTPException:
    return HTTPException(
        status_code=412, detail="The resource changed since you read it (If-Match does not match)"
    )


def check_if_match(if_match: IfMatch | None, version: int) -> None:
    if if_match is not None and not if_match.matches(version):
        raise precondition_failed()


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


_encode_json = msgspec.json.Encoder().encode


def encode_page(items: list[Any], next_cursor: str | None) -> bytes:
    """A list page's JSON: the bytes Litestar's serializer gives for ``Page(items, next_cursor)``."""
    return _encode_json(Page(items=items, next_cursor=next_cursor))


def page_response(items: list[T], next_cursor: str | None) -> Response[Page[T]]:
    """A list page, encoded here once with msgspec (the bytes Litestar's serializer would give).

    Litestar would build the same body through its generic serializer hooks; on the list
    endpoints (the hot path) encoding it directly is cheaper, and the declared return type
    ``Response[Page[...]]`` keeps the OpenAPI schema unchanged.
    """
    return Response(content=encode_page(items, next_cursor), media_type=JSON)  # type: ignore[arg-type]


def not_modified(version: int) -> Response[bytes]:
    return Response(content=b"", status_code=304, headers={"ETag": etag(version)})


def parse_instant(value: str | None, field: str, end_of_day: bool = False) -> datetime.datetime | None:
    """A query-string instant: RFC 3339 with an offset, or a ``YYYY-MM-DD`` day (UTC).

    A bare day means its first instant, or with ``end_of_day`` its last one (so
    ``to=2026-01-31`` includes all of January 31st).
    """
    if value is None:
        return None
    text = value.strip()
    if len(text) == 10:
        try:
            day = datetime.date.fromisoformat(text)
        except ValueError:
            raise validation_error(field, "expected YYYY-MM-DD or an RFC 3339 timestamp") from None
        start = datetime.datetime.combine(day, datetime.time(), datetime.UTC)
        return start + datetime.timedelta(days=1, microseconds=-1) if end_of_day else start
    try:
        instant = datetime.datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise validation_error(field, "expected YYYY-MM-DD or an RFC 3339 timestamp") from None
    if instant.tzinfo is None:
        raise validation_error(field, "a timestamp needs an offset, e.g. Z or +02:00")
    return instant
