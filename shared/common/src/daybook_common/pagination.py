"""Keyset pagination: opaque cursors, ``limit`` 1..100 (default 20), bad cursor → 422.

A cursor encodes the sort key of the last row served; the next page asks for rows
strictly after it, so concurrent inserts never shift a page (no skips, no repeats).
"""

from __future__ import annotations

import base64
import binascii
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


def decode_cursor(cursor: str, types: tuple[type, ...]) -> tuple[Any, ...]:
    """Decode a cursor made by :func:`encode_cursor` whose values have ``types``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii"))
        # The tuple's shape is the caller's run-time ``types``, which no static type can spell.
        values = msgspec.json.decode(raw, type=tuple[types])  # type: ignore[valid-type]
    except (binascii.Error, ValueError, UnicodeEncodeError, msgspec.ValidationError, msgspec.DecodeError):
        raise validation_error("cursor", "invalid cursor") from None
    return tuple(values)


def page_of(rows: list[T], limit: int, key: Any) -> tuple[list[T], str | None]:
    """Given up to ``limit + 1`` rows, return the page and the cursor for the next one.

    ``key(row)`` returns the tuple of sort values to encode for the last row served.
    """
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, encode_cursor(*key(page[-1]))
