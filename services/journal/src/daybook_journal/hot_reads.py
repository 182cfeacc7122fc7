"""The journal's hot reads answered in front of Litestar (issue 23 case 2, issue 16 case 8).

The route middleware fast paths (:mod:`daybook_journal.entries.fast_path`,
:mod:`daybook_journal.goals.fast_path`) skip Litestar's handler machinery, but Litestar still
routed each request and ran the ASGI layers around the router: the input guard, the
empty-parameter filter, the ``Allow`` wrapper, Litestar's route lookup and its exception
middleware.  On a hot read those cost more CPU than the handler's own work (bench/README.md,
case 2).  :class:`HotReads` sits just inside :class:`~daybook_common.observability.RequestIdMiddleware`
(so request id, ``server`` header, access line and metrics are the same code as for every
other request) and takes a request only when all of this holds:

* ``GET`` with no body (no ``content-length`` / ``transfer-encoding``) and no ``root_path``;
* the path is exactly ``/api/v1/journal/entries``, or ``/api/v1/goals/{id}/tree`` /
  ``/api/v1/goals/{id}/sessions`` with ``id`` a lowercase hyphenated UUID;
* the query string is the fast paths' simple shape (none at all for the tree).

For those the guard and the empty-parameter filter have nothing to do (no NUL, no ``%``, no
empty parameter can be in such a target), ``Allow`` is only for ``OPTIONS``, and the route is
known: the dispatcher sets ``path_template`` and ``path_params`` as Litestar's router would and
calls the fast paths' own answer functions (:func:`~daybook_journal.entries.fast_path.page`,
the goals module's ``Answer`` functions) after :func:`verified_caller`.  An error raised
before the answer is sent (401, 404, 422, the database down → 503 with ``Retry-After``, 500) is
rendered by the app's exception handlers (:mod:`daybook_common.problems`) exactly as Litestar's
exception middleware renders it.  Everything else goes to Litestar unchanged.

``JOURNAL_LIST_FAST_PATH=false`` does not install it; nor does tracing (Litestar's
OpenTelemetry middleware makes the spans).  ``tests/test_fast_path.py`` and
``tests/test_goals_fast_path.py`` compare status, headers and bytes with it on and off.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Litestar
from litestar.middleware._internal.exceptions.middleware import get_exception_handler
from litestar.types import ASGIApp, Receive, Scope, Send

from daybook_common.auth import VERIFIER_STATE_KEY, verified_caller
from daybook_common.http import send_json
from daybook_journal.db.reads import READ_POOL_STATE_KEY, UserReads
from daybook_journal.entries import fast_path as entries
from daybook_journal.goals import fast_path as goals

_ENTRIES = "/api/v1/journal/entries"
_GOALS = "/api/v1/goals/"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})

Answer = Callable[[Scope, UserReads, tuple[int, str | None]], Awaitable[bytes]]


class _Route:
    """One hot route: its template (as Litestar's router names it), parameter and answer."""

    __slots__ = ("answer", "param", "query", "template")

    def __init__(
        self, template: str, answer: Answer, *, param: str | None = None, query: bool = True
    ) -> None:
        self.template = template
        self.answer = answer
        self.param = param
        self.query = query


_LIST = _Route(_ENTRIES, entries.page)
_TREE = _Route("/api/v1/goals/{goal_id}/tree", goals.tree_answer, param="goal_id", query=False)
_SESSIONS = _Route("/api/v1/goals/{root_id}/sessions", goals.sessions_answer, param="root_id")
_BY_SUFFIX = {"/tree": _TREE, "/sessions": _SESSIONS}


class HotReads:
    """ASGI app: the hot reads answered here, everything else by ``app`` (see the module)."""

    def __init__(self, app: ASGIApp, litestar: Litestar) -> None:
        self.app = app
        self.litestar = litestar
        known = {route.path_format for route in litestar.routes}
        missing = {r.template for r in (_LIST, _TREE, _SESSIONS)} - known
        if missing:  # a renamed route must not leave a dispatcher answering for it
            raise RuntimeError(f"hot reads: no such routes {sorted(missing)}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: _Route | None = None
        simple: tuple[int, str | None] | None = None
        http: Any = scope  # an HTTP scope once "type" says so (Scope is a union of TypedDicts)
        if http["type"] == "http" and http["method"] == "GET" and not http.get("root_path"):
            route, param = _match(scope["path"])
            if route is not None:
                query: bytes = scope["query_string"]
                if route.query:
                    simple = entries.simple_query(query)
                elif not query:
                    simple = (0, None)
                if simple is not None and not any(name in _BODY_HEADERS for name, _ in scope["headers"]):
                    scope["path_template"] = route.template
                    if route.param is not None:
                        http["path_params"] = {route.param: param}  # parsed, as the router does
                else:
                    simple = None
        if route is None or simple is None:
            await self.app(scope, receive, send)
            return
        state = self.litestar.state
        try:
            caller = await verified_caller(scope, state[VERIFIER_STATE_KEY])
            body = await route.answer(scope, UserReads(state[READ_POOL_STATE_KEY], caller.user_id), simple)
        except Exception as exc:  # rendered as Litestar's exception middleware would
            await self._problem(scope, receive, send, exc)
            return
        await send_json(send, body)

    async def _problem(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        """What Litestar's ``ExceptionHandlerMiddleware`` does for an HTTP request (the app has no
        ``after_exception`` hooks and no exception logging config; the handlers log themselves)."""
        app = self.litestar
        handler = get_exception_handler(app.exception_handlers, exc)
        if handler is None:  # the handlers map Exception: cannot happen, but never answer nothing
            raise exc
        request: Any = app.request_class(scope=scope, receive=receive, send=send)
        response = handler(request, exc)
        await response.to_asgi_response(app=None, request=request, type_encoders=app.type_encoders)(
            scope, receive, send
        )


def _match(path: str) -> tuple[_Route | None, uuid.UUID | None]:
    if path == _ENTRIES:
        return _LIST, None
    if path.startswith(_GOALS) and len(path) > len(_GOALS) + 36:
        rest = path[len(_GOALS) :]
        route = _BY_SUFFIX.get(rest[36:])
        if route is not None and _UUID.fullmatch(rest, 0, 36):
            return route, uuid.UUID(rest[:36])
    return None, None


def hot_reads(app: ASGIApp, litestar: Litestar) -> ASGIApp:
    """``ServiceApp.front`` for the journal."""
    return HotReads(app, litestar)
