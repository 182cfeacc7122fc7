"""The journal's hot reads answered in front of Litestar (issue 23 case 2, issue 16 case 8).

The one way these reads skip the framework.  Through Litestar a hot read pays for more than its
own work: the ASGI layers around the router (the input guard, the empty-parameter filter, the
``Allow`` wrapper), the route lookup, the exception middleware, and the handler machinery (a
``Request``, query-parameter extraction and validation into a signature model, dependency
resolution, a ``Response`` turned into an ASGI response) — more CPU than the database round trip
and the page itself (bench/README.md, case 2).  :class:`HotReads` sits just inside
:class:`~daybook_common.observability.RequestIdMiddleware` (so request id, ``server`` header,
access line and metrics are the same code as for every other request) and takes a request only
when all of this holds:

* ``GET`` with no body (no ``content-length`` / ``transfer-encoding``) and no ``root_path``;
* the path is exactly ``/api/v1/journal/entries``, or ``/api/v1/goals/{id}/tree`` /
  ``/api/v1/goals/{id}/sessions`` with ``id`` a lowercase hyphenated UUID;
* the query string is the simple shape (:func:`~daybook_journal.entries.fast_path.simple_query`:
  at most one plain ``limit`` and one ``cursor``, no filters; none at all for the tree).

For those the guard and the empty-parameter filter have nothing to do (no NUL, no ``%``, no
empty parameter can be in such a target), ``Allow`` is only for ``OPTIONS``, and the route is
known: the dispatcher sets ``path_template`` and ``path_params`` as Litestar's router would and,
after :func:`verified_caller` (the handlers' 401s), calls the answer functions
(:func:`~daybook_journal.entries.fast_path.page`, :func:`~daybook_journal.goals.fast_path.tree`,
:func:`~daybook_journal.goals.fast_path.sessions`), which use the handlers' own queries and
encoders.  An error raised before the answer is sent (401, 404, 422, the database down → 503
with ``Retry-After``, 500) is rendered by the app's exception handlers
(:mod:`daybook_common.problems`) exactly as Litestar's exception middleware renders it.
Everything else goes to Litestar unchanged.

With tracing on, the answer runs inside the middleware of Litestar's OpenTelemetry plugin (the
app's own instance of it, :func:`_traced`): the same server span, name and attributes as
Litestar gives every other request, continuing the caller's ``traceparent``, with the SQL spans
under it.  ``JOURNAL_LIST_FAST_PATH=false`` does not install the dispatcher: every request goes
through Litestar.  ``tests/test_hot_reads.py``, ``tests/test_fast_path.py`` and
``tests/test_goals_fast_path.py`` compare status, headers, bytes, access lines, metrics and
spans with it on and off.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from litestar import Litestar
from litestar.middleware._internal.exceptions.middleware import get_exception_handler
from litestar.types import ASGIApp, Receive, Scope, Send

from daybook_common.auth import VERIFIER_STATE_KEY, verified_caller
from daybook_common.http import send_json
from daybook_journal.db.reads import READ_POOL_STATE_KEY, UserReads
from daybook_journal.entries import fast_path as entries
from daybook_journal.goals import fast_path as goals

if TYPE_CHECKING:  # annotation only: the plugin is looked up by name (its module imports OpenTelemetry)
    from litestar.plugins.opentelemetry import OpenTelemetryPlugin

_ENTRIES = "/api/v1/journal/entries"
_GOALS = "/api/v1/goals/"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})
_MATCHED = "daybook.hot_read"  # scope key: the matched route and parsed query, for the answer

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
_TREE = _Route("/api/v1/goals/{goal_id}/tree", goals.tree, param="goal_id", query=False)
_SESSIONS = _Route("/api/v1/goals/{root_id}/sessions", goals.sessions, param="root_id")
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
        self.serve = _traced(self._answer, litestar)

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
                    http[_MATCHED] = (route, simple)
                    await self.serve(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The matched request's answer (its route and query are in ``scope[_MATCHED]``)."""
        http: Any = scope
        route: _Route = http[_MATCHED][0]
        simple: tuple[int, str | None] = http[_MATCHED][1]
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


def _traced(app: ASGIApp, litestar: Litestar) -> ASGIApp:
    """``app`` inside the server span Litestar's OpenTelemetry plugin opens for every other request
    (the plugin's own middleware and config: the same span name, attributes and ``traceparent``
    handling), or ``app`` itself with tracing off (no plugin)."""
    try:
        plugin: OpenTelemetryPlugin = litestar.plugins.get("OpenTelemetryPlugin")
    except KeyError:
        return app
    return plugin.middleware(app=app)


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
