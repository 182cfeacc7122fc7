"""Fast paths for a tree's two hot reads: ``GET /goals/{id}/tree`` and ``GET /goals/{root}/sessions``.

The same route middleware as the entries list's (:mod:`daybook_journal.entries.fast_path`):
Litestar has routed the request (the path's UUID is parsed, its exception middleware is still
around us), and for the common shape the middleware does what the handler would with the same
functions — :func:`verified_caller` (the same 401s), :class:`GoalQueries` /
:class:`SessionQueries` on the read pool (the same statement, the same 404 problem+json for a
goal or tree that is not the caller's, the same 422 for a bad cursor) and msgspec's encoder (the
bytes Litestar's serializer gives) — skipping the ``Request``, signature model, dependency
resolution and ``Response`` machinery.

The common shape: the tree with no query string at all; a sessions page with at most one plain
``limit`` and one ``cursor`` (:func:`~daybook_journal.entries.fast_path.simple_query`), no
``from``/``to`` filters.  Everything else goes to the handler unchanged.
``tests/test_goals_fast_path.py`` compares both paths' status, headers and bytes;
``JOURNAL_LIST_FAST_PATH=false`` turns these off with the entries list's.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import cast

import msgspec
from litestar.datastructures import State
from litestar.types import ASGIApp, Receive, Scope, Send

from daybook_common.auth import VERIFIER_STATE_KEY, verified_caller
from daybook_common.http import encode_page, send_json
from daybook_journal.db.reads import READ_POOL_STATE_KEY, UserReads
from daybook_journal.dependencies import SETTINGS_STATE_KEY
from daybook_journal.entries.fast_path import simple_query
from daybook_journal.goals.services import GoalQueries
from daybook_journal.sessions.reads import SessionQueries
from daybook_journal.settings import JournalSettings

_encode = msgspec.json.Encoder().encode

#: Given the request's scope, its caller's reads and the parsed query: the body, or ``None`` to
#: hand the request to the handler.
Answer = Callable[[Scope, UserReads, tuple[int, str | None]], Awaitable[bytes]]


def _route_fast_path(app: ASGIApp, answer: Answer, *, query: bool) -> ASGIApp:
    """Route middleware in front of ``app`` (the handler) answering 200 with ``answer``'s JSON body
    when the fast path is on and the query string is the simple shape (empty when not ``query``)."""

    async def fast_path(scope: Scope, receive: Receive, send: Send) -> None:
        state: State = scope["litestar_app"].state
        settings: JournalSettings = state[SETTINGS_STATE_KEY]
        simple = None
        if settings.list_fast_path:
            if query:
                simple = simple_query(scope["query_string"])
            elif not scope["query_string"]:
                simple = (0, None)
        if simple is None:
            await app(scope, receive, send)
            return
        caller = await verified_caller(scope, state[VERIFIER_STATE_KEY])
        body = await answer(scope, UserReads(state[READ_POOL_STATE_KEY], caller.user_id), simple)
        await send_json(send, body)

    return fast_path


def _uuid(scope: Scope, name: str) -> uuid.UUID:
    """A path parameter the router has already parsed (``{name:uuid}``)."""
    return cast(uuid.UUID, scope["path_params"][name])


async def _tree(scope: Scope, reads: UserReads, _: tuple[int, str | None]) -> bytes:
    return _encode(await GoalQueries(reads).tree(_uuid(scope, "goal_id")))


async def _sessions(scope: Scope, reads: UserReads, simple: tuple[int, str | None]) -> bytes:
    limit, cursor = simple
    items, next_cursor = await SessionQueries(reads).page(_uuid(scope, "root_id"), cursor, limit)
    return encode_page(items, next_cursor)


#: The answers, also reached from in front of Litestar (:mod:`daybook_journal.hot_reads`).
tree_answer: Answer = _tree
sessions_answer: Answer = _sessions


def tree_fast_path(app: ASGIApp) -> ASGIApp:
    """Route middleware for ``GetGoalTree``."""
    return _route_fast_path(app, _tree, query=False)


def sessions_fast_path(app: ASGIApp) -> ASGIApp:
    """Route middleware for ``ListSessions``."""
    return _route_fast_path(app, _sessions, query=True)
