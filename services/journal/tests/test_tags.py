"""Tags over HTTP: create/list/get/patch/delete, case-insensitive uniqueness, detaching on delete."""

from __future__ import annotations

import uuid

from litestar.testing import AsyncTestClient

from daybook_journal.testing import ENTRIES, TAGS, TASKS, User, collect, make_entry, make_tag, make_task


async def test_create_list_get_patch(api: AsyncTestClient, alice: User) -> None:
    r = await api.post(TAGS, json={"name": "  Garden  "}, headers=alice.headers)
    assert r.status_code == 201, r.text
    tag = r.json()
    assert tag["name"] == "Garden" and tag["color"] == "#808080" and tag["user_id"] == str(alice.id)
    assert r.headers["location"] == f"{TAGS}/{tag['id']}"
    for name in ("zebra", "apple", "Mango"):
        await make_tag(api, alice, name)
    names = [t["name"] for t in await collect(api, alice, TAGS, limit=2)]
    assert names == ["apple", "Garden", "Mango", "zebra"]
    r = await api.get(f"{TAGS}/{tag['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json() == tag and r.headers["etag"] == '"1"'
    r = await api.patch(
        f"{TAGS}/{tag['id']}", json={"color": "#AbCdEf"}, headers={**alice.headers, "If-Match": '"1"'}
    )
    assert r.status_code == 200 and r.json()["color"] == "#AbCdEf" and r.headers["etag"] == '"2"'
    r = await api.patch(
        f"{TAGS}/{tag['id']}", json={"name": "x"}, headers={**alice.headers, "If-Match": '"1"'}
    )
    assert r.status_code == 412


async def test_name_conflicts_are_409_case_insensitively(
    api: AsyncTestClient, alice: User, bob: User
) -> None:
    first = await make_tag(api, alice, "Travel")
    r = await api.post(TAGS, json={"name": "tRAVEL"}, headers=alice.headers)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    await make_tag(api, bob, "travel")  # another user may use the name
    other = await make_tag(api, alice, "Trips")
    r = await api.patch(f"{TAGS}/{other['id']}", json={"name": "TRAVEL"}, headers=alice.headers)
    assert r.status_code == 409
    r = await api.patch(f"{TAGS}/{first['id']}", json={"name": "travel"}, headers=alice.headers)
    assert r.status_code == 200  # renaming to another case of its own name is fine


async def test_non_ascii_names_conflict_case_and_normalization_insensitively(
    api: AsyncTestClient, alice: User
) -> None:
    """Unicode lower case and NFC (journal.name_key), not the "C" collation's ASCII-only lower()."""
    nfc, nfd = "\u00c9cole", "E\u0301cole"
    first = await make_tag(api, alice, nfc)
    for name in ("\u00e9cole", nfd, "e\u0301COLE", "\u00c9COLE"):
        r = await api.post(TAGS, json={"name": name}, headers=alice.headers)
        assert r.status_code == 409, (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert first["name"] == nfc  # stored and shown as typed
    other = await make_tag(api, alice, "\u0416\u0443\u0440\u043d\u0430\u043b")  # Журнал
    r = await api.post(TAGS, json={"name": "\u0436\u0443\u0440\u043d\u0430\u043b"}, headers=alice.headers)
    assert r.status_code == 409  # Cyrillic too
    r = await api.patch(f"{TAGS}/{other['id']}", json={"name": "\u00e9cole"}, headers=alice.headers)
    assert r.status_code == 409
    # Documented: lower() maps letter to letter, so "ß" is not "SS" (no full case folding).
    await make_tag(api, alice, "Stra\u00dfe")
    await make_tag(api, alice, "STRASSE")


async def test_validation(api: AsyncTestClient, alice: User) -> None:
    for body in (
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 51},
        {"name": "a", "color": "red"},
        {"name": "a", "color": "#12345"},
        {"name": "a", "user_id": str(alice.id)},
        {},
    ):
        r = await api.post(TAGS, json=body, headers=alice.headers)
        assert r.status_code == 422, (body, r.text)


async def test_deleting_a_tag_detaches_it_everywhere(api: AsyncTestClient, alice: User) -> None:
    doomed = await make_tag(api, alice, "doomed")
    kept = await make_tag(api, alice, "kept")
    entry = await make_entry(api, alice, tag_ids=[doomed["id"], kept["id"]])
    task = await make_task(api, alice, tag_ids=[doomed["id"]])
    r = await api.delete(f"{TAGS}/{doomed['id']}", headers=alice.headers)
    assert r.status_code == 204
    assert (await api.get(f"{TAGS}/{doomed['id']}", headers=alice.headers)).status_code == 404
    r = await api.get(f"{ENTRIES}/{entry['id']}", headers=alice.headers)
    assert [t["id"] for t in r.json()["tags"]] == [kept["id"]]
    assert r.headers["etag"] == '"2"'  # the entry's representation changed
    r = await api.get(f"{TASKS}/{task['id']}", headers=alice.headers)
    assert r.json()["tag_ids"] == []
    assert (await api.delete(f"{TAGS}/{uuid.uuid4()}", headers=alice.headers)).status_code == 404
