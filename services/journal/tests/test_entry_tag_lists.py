"""An entry's tag list (the denormalised ``journal_entries.tags``) follows every change, over HTTP.

Each test reads the list three ways — the single GET, the list through the fast path, and
the list through the handler (a filter sends it there) — and at the end checks, for every
entry in the database, that the column equals what the link tables say (the subquery the
list used before the column).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import msgspec
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.databases import TestDatabase
from daybook_journal.entries import schemas as s
from daybook_journal.testing import ENTRIES, TAGS, TRASH, User, make_entry, make_tag

#: The list statement's former per-entry subquery, as json (the old output type).
FROM_LINKS = """
    SELECT e.id, e.tags, (
        SELECT coalesce(
            json_agg(json_build_object('id', t.id, 'name', t.name, 'color', t.color)
                     ORDER BY lower(t.name), t.id),
            '[]'::json)
        FROM journal.journal_entry_tags l JOIN journal.tags t ON t.id = l.tag_id
        WHERE l.entry_id = e.id
    )::jsonb AS from_links
    FROM journal.journal_entries e
"""


async def assert_column_matches_links(db: TestDatabase) -> None:
    conn = await db.admin_connect()
    try:
        rows = await conn.fetch(FROM_LINKS)
    finally:
        await conn.close()
    assert rows
    stale = [(r["id"], r["tags"], r["from_links"]) for r in rows if r["tags"] != r["from_links"]]
    assert stale == []


def names(tags: list[dict[str, Any]]) -> list[str]:
    return [t["name"] for t in tags]


async def seen(api: AsyncTestClient, user: User, entry_id: str) -> list[dict[str, Any]]:
    """The entry's tags as GET one, the fast-path list and the handler's list show them (all equal)."""
    r = await api.get(f"{ENTRIES}/{entry_id}", headers=user.headers)
    assert r.status_code == 200, r.text
    single = r.json()["tags"]
    fast = await api.get(ENTRIES, params={"limit": 100}, headers=user.headers)
    handler = await api.get(ENTRIES, params={"limit": 100, "from": "2000-01-01"}, headers=user.headers)
    for page in (fast, handler):
        assert page.status_code == 200, page.text
        (listed,) = [e["tags"] for e in page.json()["items"] if e["id"] == entry_id]
        assert listed == single
    return list(single)


async def etag(api: AsyncTestClient, user: User, entry_id: str) -> tuple[str, str]:
    """The entry's ETag and ``updated_at``."""
    r = await api.get(f"{ENTRIES}/{entry_id}", headers=user.headers)
    return r.headers["etag"], r.json()["updated_at"]


async def test_create_and_patch_keep_the_list(
    migrated: TestDatabase, api: AsyncTestClient, alice: User
) -> None:
    beta, alpha, gamma = (
        await make_tag(api, alice, "beta"),
        await make_tag(api, alice, "Alpha"),
        await make_tag(api, alice, "gamma"),
    )
    entry = await make_entry(api, alice, tag_ids=[beta["id"], alpha["id"], beta["id"]])
    assert names(entry["tags"]) == ["Alpha", "beta"]  # by lower(name), duplicates once
    assert await seen(api, alice, entry["id"]) == entry["tags"]
    assert entry["tags"][0] == {"id": alpha["id"], "name": "Alpha", "color": "#112233"}
    plain = await make_entry(api, alice)
    assert await seen(api, alice, plain["id"]) == []

    r = await api.patch(f"{ENTRIES}/{entry['id']}", json={"tag_ids": [gamma["id"]]}, headers=alice.headers)
    assert r.status_code == 200 and names(r.json()["tags"]) == ["gamma"]
    assert names(await seen(api, alice, entry["id"])) == ["gamma"]
    r = await api.patch(f"{ENTRIES}/{entry['id']}", json={"title": "no tag change"}, headers=alice.headers)
    assert names(r.json()["tags"]) == ["gamma"]
    r = await api.patch(f"{ENTRIES}/{entry['id']}", json={"tag_ids": []}, headers=alice.headers)
    assert r.json()["tags"] == [] and await seen(api, alice, entry["id"]) == []
    await assert_column_matches_links(migrated)


