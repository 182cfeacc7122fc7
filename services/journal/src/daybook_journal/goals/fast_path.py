"""A tree's two hot reads: ``GET /goals/{id}/tree`` and ``GET /goals/{root}/sessions``.

:mod:`daybook_journal.hot_reads` answers them in front of Litestar for the common shape — the
tree with no query string at all; a sessions page with at most one plain ``limit`` and one
``cursor`` (:func:`~daybook_journal.entries.fast_path.simple_query`), no ``from``/``to`` filters
— with :func:`tree` and :func:`sessions`, which do what the handlers do with the same functions:
:class:`GoalQueries` / :class:`SessionQueries` on the read pool (the same statement, the same 404
problem+json for a goal or tree that is not the caller's, the same 422 for a bad cursor) and
msgspec's encoder (the bytes Litestar's serializer gives).  Everything else goes to the handlers.
"""

from __future__ import annotations

import uuid
from typing import cast

import msgspec
from litestar.types import Scope

from daybook_common.http import encode_page
from daybook_journal.db.reads import UserReads
from daybook_journal.goals.services import GoalQueries
from daybook_journal.sessions.reads import SessionQueries

_encode = msgspec.json.Encoder().encode


def _uuid(scope: Scope, name: str) -> uuid.UUID:
    """A path parameter already parsed (``{name:uuid}``, as Litestar's router does)."""
    return cast(uuid.UUID, scope["path_params"][name])


async def tree(scope: Scope, reads: UserReads, _: tuple[int, str | None]) -> bytes:
    """The body of ``GET /goals/{goal_id}/tree`` (no query string)."""
    return _encode(await GoalQueries(reads).tree(_uuid(scope, "goal_id")))


async def sessions(scope: Scope, reads: UserReads, simple: tuple[int, str | None]) -> bytes:
    """The body of a simple-shaped ``GET /goals/{root_id}/sessions``."""
    limit, cursor = simple
    items, next_cursor = await SessionQueries(reads).page(_uuid(scope, "root_id"), cursor, limit)
    return encode_page(items, next_cursor)
