"""The hot reads answered in front of Litestar (:mod:`daybook_journal.hot_reads`) answer, log and
count exactly what the same requests get through Litestar.

Two apps on one database, access log and metrics on: the default (dispatcher in front) and
``JOURNAL_LIST_FAST_PATH=false`` (no dispatcher: Litestar's handlers).  Each request goes to
both; status, headers (request id, server, content type and length, WWW-Authenticate) and body
bytes must be equal, and so must the access line and the metrics sample (all but the elapsed
time).  The dispatcher's hand-over to Litestar is counted, so the test also knows which
requests it answered itself.  With tracing on, the two apps must export the same spans (the
server span's name, attributes and parent, and the SQL under it).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any
from unittest import mock

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from daybook_common import tracing
from daybook_common.metrics import HttpMetrics
from daybook_common.observability import RequestIdMiddleware, access_log
from daybook_devtools.testing.same import assert_same_answer
from daybook_devtools.testing.tokens import TestSigner
from daybook_journal.app import create_app
from daybook_journal.hot_reads import HotReads
from daybook_journal.settings import Settings
from daybook_journal.testing import ENTRIES, GOALS, User, make_entry, make_goal, make_session


class Handover:
    """Wraps the dispatcher's inner app: counts the requests it handed to Litestar."""

    def __init__(self, front: HotReads) -> None:
        self.inner = front.app
        self.calls = 0
        front.app = self

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.inner(scope, receive, send)


def _front(app: Litestar) -> HotReads:
    outer = app.asgi_handler
    assert isinstance(outer, RequestIdMiddleware)
    assert isinstance(outer.app, HotReads), "the dispatcher sits just inside the request ids"
    return outer.app


def _apps(settings: Settings) -> tuple[Litestar, Litestar, Handover]:
    """The app with the dispatcher (its hand-over counted) and with ``JOURNAL_LIST_FAST_PATH=false``."""
    off = dataclasses.replace(settings, journal=dataclasses.replace(settings.journal, list_fast_path=False))
    fast_app, slow_app = create_app(settings), create_app(off)
    assert not isinstance(slow_app.asgi_handler.app, HotReads)  # type: ignore[attr-defined]
    return fast_app, slow_app, Handover(_front(fast_app))


@pytest.fixture(scope="module")
async def both(settings: Settings) -> AsyncIterator[tuple[AsyncTestClient, AsyncTestClient, Handover]]:
    logged = dataclasses.replace(settings, common=dataclasses.replace(settings.common, access_log=True))
    fast_app, slow_app, handover = _apps(logged)
    async with AsyncTestClient(fast_app) as fast, AsyncTestClient(slow_app) as slow:
        yield fast, slow, handover


@pytest.fixture(scope="module")
async def owner(
    both: tuple[AsyncTestClient, AsyncTestClient, Handover], signer: TestSigner
) -> dict[str, Any]:
    """A user with entries over two pages, a goal tree and sessions; another user's root."""
    api = both[0]
    user_id = uuid.uuid4()
    user = User(id=user_id, headers=signer.headers(user_id, ttl=3600))
    for n in range(5):
        await make_entry(api, user, title=f"e{n} ✓", entry_date=f"2026-02-0{1 + n}T10:00:00Z")
    root = await make_goal(api, user, "root ✓")
    await make_goal(api, user, "leaf", parent_id=root["id"])
    for n in range(3):
        await make_session(api, user, root["id"], started_at=f"2026-03-0{1 + n}T08:00:00Z")
    other_id = uuid.uuid4()
    other = User(id=other_id, headers=signer.headers(other_id, ttl=3600))
    foreign = await make_goal(api, other, "not yours")
    page = (await api.get(ENTRIES, params={"limit": 2}, headers=user.headers)).json()
    sessions = (await api.get(f"{GOALS}/{root['id']}/sessions?limit=1", headers=user.headers)).json()
    return {
        "user": user,
        "root": root["id"],
        "foreign": foreign["id"],
        "cursor": page["next_cursor"],
        "session_cursor": sessions["next_cursor"],
    }


async def _both(
    clients: tuple[AsyncTestClient, AsyncTestClient, Handover], url: str, headers: dict[str, str]
) -> tuple[int, bool]:
    """Send ``url`` to both apps; assert the same answer, access line and metric; return the status
    and whether the dispatcher answered it itself."""
    fast, slow, handover = clients
    headers = {"X-Request-ID": "same-id", **headers}
    seen: list[list[tuple[Any, ...]]] = []
    answers = []
    taken = False
    for client in (fast, slow):
        before = handover.calls
        with (
            mock.patch.object(access_log, "record") as line,
            mock.patch.object(HttpMetrics, "record", autospec=True) as sample,
        ):
            answers.append(await client.get(url, headers=headers))
        if client is fast:
            taken = handover.calls == before
        assert line.call_count == 1 and sample.call_count == 1, url
        (method, path, status, _ms, request_id) = line.call_args.args
        (_self, m_method, m_route, m_status, _seconds) = sample.call_args.args
        seen.append([(method, path, status, request_id), (m_method, m_route, m_status)])
    a, b = answers
    assert_same_answer(a, b, url)
    assert seen[0] == seen[1], url
    return a.status_code, taken


