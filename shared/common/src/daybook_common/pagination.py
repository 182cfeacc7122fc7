"""Keyset pagination: opaque cursors, ``limit`` 1..100 (default 20), bad cursor → 422.

A cursor encodes the sort key of the last row served; the next page asks for rows
strictly after it, so concurrent inserts never shift a page (no skips, no repeats).
Cursors are not signed: a client can forge one, so every decoded value must also be one
PostgreSQL takes as a parameter (an ``integer``, an aware timestamp in range, text without
NUL) — a forged value is a 422 like any other bad cursor, never a 500 from the database.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import types as builtin_types
import typing
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar.params import Parameter

from daybook_common.problems import validation_error

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description=f"Page size, 1..{MAX_LIMIT}", query="limit")]
#: What :func:`encode_cursor` makes: unpadded base64url (an empty ``?cursor=`` is no cursor).
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
CURSOR_MAX_LENGTH = 1024
Cursor = Annotated[
    str | None,
    Parameter(
        description="Opaque cursor from the previous page's next_cursor",
        query="cursor",
        pattern=CURSOR_PATTERN,
        min_length=1,
        max_length=CURSOR_MAX_LENGTH,
    ),
]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(*values: Any) -> str:
    raw = msgspec.json.encode(list(values))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


#: A cursor's ``int`` is a PostgreSQL ``integer`` (sort orders, depths, ranks); a ``bigint`` key
#: asks for :data:`BigInt` instead.
Int = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
BigInt = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_STRICT: dict[Any, Any] = {
    int: Int,
    str: Annotated[str, msgspec.Meta(pattern="^[^\x00]*$")],
    # encode_cursor writes the UTC timestamps the database gave; a naive one has no instant.
    datetime.datetime: Annotated[datetime.datetime, msgspec.Meta(tz=True)],
}


def _strict(tp: Any) -> Any:
    """``tp`` with :data:`_STRICT`'s constraints, also inside a union (``datetime | None``)."""
    if isinstance(tp, builtin_types.UnionType) or typing.get_origin(tp) is typing.Union:
        return typing.Union[tuple(_strict(arg) for arg in typing.get_args(tp))]  # noqa: UP007
    return _STRICT.get(tp, tp)


def decode_cursor(cursor: str, types: tuple[Any, ...]) -> tuple[Any, ...]:
    """Decode a cursor made by :func:`encode_cursor` whose values have ``types``.

    Timestamps come back in UTC; one whose UTC form is out of range (``0001-01-01T00:00+14:00``)
    is refused like any value of the wrong type.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii"))
        # The tuple's shape is the caller's run-time ``types``, which no static type can spell.
        strict = tuple(_strict(tp) for tp in types)
        values: tuple[Any, ...] = msgspec.json.decode(raw, type=tuple[strict])  # type: ignore[valid-type]
        return tuple(
            value.astimezone(datetime.UTC) if isinstance(value, datetime.datetime) else value
            for value in values
        )
    except (
        binascii.Error,
        ValueError,
        OverflowError,
        UnicodeEncodeError,
        msgspec.ValidationError,
        msgspec.DecodeError,
    ):
        raise validation_error("cursor", "invalid cursor") from None


def page_of(rows: list[T], limit: int, key: Any) -> tuple[list[T], str | None]:
    """Given up to ``limit + 1`` rows, return the page and the cursor for the next one.

    ``key(row)`` returns the tuple of sort values to encode for the last row served.
    """
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, encode_cursor(*key(page[-1]))
