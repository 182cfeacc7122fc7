"""Journal entries over HTTP: CRUD, validation, filters, pagination, trash, encryption, ETags."""

from __future__ import annotations

import base64
import os
import uuid

from litestar.testing import AsyncTestClient

from daybook_journal.testing import ENTRIES, TRASH, User, collect, make_entry, make_tag


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def test_create_returns_201_location_etag_and_the_entry(api: AsyncTestClient, alice: User) -> None:
    tag = await make_tag(api, alice, "Work")
    body = {
        "entry_date": "2026-01-22T12:00:00+02:00",
        "title": "Day one",
        "content": "It began.",
        "tag_ids": [tag["id"]],
    }
    r = await api.post(ENTRIES, json=body, headers=alice.headers)
    assert r.status_code == 201, r.text
    entry = r.json()
    assert r.headers["location"] == f"{ENTRIES}/{entry['id']}"
    assert r.headers["etag"] == '"1"'
    assert entry["user_id"] == str(alice.id)
    assert entry["title"] == "Day one" and entry["content"] == "It began."
    assert entry["entry_date"] == "2026-01-22T10:00:00Z"  # stored and returned in UTC
    assert entry["tags"] == [{"id": tag["id"], "name": "Work", "color": "#112233"}]
    assert entry["encrypted"] is None and entry["deleted_at"] is None
    assert uuid.UUID(entry["id"]).version == 7
    r = await api.get(f"{ENTRIES}/{entry['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json() == entry and r.headers["etag"] == '"1"'


async def test_validation_errors_are_422_problems_naming_the_field(api: AsyncTestClient, alice: User) -> None:
    cases = [
        ({"content": "x"}, "entry_date"),
        ({"entry_date": "2026-01-22T10:00:00", "content": "x"}, "entry_date"),  # no offset
        (
            {"entry_date": "2026-01-22T10:00:00Z", "content": "x", "user_id": str(alice.id)},
            "",
        ),  # unknown field
        ({"entry_date": "2026-01-22T10:00:00Z"}, "content"),  # neither content nor encrypted
        ({"entry_date": "2026-01-22T10:00:00Z", "title": "t" * 201, "content": "x"}, "title"),
        ({"entry_date": "2026-01-22T10:00:00Z", "tag_ids": ["nope"], "content": "x"}, "tag_ids"),
    ]
    for body, field in cases:
        r = await api.post(ENTRIES, json=body, headers=alice.headers)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["status"] == 422
        if field:
            assert any(field in e["field"] + e["message"] for e in problem["errors"]), (
                field,
                problem["errors"],
            )
    encrypted = {"ciphertext": b64(b"c"), "wrapped_key": b64(b"k"), "iv": b64(b"i"), "wrap_iv": b64(b"w")}
    both = {"entry_date": "2026-01-22T10:00:00Z", "content": "x", "encrypted": encrypted}
    r = await api.post(ENTRIES, json=both, headers=alice.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "content"
    bad_b64 = {"entry_date": "2026-01-22T10:00:00Z", "encrypted": {**encrypted, "iv": "***"}}
    r = await api.post(ENTRIES, json=bad_b64, headers=alice.headers)
    assert r.status_code == 422 and "iv" in r.json()["errors"][0]["field"]


async def test_missing_or_bad_token_is_401_with_www_authenticate(api: AsyncTestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}):
        r = await api.get(ENTRIES, headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_encrypted_entry_bytes_round_trip_unchanged(api: AsyncTestClient, alice: User) -> None:
    sealed = {
        "ciphertext": b64(os.urandom(4096)),
        "wrapped_key": b64(os.urandom(40)),
        "iv": b64(os.urandom(12)),
        "wrap_iv": b64(os.urandom(12)),
        "secret_tag_id": b64(os.urandom(32)),
    }
    entry = await make_entry(api, alice, content=None, encrypted=sealed, title="sealed")
    assert entry["encrypted"] == sealed and entry["content"] is None
    r = await api.get(f"{ENTRIES}/{entry['id']}", headers=alice.headers)
    assert r.json()["encrypted"] == sealed
    listed = [e for e in await collect(api, alice, ENTRIES) if e["id"] == entry["id"]]
    assert listed[0]["encrypted"] == sealed
    # Switch back to plain text: content set, encrypted cleared, both in one PATCH.
    r = await api.patch(
        f"{ENTRIES}/{entry['id']}", json={"content": "plain", "encrypted": None}, headers=alice.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["encrypted"] is None and r.json()["content"] == "plain"
    # Dropping the only body is refused, by the service and (for safety) by the database.
    r = await api.patch(f"{ENTRIES}/{entry['id']}", json={"content": None}, headers=alice.headers)
    assert r.status_code == 422


async def test_patch_changes_only_given_fields_and_bumps_the_etag(api: AsyncTestClient, alice: User) -> None:
    a = await make_tag(api, alice, "alpha")
    b = await make_tag(api, alice, "Beta")
    entry = await make_entry(api, alice, title="t", tag_ids=[a["id"]])
    url = f"{ENTRIES}/{entry['id']}"
    r = await api.patch(url, json={"title": None, "tag_ids": [b["id"], a["id"]]}, headers=alice.headers)
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["title"] is None and patched["content"] == "hello"
    assert [t["name"] for t in patched["tags"]] == ["alpha", "Beta"]  # by name, case-insensitively
    assert r.headers["etag"] == '"2"'
    assert patched["updated_at"] > entry["updated_at"]
    r = await api.patch(url, json={"id": str(uuid.uuid4())}, headers=alice.headers)
    assert r.status_code == 422  # no mass assignment
    r = await api.patch(url, json={"entry_date": None}, headers=alice.headers)
    assert r.status_code == 422


async def test_if_match_and_if_none_match(api: AsyncTestClient, alice: User) -> None:
    entry = await make_entry(api, alice)
    url = f"{ENTRIES}/{entry['id']}"
    r = await api.patch(url, json={"title": "a"}, headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    r = await api.patch(url, json={"title": "b"}, headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 412
    assert r.headers["content-type"].startswith("application/problem+json")
    for stale in ('W/"2"', "garbage"):
        r = await api.patch(url, json={"title": "b"}, headers={**alice.headers, "If-Match": stale})
        assert r.status_code == 412
    r = await api.patch(url, json={"title": "c"}, headers={**alice.headers, "If-Match": '"9", "2"'})
    assert r.status_code == 200 and r.headers["etag"] == '"3"'
    r = await api.patch(url, json={"title": "d"}, headers={**alice.headers, "If-Match": "*"})
    assert r.status_code == 200
    r = await api.get(url, headers={**alice.headers, "If-None-Match": r.headers["etag"]})
    assert r.status_code == 304 and r.content == b""
    r = await api.delete(url, headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 412
    r = await api.get(url, headers=alice.headers)
    assert r.status_code == 200


async def test_soft_delete_trash_and_restore(api: AsyncTestClient, alice: User) -> None:
    tag = await make_tag(api, alice, "kept")
    entry = await make_entry(api, alice, tag_ids=[tag["id"]])
    url = f"{ENTRIES}/{entry['id']}"
    r = await api.delete(url, headers=alice.headers)
    assert r.status_code == 204 and r.content == b""
    assert (await api.get(url, headers=alice.headers)).status_code == 404
    assert (await api.patch(url, json={"title": "x"}, headers=alice.headers)).status_code == 404
    assert (await api.delete(url, headers=alice.headers)).status_code == 404
    assert entry["id"] not in {e["id"] for e in await collect(api, alice, ENTRIES)}
    trash = await collect(api, alice, TRASH)
    trashed = next(e for e in trash if e["id"] == entry["id"])
    assert trashed["deleted_at"] is not None
    r = await api.post(f"{url}/restore", headers=alice.headers)
    assert r.status_code == 200, r.text
    restored = r.json()
    assert restored["deleted_at"] is None and restored["tags"] == entry["tags"]
    assert entry["id"] in {e["id"] for e in await collect(api, alice, ENTRIES)}
    assert entry["id"] not in {e["id"] for e in await collect(api, alice, TRASH)}
    r = await api.post(f"{url}/restore", headers=alice.headers)  # already live: harmless
    assert r.status_code == 200
    r = await api.post(f"{ENTRIES}/{uuid.uuid4()}/restore", headers=alice.headers)
    assert r.status_code == 404


async def test_list_is_newest_first_and_pages_cover_everything(api: AsyncTestClient, new_user) -> None:
    user = new_user()
    made = []
    for day in (5, 1, 9, 3, 3, 7, 2):
        made.append(await make_entry(api, user, entry_date=f"2026-03-{day:02d}T08:00:00Z", title=str(day)))
    r = await api.get(ENTRIES, params={"limit": 3}, headers=user.headers)
    body = r.json()
    assert len(body["items"]) == 3 and body["next_cursor"]
    items = await collect(api, user, ENTRIES, limit=2)
    assert len(items) == 7 and len({e["id"] for e in items}) == 7
    keys = [(e["entry_date"], e["id"]) for e in items]
    assert keys == sorted(keys, reverse=True)
    for bad in ({"limit": 0}, {"limit": 101}, {"cursor": "!!!"}, {"cursor": "bm90IGpzb24"}):
        r = await api.get(ENTRIES, params=bad, headers=user.headers)
        assert r.status_code == 422, (bad, r.text)


async def test_filters_date_tag_all_must_match_and_full_text(api: AsyncTestClient, new_user) -> None:
    user = new_user()
    red = await make_tag(api, user, "red")
    blue = await make_tag(api, user, "blue")
    e1 = await make_entry(
        api,
        user,
        entry_date="2026-02-01T10:00:00Z",
        content="Walked the dog by the river",
        tag_ids=[red["id"]],
    )
    e2 = await make_entry(
        api,
        user,
        entry_date="2026-02-10T10:00:00Z",
        content="Rainy day, read a book",
        tag_ids=[red["id"], blue["id"]],
    )
    e3 = await make_entry(
        api, user, entry_date="2026-02-20T23:30:00Z", title="Dog show", content="Fun", tag_ids=[blue["id"]]
    )

    async def ids(**params: object) -> set[str]:
        return {e["id"] for e in await collect(api, user, ENTRIES, **params)}

    assert await ids(**{"from": "2026-02-05"}) == {e2["id"], e3["id"]}
    assert await ids(to="2026-02-20") == {e1["id"], e2["id"], e3["id"]}  # a bare day includes all of it
    assert await ids(**{"from": "2026-02-01T10:00:01Z", "to": "2026-02-15T00:00:00Z"}) == {e2["id"]}
    assert await ids(tag=red["id"]) == {e1["id"], e2["id"]}
    assert await ids(tag=[red["id"], blue["id"]]) == {e2["id"]}
    assert await ids(tag=str(uuid.uuid4())) == set()
    assert await ids(q="dog") == {e1["id"], e3["id"]}  # title and content
    assert await ids(q="dog -river") == {e3["id"]}  # web-search syntax
    assert await ids(q='"read a book"') == {e2["id"]}
    assert await ids(q="dog", tag=blue["id"]) == {e3["id"]}
    r = await api.get(ENTRIES, params={"from": "yesterday"}, headers=user.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "from"
    r = await api.get(ENTRIES, params={"to": "2026-02-01T10:00:00"}, headers=user.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to"