async def test_hot_reads_answer_log_and_count_as_litestar_does(
    both: tuple[AsyncTestClient, AsyncTestClient, Handover], owner: dict[str, Any], signer: TestSigner
) -> None:
    user: User = owner["user"]
    root, foreign, cursor = owner["root"], owner["foreign"], owner["cursor"]
    token = user.headers["Authorization"].split()[1]
    expired = signer.token(user.id, exp=1_000_000_000, iat=999_999_000, nbf=999_999_000)
    tree, sessions = f"{GOALS}/{root}/tree", f"{GOALS}/{root}/sessions"
    cases: list[tuple[str, dict[str, str], int, bool]] = [
        # (url, headers, status, answered by the dispatcher)
        (ENTRIES, user.headers, 200, True),
        (f"{ENTRIES}?limit=2", user.headers, 200, True),
        (f"{ENTRIES}?limit=2&cursor={cursor}", user.headers, 200, True),
        (f"{ENTRIES}?cursor=zzz", user.headers, 422, True),  # not a cursor
        (ENTRIES, {}, 401, True),
        (ENTRIES, {"Authorization": "Bearer abc.def.ghi"}, 401, True),
        (ENTRIES, {"Authorization": f"Bearer {expired}"}, 401, True),
        (ENTRIES, {"Authorization": f"bearer {token}"}, 200, True),
        (tree, user.headers, 200, True),
        (tree, {}, 401, True),
        (f"{GOALS}/{foreign}/tree", user.headers, 404, True),  # another user's
        (f"{GOALS}/{uuid.uuid4()}/tree", user.headers, 404, True),  # nobody's
        (f"{sessions}?limit=1", user.headers, 200, True),
        (f"{sessions}?limit=1&cursor={owner['session_cursor']}", user.headers, 200, True),
        (f"{sessions}?cursor=zzz", user.headers, 422, True),
        (f"{GOALS}/{foreign}/sessions", user.headers, 404, True),
        (f"{GOALS}/{uuid.uuid4()}/sessions?limit=3", {"Authorization": "Basic eHl6"}, 401, True),
        # Litestar's: other query shapes, spellings and paths
        (f"{ENTRIES}?limit=", user.headers, 200, False),
        (f"{ENTRIES}?limit=0", user.headers, 422, False),
        (f"{ENTRIES}?q=e1", user.headers, 200, False),
        (f"{ENTRIES}?limit=%00", user.headers, 422, False),
        (f"{ENTRIES}/", user.headers, 200, False),
        (f"{tree}?limit=1", user.headers, 200, False),
        (f"{GOALS}/{root.upper()}/tree", user.headers, 200, False),
        (f"{GOALS}/not-a-uuid/tree", user.headers, 404, False),
        (f"{GOALS}/{root}/treex", user.headers, 404, False),
        (f"{sessions}?from=2026-03-02T00:00:00Z", user.headers, 200, False),
    ]
    for url, headers, status, taken in cases:
        assert await _both(both, url, headers) == (status, taken), url


async def test_a_request_body_goes_to_litestar(
    both: tuple[AsyncTestClient, AsyncTestClient, Handover], owner: dict[str, Any]
) -> None:
    fast, slow, handover = both
    before = handover.calls
    headers = {**owner["user"].headers, "X-Request-ID": "same-id", "Content-Type": "application/json"}
    a = await fast.request("GET", ENTRIES, content=b"{}", headers=headers)
    b = await slow.request("GET", ENTRIES, content=b"{}", headers=headers)
    assert handover.calls == before + 1
    assert (a.status_code, a.content) == (b.status_code, b.content)


@pytest.fixture
async def traced(settings: Settings) -> AsyncIterator[tuple[AsyncTestClient, AsyncTestClient, Handover, Any]]:
    """Both apps again (access log off), made with tracing on: spans to an in-memory exporter."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    tracing.use_exporter(memory)
    try:
        fast_app, slow_app, handover = _apps(settings)
        async with AsyncTestClient(fast_app) as fast, AsyncTestClient(slow_app) as slow:
            yield fast, slow, handover, memory
    finally:
        tracing.use_exporter(None)


def _spans(finished: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Each span's name, kind, parent (by name; the caller's as its span id), status and attributes."""
    names = {s.context.span_id: s.name for s in finished}
    return sorted(
        (
            s.name,
            s.kind.name,
            f"{s.parent.span_id:016x}"
            if s.parent and s.parent.is_remote
            else names.get(s.parent and s.parent.span_id),
            s.context.trace_id,
            s.status.status_code.name,
            sorted((k, str(v)) for k, v in (s.attributes or {}).items()),
        )
        for s in finished
    )


async def test_under_tracing_the_hot_reads_make_litestars_spans(
    traced: tuple[AsyncTestClient, AsyncTestClient, Handover, Any], owner: dict[str, Any]
) -> None:
    fast, slow, handover, memory = traced
    user: User = owner["user"]
    root, foreign = owner["root"], owner["foreign"]
    trace_id, caller_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    for url, headers, status in [
        (f"{ENTRIES}?limit=2", user.headers, 200),
        (ENTRIES, {}, 401),
        (f"{ENTRIES}?cursor=zzz", user.headers, 422),
        (f"{GOALS}/{root}/tree", user.headers, 200),
        (f"{GOALS}/{foreign}/tree", user.headers, 404),
        (f"{GOALS}/{root}/sessions?limit=1", user.headers, 200),
    ]:
        headers = {**headers, "X-Request-ID": "same-id", "traceparent": f"00-{trace_id}-{caller_span}-01"}
        seen = []
        for client in (fast, slow):
            memory.clear()
            before = handover.calls
            answer = await client.get(url, headers=headers)
            assert answer.status_code == status, (url, answer.text)
            seen.append(_spans(memory.get_finished_spans()))
            if client is fast:
                assert handover.calls == before, url  # the dispatcher answered it
        assert seen[0] == seen[1], url
        server = [s for s in seen[0] if s[1] == "SERVER"]
        assert [(s[0], s[2], s[3]) for s in server] == [
            (f"GET {url.split('?')[0]}", caller_span, int(trace_id, 16))
        ]
        if status == 200:  # the SQL is under the request's span
            assert any(s[1] == "CLIENT" and s[2] == server[0][0] for s in seen[0]), seen[0]