async def test_a_create_answers_the_bytes_msgspec_would(
    api: AsyncTestClient, alice: User, store_as_before: Callable[..., Awaitable[None]]
) -> None:
    """The create path puts the tag list into the response as PostgreSQL writes it (compact JSON
    text built in SQL): the bytes must be msgspec's own encoding of that entry, escapes included
    (control characters too, which tag names written before daybook_common.text may hold)."""
    odd = [
        await make_tag(api, alice, f"odd {uuid.uuid4().hex[:6]}"),
        await make_tag(api, alice, f"plain {uuid.uuid4().hex[:6]}"),
    ]
    odd[0]["name"] = 'q"uo\\te/ \u00e9 \u2603 \t\x01\x7f'
    await store_as_before("tags", odd[0]["id"], name=odd[0]["name"])
    body = {"entry_date": "2026-03-01T10:00:00+02:00", "content": "c", "tag_ids": [t["id"] for t in odd]}
    for extra in ({}, {"Idempotency-Key": f"bytes-{uuid.uuid4()}"}):
        r = await api.post(ENTRIES, json=body, headers={**alice.headers, **extra})
        assert r.status_code == 201, r.text
        entry = msgspec.json.decode(r.content, type=s.Entry)
        assert msgspec.json.encode(entry) == r.content
        assert sorted(t.name for t in entry.tags) == sorted(t["name"] for t in odd)
        assert await seen(api, alice, str(entry.id)) == r.json()["tags"]


async def test_rename_and_recolor_reach_every_carrier_etag_unchanged(
    migrated: TestDatabase, api: AsyncTestClient, alice: User, bob: User
) -> None:
    travel, work = await make_tag(api, alice, "Travel"), await make_tag(api, alice, "work")
    first = await make_entry(api, alice, tag_ids=[travel["id"], work["id"]])
    second = await make_entry(api, alice, tag_ids=[travel["id"]])
    trashed = await make_entry(api, alice, tag_ids=[travel["id"]])
    untagged = await make_entry(api, alice, tag_ids=[work["id"]])
    assert (await api.delete(f"{ENTRIES}/{trashed['id']}", headers=alice.headers)).status_code == 204
    bobs_tag = await make_tag(api, bob, "Travel")
    bobs = await make_entry(api, bob, tag_ids=[bobs_tag["id"]])
    etags = {e["id"]: await etag(api, alice, e["id"]) for e in (first, second)}

    r = await api.patch(f"{TAGS}/{travel['id']}", json={"name": "zoo trip"}, headers=alice.headers)
    assert r.status_code == 200
    assert names(await seen(api, alice, first["id"])) == ["work", "zoo trip"]  # re-ordered by the new name
    assert names(await seen(api, alice, second["id"])) == ["zoo trip"]
    r = await api.patch(f"{TAGS}/{travel['id']}", json={"color": "#00ff00"}, headers=alice.headers)
    assert r.status_code == 200
    assert (await seen(api, alice, second["id"]))[0] == {
        "id": travel["id"],
        "name": "zoo trip",
        "color": "#00ff00",
    }
    assert names(await seen(api, alice, untagged["id"])) == ["work"]
    # The entries' own ETags (and updated_at) track their fields and tag set, not renames (README).
    assert {e["id"]: await etag(api, alice, e["id"]) for e in (first, second)} == etags

    # A trashed carrier comes back with the tag as it is now.
    r = await api.get(TRASH, headers=alice.headers)
    (in_trash,) = [e for e in r.json()["items"] if e["id"] == trashed["id"]]
    assert in_trash["tags"] == [{"id": travel["id"], "name": "zoo trip", "color": "#00ff00"}]
    r = await api.post(f"{ENTRIES}/{trashed['id']}/restore", headers=alice.headers)
    assert r.status_code == 200 and r.json()["tags"] == in_trash["tags"]
    assert await seen(api, alice, trashed["id"]) == in_trash["tags"]

    # Another user's tag of the same name, and their entry, are untouched.
    assert await seen(api, bob, bobs["id"]) == bobs["tags"]
    await assert_column_matches_links(migrated)


