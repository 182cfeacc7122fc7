"""Tag deletes and renames racing task edits that set tags, over HTTP: no deadlock, no stale link.

A task edit and a tag delete both lock a tag and the tasks carrying it; they must take those
locks in one order (tag, then tasks in id order), or the two wait on each other and one of
them dies of PostgreSQL's deadlock detection (a 500).
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
from litestar.testing import AsyncTestClient

from daybook_journal.testing import TAGS, TASKS, User, make_tag, make_task


async def tag_ids(api: AsyncTestClient, user: User, task_id: str) -> list[str]:
    r = await api.get(f"{TASKS}/{task_id}", headers=user.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["tag_ids"])


async def test_tag_deletes_racing_task_edits_do_not_deadlock(
    concurrent_api: httpx.AsyncClient, api: AsyncTestClient, alice: User
) -> None:
    """Each round: every task carries the doomed tags; they are deleted while each task is
    set to (this round's kept tag, one doomed tag), and the kept tag is renamed meanwhile.

    An edit either wins (200: the task ends with the kept tag alone, its doomed tag deleted
    after it) or loses to its doomed tag's delete (422 naming ``tag_ids``: the task keeps
    what it had, less the deleted tags).  Deletes and the rename always succeed.
    """
    tasks = [await make_task(api, alice) for _ in range(4)]
    expected: dict[str, list[str]] = {t["id"]: [] for t in tasks}
    outcomes: set[int] = set()
    for round_ in range(8):
        kept = await make_tag(api, alice, f"kept {round_}")
        doomed = [await make_tag(api, alice, f"doomed {round_}.{n}") for n in range(3)]
        for task in tasks:
            body = {"tag_ids": [*expected[task["id"]], *(d["id"] for d in doomed)]}
            r = await api.patch(f"{TASKS}/{task['id']}", json=body, headers=alice.headers)
            assert r.status_code == 200, r.text
        deletes = [concurrent_api.delete(f"{TAGS}/{d['id']}", headers=alice.headers) for d in doomed]
        edits = [
            concurrent_api.patch(
                f"{TASKS}/{task['id']}",
                json={"tag_ids": [kept["id"], doomed[(i + round_) % 3]["id"]]},
                headers=alice.headers,
            )
            for i, task in enumerate(tasks)
        ]
        rename = concurrent_api.patch(
            f"{TAGS}/{kept['id']}", json={"name": f"kept {round_} renamed"}, headers=alice.headers
        )
        if round_ % 2:  # sent first in turn, so both outcomes of the race come up
            responses = await asyncio.gather(*deletes, *edits, rename)
            deleted, edited, renamed = responses[:3], responses[3:-1], responses[-1]
        else:
            responses = await asyncio.gather(*edits, *deletes, rename)
            edited, deleted, renamed = responses[:4], responses[4:-1], responses[-1]
        texts = [r.text for r in responses]
        assert [r.status_code for r in deleted] == [204] * 3, texts
        assert renamed.status_code == 200, texts
        for task, r in zip(tasks, edited, strict=True):
            outcomes.add(r.status_code)
            if r.status_code == 200:
                expected[task["id"]] = [kept["id"]]
            else:
                assert r.status_code == 422, texts
                assert r.json()["errors"][0]["field"] == "tag_ids", r.text
        for task in tasks:
            assert await tag_ids(api, alice, task["id"]) == expected[task["id"]]
    for d in doomed:
        assert (await api.get(f"{TAGS}/{d['id']}", headers=alice.headers)).status_code == 404
    # Some edits did race ahead of the deletes (the case that could deadlock).
    assert 200 in outcomes, f"no edit got ahead of the deletes in 8 rounds: {outcomes}"


async def test_task_errors_come_before_tag_errors(api: AsyncTestClient, alice: User, bob: User) -> None:
    """404 (no such task, or another user's) and 412 (stale If-Match) before an unknown tag's 422."""
    mine = await make_tag(api, alice, "mine")
    task = await make_task(api, alice, tag_ids=[mine["id"]])
    bobs_task = await make_task(api, bob)
    unknown = {"tag_ids": [str(uuid.uuid4())]}
    for url in (f"{TASKS}/{uuid.uuid4()}", f"{TASKS}/{bobs_task['id']}"):
        r = await api.patch(url, json=unknown, headers=alice.headers)
        assert r.status_code == 404, r.text
    stale = {**alice.headers, "If-Match": '"7"'}
    r = await api.patch(f"{TASKS}/{task['id']}", json=unknown, headers=stale)
    assert r.status_code == 412, r.text
    r = await api.patch(f"{TASKS}/{task['id']}", json=unknown, headers=alice.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "tag_ids", r.text
    r = await api.get(f"{TASKS}/{task['id']}", headers=alice.headers)
    assert r.json()["tag_ids"] == [mine["id"]] and r.headers["etag"] == '"1"'
