"""The hot read's fast path: ``GET /api/v1/journal/entries`` with nothing but ``limit``/``cursor``.

That request — a client's journal, page after page — is most of the service's traffic.
Through Litestar's handler machinery (a ``Request``, query-parameter extraction and
validation into a signature model, dependency resolution, a ``Response`` turned into an
ASGI response) the framework costs about as much CPU as the database round trip and
the page itself.  This route middleware sits in front of ``EntryController.list_entries``
(Litestar has already routed the request, and its exception middleware is still around
it) and, when the query string is the simple shape — at most one ``limit`` written as
plain digits in 1..100 and at most one ``cursor`` of URL-safe base64 characters, nothing
else — does what the handler would with the same functions: :func:`verified_caller`
(the same 401s), :class:`EntryQueries` (the same statement and cursor checks, the same
422 for a bad cursor) and :func:`encode_page` (the same bytes).  Every other request
(filters, odd spellings, repeated parameters) goes to the handler unchanged.

``tests/test_fast_path.py`` sends the same requests with the fast path on and off and
compares status, headers and body; ``JOURNAL_LIST_FAST_PATH=false`` turns it off.
"""

from __future__ import annotations

import re

from litestar.datastructures import State
from litestar.types import ASGIApp, Receive, Scope, Send

from daybook_common.auth import VERIFIER_STATE_KEY, verified_caller
from daybook_common.http import encode_page, send_json
from daybook_common.pagination import CURSOR_MAX_LENGTH, DEFAULT_LIMIT, MAX_LIMIT
from daybook_journal.db.reads import READ_POOL_STATE_KEY, UserReads
from daybook_journal.dependencies import SETTINGS_STATE_KEY
from daybook_journal.entries.services import EntryFilters, EntryQueries
from daybook_journal.settings import JournalSettings

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
    """The body of a simple-shaped list request (also :mod:`daybook_journal.hot_reads`' answer)."""
    limit, cursor = simple
    items, next_cursor = await EntryQueries(reads).page(_NO_FILTERS, cursor, limit)
    return encode_page(items, next_cursor)


def list_entries_fast_path(app: ASGIApp) -> ASGIApp:
    """Route middleware for ``ListEntries`` (``app`` is the handler it stands in front of)."""

    async def fast_path(scope: Scope, receive: Receive, send: Send) -> None:
        state: State = scope["litestar_app"].state
        settings: JournalSettings = state[SETTINGS_STATE_KEY]
        simple = simple_query(scope["query_string"]) if settings.list_fast_path else None
        if simple is None:
            await app(scope, receive, send)
            return
        caller = await verified_caller(scope, state[VERIFIER_STATE_KEY])
        body = await page(scope, UserReads(state[READ_POOL_STATE_KEY], caller.user_id), simple)
        await send_json(send, body)

    return fast_path
