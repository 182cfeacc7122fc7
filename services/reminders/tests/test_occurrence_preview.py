"""``POST /api/v1/reminders/occurrences``: an unsaved schedule's next instants, validated as a create is.

The schedules start in 2031 (after any real "now" of these tests), so their instants are fixed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from daybook_devtools.testing.tokens import TestSigner

URL = "/api/v1/reminders"
PREVIEW = f"{URL}/occurrences"


#: The last Friday of each month at 16:00 in Berlin, from 2031.
LAST_FRIDAYS: dict[str, Any] = {
    "frequency": "rrule",
    "rrule": "FREQ=MONTHLY;BYDAY=-1FR",
    "time": "16:00",
    "timezone": "Europe/Berlin",
    "start_date": "2031-01-01",
}


def schedule(**overrides: Any) -> dict[str, Any]:
    """LAST_FRIDAYS with ``overrides`` (``...`` leaves a field out)."""
    return {k: v for k, v in {**LAST_FRIDAYS, **overrides}.items() if v is not ...}


def assert_problem(r: Any, status: int, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert [e["field"] for e in r.json()["errors"]] == [field], r.text


async def test_an_unsaved_rule_previews_what_the_saved_reminder_lists(
    client: AsyncTestClient, signer: TestSigner
) -> None:
    auth = signer.headers(uuid.uuid4())
    r = await client.post(PREVIEW, params={"limit": 4}, json=schedule(), headers=auth)
    assert r.status_code == 200, r.text
    # 16:00 on the last Fridays of January to April 2031: CET (+01:00), then CEST (+02:00) in April.
    assert r.json() == {
        "items": [
            "2031-01-31T15:00:00Z",
            "2031-02-28T15:00:00Z",
            "2031-03-28T15:00:00Z",
            "2031-04-25T14:00:00Z",
        ]
    }
    made = await client.post(URL, json={"title": "Retro", "message": "", **schedule()}, headers=auth)
    assert made.status_code == 201, made.text
    saved = await client.get(f"{URL}/{made.json()['id']}/occurrences", params={"limit": 4}, headers=auth)
    assert saved.json() == r.json()


async def test_every_frequency_and_the_default_limit(client: AsyncTestClient, signer: TestSigner) -> None:
    auth = signer.headers(uuid.uuid4())

    async def preview(**overrides: Any) -> list[str]:
        r = await client.post(
            PREVIEW, params={"limit": 3}, json=schedule(rrule=None, timezone="UTC", **overrides), headers=auth
        )
        assert r.status_code == 200, r.text
        return [i[:10] for i in r.json()["items"]]

    # 2031-01-01 is a Wednesday.
    assert await preview(frequency="weekdays") == ["2031-01-01", "2031-01-02", "2031-01-03"]
    assert await preview(frequency="weekends") == ["2031-01-04", "2031-01-05", "2031-01-11"]
    assert await preview(frequency="custom", custom_days=["mon", "fri"]) == [
        "2031-01-03",
        "2031-01-06",
        "2031-01-10",
    ]
    assert await preview(frequency="monthly", start_date="2031-01-31") == [
        "2031-01-31",
        "2031-02-28",
        "2031-03-31",
    ]
    assert await preview(frequency="once") == ["2031-01-01"]
    r = await client.post(PREVIEW, json=schedule(frequency="daily", rrule=None), headers=auth)
    assert r.status_code == 200 and len(r.json()["items"]) == 10, r.text
    r = await client.post(f"{PREVIEW}?limit=", json=schedule(), headers=auth)  # empty = absent
    assert r.status_code == 200 and len(r.json()["items"]) == 10, r.text
    r = await client.post(
        PREVIEW, params={"limit": 100}, json=schedule(frequency="daily", rrule=None), headers=auth
    )
    assert len(r.json()["items"]) == 100


async def test_without_a_start_date_it_starts_now(client: AsyncTestClient, signer: TestSigner) -> None:
    before = dt.datetime.now(dt.UTC)
    r = await client.post(
        PREVIEW,
        json=schedule(frequency="once", rrule=None, start_date=..., time="00:00", timezone="UTC"),
        headers=signer.headers(uuid.uuid4()),
    )
    assert r.status_code == 200, r.text
    (only,) = [dt.datetime.fromisoformat(i) for i in r.json()["items"]]
    # "once at 00:00" with no date is the next midnight, as a create makes it.
    assert before < only <= before + dt.timedelta(days=1)
    assert only.time() == dt.time(0, 0)


async def test_invalid_schedules_are_422_naming_the_field(
    client: AsyncTestClient, signer: TestSigner
) -> None:
    auth = signer.headers(uuid.uuid4())
    cases = [
        (schedule(rrule="FREQ=HOURLY"), "rrule"),
        (schedule(rrule="FREQ=DAILY;UNTIL=20300101"), "rrule"),
        (schedule(frequency="daily"), "rrule"),
        (schedule(rrule=...), "rrule"),
        (schedule(frequency="custom", rrule=None, custom_days=[]), "custom_days"),
        (schedule(timezone="Mars/Olympus"), "timezone"),
        (schedule(frequency="once", rrule=None, start_date="2020-01-01"), "start_date"),
    ]
    for body, field in cases:
        assert_problem(await client.post(PREVIEW, json=body, headers=auth), 422, field)
    # Only schedule fields: what a reminder says has no place here.
    r = await client.post(PREVIEW, json={**schedule(), "title": "Retro"}, headers=auth)
    assert r.status_code in (400, 422) and "title" in r.text, r.text
    for bad in ("0", "101", "x"):
        r = await client.post(PREVIEW, params={"limit": bad}, json=schedule(), headers=auth)
        assert_problem(r, 422)


async def test_needs_a_token_and_saves_nothing(client: AsyncTestClient, signer: TestSigner) -> None:
    r = await client.post(PREVIEW, json=schedule())
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    auth = signer.headers(uuid.uuid4())
    assert (
        await client.post(PREVIEW, json=schedule(frequency="daily", rrule=None), headers=auth)
    ).status_code == 200
    assert (await client.get(URL, headers=auth)).json()["items"] == []
    assert (await client.get(f"{URL}/trash", headers=auth)).json()["items"] == []
