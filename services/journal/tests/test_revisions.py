"""Entry revisions: every change saves the version it replaces; a revision can be made current again."""

from __future__ import annotations

import datetime
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from daybook_common.retention import run_purges
from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA
from daybook_journal.retention import purges
from daybook_journal.testing import ENTRIES, User, collect, make_entry, make_tag

Api = AsyncTestClient[Litestar]
SEALED = {
    "ciphertext": "q83vEjRWeJA=",
    "wrapped_key": "AAECAw==",
    "iv": "BAUGBwgJCgsMDQ4P",
    "wrap_iv": "EBESExQVFhcYGRob",
}


async def _patch(api: Api, user: User, entry_id: str, **fields: Any) -> dict[str, Any]:
    r = await api.patch(f"{ENTRIES}/{entry_id}", json=fields, headers=user.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_each_change_saves_the_replaced_version_newest_first(api: Api, alice: User) -> None:
    tag = await make_tag(api, alice, "Travel")
    entry = await make_entry(api, alice, title="v1", content="first", tag_ids=[tag["id"]])
    await _patch(api, alice, entry["id"], title="v2", content="second")
    await _patch(api, alice, entry["id"], content=None, encrypted=SEALED, tag_ids=[])

    revisions = await collect(api, alice, f"{ENTRIES}/{entry['id']}/revisions", limit=1)
    assert [r["revision"] for r in revisions] == [2, 1]
    second, first = revisions
    assert (first["title"], first["content"], first["encrypted"]) == ("v1", "first", None)
    assert first["tags"] == [{"id": tag["id"], "name": "Travel", "color": "#112233"}]
    assert first["entry_date"] == entry["entry_date"]
    assert first["saved_at"] == entry["updated_at"]
    assert (second["title"], second["content"]) == ("v2", "second")
    assert set(first) == {"revision", "title", "content", "encrypted", "tags", "entry_date", "saved_at"}


async def test_restoring_a_revision_is_a_new_version_guarded_by_if_match(api: Api, alice: User) -> None:
    gone, kept = await make_tag(api, alice, "Gone"), await make_tag(api, alice, "Kept")
    entry = await make_entry(api, alice, title="plain", content="words", tag_ids=[gone["id"], kept["id"]])
    await _patch(api, alice, entry["id"], content=None, encrypted=SEALED, title="sealed", tag_ids=[])
    assert (await api.delete(f"/api/v1/journal/tags/{gone['id']}", headers=alice.headers)).status_code == 204
    url = f"{ENTRIES}/{entry['id']}/revisions/1/restore"

    r = await api.post(url, headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 412, r.text
    r = await api.post(url, headers={**alice.headers, "If-Match": '"2"'})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"3"'
    restored = r.json()
    assert (restored["title"], restored["content"], restored["encrypted"]) == ("plain", "words", None)
    assert [t["id"] for t in restored["tags"]] == [kept["id"]]  # a deleted tag does not come back

    revisions = await collect(api, alice, f"{ENTRIES}/{entry['id']}/revisions")
    assert [r["revision"] for r in revisions] == [2, 1]
    assert revisions[0]["encrypted"] == {**SEALED, "secret_tag_id": None}  # bytes back untouched


async def test_other_users_trashed_and_unknown_revisions_are_404(api: Api, alice: User, bob: User) -> None:
    entry = await make_entry(api, alice)
    await _patch(api, alice, entry["id"], content="changed")
    base = f"{ENTRIES}/{entry['id']}/revisions"
    assert (await api.get(base, headers=bob.headers)).status_code == 404
    assert (await api.post(f"{base}/1/restore", headers=bob.headers)).status_code == 404
    assert (await api.post(f"{base}/7/restore", headers=alice.headers)).status_code == 404
    assert (await api.post(f"{base}/0/restore", headers=alice.headers)).status_code == 404
    assert (await api.post(f"{base}/{2**64}/restore", headers=alice.headers)).status_code == 404
    assert (await api.delete(f"{ENTRIES}/{entry['id']}", headers=alice.headers)).status_code == 204
    assert (await api.get(base, headers=alice.headers)).status_code == 404
    r = await api.get(base, headers=alice.headers, params={"cursor": "not-a-cursor"})
    assert r.status_code in (404, 422)


async def test_revisions_go_with_a_purged_entry_and_after_the_retention_period(
    api: Api, alice: User, migrated: TestDatabase
) -> None:
    old, purged = await make_entry(api, alice), await make_entry(api, alice)
    for entry in (old, purged):
        await _patch(api, alice, entry["id"], content="changed")
        await _patch(api, alice, entry["id"], content="changed again")
    assert (await api.delete(f"{ENTRIES}/{purged['id']}", headers=alice.headers)).status_code == 204
    assert (
        await api.delete(f"/api/v1/journal/trash/{purged['id']}", headers=alice.headers)
    ).status_code == 204

    conn: asyncpg.Connection = await migrated.admin_connect()
    try:
        count = f"SELECT count(*) FROM {SCHEMA}.entry_revisions WHERE entry_id = $1"
        assert await conn.fetchval(count, purged["id"]) == 0
        # Revision 1 replaced 91 days ago, revision 2 just now: only the first is past 90 days.
        await conn.execute(
            f"UPDATE {SCHEMA}.entry_revisions SET replaced_at = now() - make_interval(days => 91) "
            "WHERE entry_id = $1 AND revision = 1",
            old["id"],
        )
        counts = await run_purges(conn, SCHEMA, purges(30, 24, 90), now=datetime.datetime.now(datetime.UTC))
        assert counts is not None and counts["entry_revisions"] >= 1
        assert [
            r["revision"]
            for r in await conn.fetch(
                f"SELECT revision FROM {SCHEMA}.entry_revisions WHERE entry_id = $1", old["id"]
            )
        ] == [2]
    finally:
        await conn.close()
