"""The list's fast path answers exactly what the handler answers (status, headers, body bytes).

The same requests go to two apps on one database — fast path on (the default) and off
(``JOURNAL_LIST_FAST_PATH=false``) — over data with the awkward parts of an entry: tags
with quotes, control characters and non-ASCII names, encrypted bodies, equal dates, the
trash, and more than one page.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable
from unittest import mock

import pytest
from litestar.testing import AsyncTestClient

from daybook_common.observability import access_log
from daybook_devtools.testing.same import same_answer
from daybook_devtools.testing.tokens import TestSigner
from daybook_journal.entries import fast_path
from daybook_journal.entries.fast_path import simple_query
from daybook_journal.testing import ENTRIES, User, collect, make_entry, make_tag


@pytest.fixture(scope="module")
async def writer(
    api: AsyncTestClient, signer: TestSigner, store_as_before: Callable[..., Awaitable[None]]
) -> User:
    """A user with two pages of awkward entries (control characters as older rows may hold them)."""
    user_id = uuid.uuid4()
    user = User(id=user_id, headers=signer.headers(user_id, ttl=3600))
    names = [
        'quote"back\\slash',
        "tab\there",
        "ctl\x01x",
        "del\x7fx",
        "Ünïcode ✓ 😀",
        "Zebra",
        "apple",
        "Äpfel",
        "ß",
    ]
    tags = [await make_tag(api, user, f"tag {n}") for n in range(len(names))]
    for tag, name in zip(tags, names, strict=True):
        await store_as_before("tags", tag["id"], name=name)
    ids = [t["id"] for t in tags]
    raw = base64.b64encode(bytes(range(40))).decode()
    nonce = base64.b64encode(bytes(12)).decode()
    tricky = await make_entry(api, user, title="Tricky", content="a\tb \\ ü 😀 \u2028\r\n", tag_ids=ids)
    await store_as_before(
        "journal_entries", tricky["id"], title='Tricky "title" ✓\n\x01', content="a\tb \\ ü 😀 \u2028\x1b"
    )
    await make_entry(
        api,
        user,
        entry_date="2026-01-23T08:00:00.123456+02:00",
        content=None,
        encrypted={
            "ciphertext": raw,
            "wrapped_key": raw,
            "iv": nonce,
            "wrap_iv": nonce,
            "secret_tag_id": raw,
        },
        tag_ids=ids[:3],
    )
    await make_entry(
        api,
        user,
        entry_date="2026-01-24T00:00:00Z",
        content=None,
        encrypted={"ciphertext": raw, "wrapped_key": raw, "iv": nonce, "wrap_iv": nonce},
    )
    for n in range(25):  # equal dates: the page order falls back to the id
        await make_entry(
            api,
            user,
            entry_date=f"2026-02-{1 + n % 3:02d}T10:00:00Z",
            title=f"n{n}",
            tag_ids=ids[n % 4 : n % 4 + 2],
        )
    gone = await make_entry(api, user, title="in the trash")
    assert (await api.delete(f"{ENTRIES}/{gone['id']}", headers=user.headers)).status_code == 204
    return user


def _list(query: str) -> str:
    return f"{ENTRIES}?{query}" if query else ENTRIES


async def test_fast_and_slow_paths_answer_the_same(
    api: AsyncTestClient, slow_api: AsyncTestClient, writer: User, signer: TestSigner, alice: User
) -> None:
    pages = await collect(api, writer, ENTRIES, limit=7)
    assert len(pages) == 28
    first = (await api.get(ENTRIES, params={"limit": 7}, headers=writer.headers)).json()
    cursor = first["next_cursor"]
    token = writer.headers["Authorization"].split()[1]
    expired = signer.token(writer.id, exp=1_000_000_000, iat=999_999_000, nbf=999_999_000)
    served = mock.patch.object(fast_path, "encode_page", wraps=fast_path.encode_page)
    queries = [
        "",
        "limit=20",
        "limit=1",
        "limit=7",
        "limit=100",
        f"limit=7&cursor={cursor}",
        f"cursor={cursor}&limit=3",
        f"cursor={cursor}",
        "cursor=zzz",  # not a cursor: 422 either way
        "cursor=" + "A" * 300,
        "limit=0",
        "limit=101",
        "limit=999",
        "limit=05",
        "limit=%2B5",
        "limit=5.0",
        "limit=abc",
        "limit=",
        "limit=5&limit=6",
        "limit=5&",
        "&limit=5",
        "limit=5&foo=bar",
        "cursor=",
        "from=2026-02-01",
        "to=2026-02-02&limit=3",
        "q=n1",
        f"tag={uuid.uuid4()}",
        "tag=nope",
    ]
    with served as encode_page:
        for query in queries:
            await same_answer(api, slow_api, _list(query), writer.headers)
        assert encode_page.call_count >= 7  # the simple ones took the fast path
        for headers in (
            {},
            {"Authorization": "Basic eHl6"},
            {"Authorization": "Bearer"},
            {"Authorization": "Bearer abc.def.ghi"},
            {"Authorization": f"Bearer {expired}"},
            {"Authorization": f"bearer {token}"},
            {"Authorization": f"Bearer  {token} "},
            alice.headers,  # another user: their own (empty) list
        ):
            for query in ("", "limit=3", "limit=0", f"cursor={cursor}"):
                await same_answer(api, slow_api, _list(query), headers)
        # two Authorization headers: the first one counts, on both paths
        for pair in ([f"Bearer {token}", "Bearer nope"], ["Bearer nope", f"Bearer {token}"]):
            url = f"{ENTRIES}?limit=2"
            a = await api.get(url, headers=[("Authorization", pair[0]), ("Authorization", pair[1])])
            b = await slow_api.get(url, headers=[("Authorization", pair[0]), ("Authorization", pair[1])])
            assert (a.status_code, a.content) == (b.status_code, b.content)
    with mock.patch.object(fast_path, "encode_page", wraps=fast_path.encode_page) as encode_page:
        await same_answer(api, slow_api, _list("limit=5"), writer.headers)
        assert encode_page.call_count == 1  # only the fast app's request


def test_the_app_writes_out_batched_access_lines_at_shutdown(api: AsyncTestClient) -> None:
    assert access_log.flush in api.app.on_shutdown


async def test_the_fast_path_takes_only_the_simple_query_shape() -> None:
    assert simple_query(b"") == (20, None)
    assert simple_query(b"limit=1") == (1, None)
    assert simple_query(b"limit=100") == (100, None)
    assert simple_query(b"cursor=abc_-XYZ09&limit=42") == (42, "abc_-XYZ09")
    assert simple_query(b"cursor=abc") == (20, "abc")
    for other in (
        b"limit=0",
        b"limit=101",
        b"limit=1000",
        b"limit=05",
        b"limit=+5",
        b"limit=-5",
        b"limit=%35",
        b"limit= 5",
        b"limit=",
        b"limit",
        b"limit=5&limit=5",
        b"cursor=a&cursor=a",
        b"cursor=",
        b"cursor=a%3D",
        b"cursor=a=",
        b"cursor=a+b",
        b"limit=5&",
        b"&",
        b"limit=5;cursor=a",
        b"from=2026-01-01",
        b"q=x",
        b"tag=x",
        b"Limit=5",
    ):
        assert simple_query(other) is None, other