async def test_deleting_a_tag_leaves_the_lists(
    migrated: TestDatabase, api: AsyncTestClient, alice: User
) -> None:
    doomed, kept = await make_tag(api, alice, "aaa doomed"), await make_tag(api, alice, "kept")
    carrier = await make_entry(api, alice, tag_ids=[doomed["id"], kept["id"]])
    trashed = await make_entry(api, alice, tag_ids=[doomed["id"]])
    assert (await api.delete(f"{ENTRIES}/{trashed['id']}", headers=alice.headers)).status_code == 204
    assert (await api.delete(f"{TAGS}/{doomed['id']}", headers=alice.headers)).status_code == 204
    assert names(await seen(api, alice, carrier["id"])) == ["kept"]
    assert (await etag(api, alice, carrier["id"]))[0] == '"2"'  # its tag set changed
    r = await api.post(f"{ENTRIES}/{trashed['id']}/restore", headers=alice.headers)
    assert r.status_code == 200 and r.json()["tags"] == []
    await assert_column_matches_links(migrated)


async def test_tag_filter_still_uses_the_links(api: AsyncTestClient, alice: User) -> None:
    a, b = await make_tag(api, alice, "a"), await make_tag(api, alice, "b")
    both = await make_entry(api, alice, tag_ids=[a["id"], b["id"]])
    await make_entry(api, alice, tag_ids=[a["id"]])
    r = await api.get(ENTRIES, params=[("tag", a["id"]), ("tag", b["id"])], headers=alice.headers)
    assert [e["id"] for e in r.json()["items"]] == [both["id"]]


async def test_renames_racing_entry_edits_leave_no_stale_list(
    migrated: TestDatabase, concurrent_api: httpx.AsyncClient, api: AsyncTestClient, alice: User
) -> None:
    """Tag renames and entry tag changes at once: every list ends up as the links say."""
    tags = [await make_tag(api, alice, f"race {n}") for n in range(3)]
    entries = [await make_entry(api, alice, tag_ids=[tags[0]["id"]]) for _ in range(4)]
    for round_ in range(6):
        renames = [
            concurrent_api.patch(
                f"{TAGS}/{t['id']}", json={"name": f"race {n} r{round_}"}, headers=alice.headers
            )
            for n, t in enumerate(tags)
        ]
        edits = [
            concurrent_api.patch(
                f"{ENTRIES}/{e['id']}",
                json={"tag_ids": [tags[(i + round_) % 3]["id"], tags[(i + round_ + 1) % 3]["id"]]},
                headers=alice.headers,
            )
            for i, e in enumerate(entries)
        ]
        responses = await asyncio.gather(*renames, *edits)
        assert [r.status_code for r in responses] == [200] * len(responses), [r.text for r in responses]
    for n, entry in enumerate(entries):
        shown = await seen(api, alice, entry["id"])
        assert {t["id"] for t in shown} == {tags[(n + 5) % 3]["id"], tags[(n + 6) % 3]["id"]}
        assert all(t["name"].endswith(" r5") for t in shown)
    await assert_column_matches_links(migrated)


async def test_unknown_or_foreign_tags_change_nothing(
    migrated: TestDatabase, api: AsyncTestClient, alice: User, bob: User
) -> None:
    mine = await make_tag(api, alice, "mine")
    entry = await make_entry(api, alice, tag_ids=[mine["id"]])
    theirs = await make_tag(api, bob, "theirs")
    for tag_id in (theirs["id"], str(uuid.uuid4())):
        r = await api.patch(f"{ENTRIES}/{entry['id']}", json={"tag_ids": [tag_id]}, headers=alice.headers)
        assert r.status_code == 422
    assert names(await seen(api, alice, entry["id"])) == ["mine"]
    await assert_column_matches_links(migrated)
