"""The entries list's hot read: ``GET /api/v1/journal/entries`` with nothing but ``limit``/``cursor``.

That request — a client's journal, page after page — is most of the service's traffic.
:mod:`daybook_journal.hot_reads` answers it in front of Litestar when the query string is the
simple shape — at most one ``limit`` written as plain digits in 1..100 and at most one
``cursor`` of URL-safe base64 characters, nothing else — with :func:`page`, which does what
``EntryController.list_entries`` does with the same functions: :class:`EntryQueries` (the same
statement and cursor checks, the same 422 for a bad cursor) and :func:`encode_page` (the same
bytes).  Every other request (filters, odd spellings, repeated parameters) goes to the handler.
:func:`simple_query` is also the sessions page's shape.
"""

from __future__ import annotations

import re

from litestar.types import Scope

from daybook_common.http import encode_page
from daybook_common.pagination import CURSOR_MAX_LENGTH, DEFAULT_LIMIT, MAX_LIMIT
from daybook_journal.db.reads import UserReads
from daybook_journal.entries.services import EntryFilters, EntryQueries

_LIMIT = re.compile(rb"[1-9][0-9]{0,2}")
_CURSOR = re.compile(
    rb"[A-Za-z0-9_-]{1,%d}" % CURSOR_MAX_LENGTH
)  # longer: the handler's own 422 (max_length)
_NO_FILTERS = EntryFilters()


def simple_query(query_string: bytes) -> tuple[int, str | None] | None:
    """``(limit, cursor)`` when the query is the simple shape (see the module), else ``None``.

    Only spellings whose meaning is beyond doubt are taken: no percent-escapes, no ``+``,
    no leading zeros or signs, no empty or repeated parameters — those are the handler's.
    """
    if not query_string:
        return DEFAULT_LIMIT, None
    limit: int | None = None
    cursor: str | None = None
    for part in query_string.split(b"&"):
        name, equals, value = part.partition(b"=")
        if not equals:
            return None
        if name == b"limit" and limit is None and _LIMIT.fullmatch(value):
            limit = int(value)
            if limit > MAX_LIMIT:
                return None
        elif name == b"cursor" and cursor is None and _CURSOR.fullmatch(value):
            cursor = value.decode("ascii")
        else:
            return None
    return (DEFAULT_LIMIT if limit is None else limit), cursor


async def page(scope: Scope, reads: UserReads, simple: tuple[int, str | None]) -> bytes:
    """The body of a simple-shaped list request (the caller's page, no filters)."""
    limit, cursor = simple
    items, next_cursor = await EntryQueries(reads).page(_NO_FILTERS, cursor, limit)
    return encode_page(items, next_cursor)
