"""``frequency: "rrule"`` over HTTP and through the scheduler: RFC 5545 rules, validation, occurrences.

Every reminder starts in 2031 (after any real "now" of these tests), so its first occurrences are
fixed; the expected instants are written out by hand from a calendar.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.tokens import TestSigner
from daybook_reminders import rrules
from daybook_reminders.recurrence import Rule, has_occurrence_soon, next_occurrence
from daybook_reminders.scheduler import fire_due

URL = "/api/v1/reminders"
UTC = dt.UTC


def body(rrule: str | None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Rule",
        "message": "m",
        "frequency": "rrule",
        "rrule": rrule,
        "time": "09:00",
        "timezone": "Europe/Berlin",
        "start_date": "2031-01-01",
    }
    data.update(overrides)
    return data


def at(*args: int) -> str:
    """An instant in UTC as the API writes it."""
    return dt.datetime(*args, tzinfo=UTC).isoformat().replace("+00:00", "Z")


def instants(items: list[str]) -> list[str]:
    return [dt.datetime.fromisoformat(i).astimezone(UTC).isoformat().replace("+00:00", "Z") for i in items]


async def make(client: AsyncTestClient, signer: TestSigner, user: uuid.UUID, rrule: str, **kw: Any) -> Any:
    r = await client.post(URL, json=body(rrule, **kw), headers=signer.headers(user))
    assert r.status_code == 201, r.text
    return r.json()


async def upcoming(
    client: AsyncTestClient, signer: TestSigner, user: uuid.UUID, rid: str, n: int
) -> list[str]:
    r = await client.get(f"{URL}/{rid}/occurrences", params={"limit": n}, headers=signer.headers(user))
    assert r.status_code == 200, r.text
    return instants(r.json()["items"])


async def test_last_friday_of_the_month(client: AsyncTestClient, signer: TestSigner) -> None:
    user = uuid.uuid4()
    reminder = await make(client, signer, user, "FREQ=MONTHLY;BYDAY=-1FR")
    assert reminder["rrule"] == "FREQ=MONTHLY;BYDAY=-1FR"
    # Jan 31, Feb 28, Mar 28 2031 (CET, +01:00); Apr 25 (CEST, +02:00).
    expected = [at(2031, 1, 31, 8), at(2031, 2, 28, 8), at(2031, 3, 28, 8), at(2031, 4, 25, 7)]
    assert instants([reminder["next_fire_at"]]) == expected[:1]
    assert await upcoming(client, signer, user, reminder["id"], 4) == expected


async def test_every_other_tuesday(client: AsyncTestClient, signer: TestSigner) -> None:
    user = uuid.uuid4()
    # 2031-01-01 is a Wednesday: its week's Tuesday (Dec 31) is before the start, so the first is
    # two weeks later, then every second week.
    reminder = await make(client, signer, user, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", timezone="UTC")
    assert await upcoming(client, signer, user, reminder["id"], 3) == [
        at(2031, 1, 14, 9),
        at(2031, 1, 28, 9),
        at(2031, 2, 11, 9),
    ]


async def test_the_15th_of_each_month_across_dst(client: AsyncTestClient, signer: TestSigner) -> None:
    user = uuid.uuid4()
    reminder = await make(
        client,
        signer,
        user,
        "FREQ=MONTHLY;BYMONTHDAY=15",
        timezone="America/New_York",
        start_date="2031-02-01",
    )
    # 09:00 local: EST (-05:00) until Mar 9 2031, EDT (-04:00) until Nov 2, EST again.
    got = await upcoming(client, signer, user, reminder["id"], 10)
    assert got[:3] == [at(2031, 2, 15, 14), at(2031, 3, 15, 13), at(2031, 4, 15, 13)]
    assert got[8:] == [at(2031, 10, 15, 13), at(2031, 11, 15, 14)]


async def test_a_time_in_the_spring_gap_fires_at_the_end_of_the_gap(
    client: AsyncTestClient, signer: TestSigner
) -> None:
    user = uuid.uuid4()
    # The last Sunday of March is Berlin's spring-forward day: 02:30 does not exist, 03:00 CEST does.
    reminder = await make(client, signer, user, "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", time="02:30")
    assert await upcoming(client, signer, user, reminder["id"], 2) == [at(2031, 3, 30, 1), at(2032, 3, 28, 1)]


async def test_until_ends_the_rule(client: AsyncTestClient, signer: TestSigner) -> None:
    user = uuid.uuid4()
    by_date = await make(client, signer, user, "FREQ=DAILY;UNTIL=20310103", timezone="UTC")
    assert await upcoming(client, signer, user, by_date["id"], 10) == [
        at(2031, 1, 1, 9),
        at(2031, 1, 2, 9),
        at(2031, 1, 3, 9),
    ]
    by_instant = await make(client, signer, user, "FREQ=DAILY;UNTIL=20310102T090000Z", timezone="UTC")
    assert await upcoming(client, signer, user, by_instant["id"], 10) == [
        at(2031, 1, 1, 9),
        at(2031, 1, 2, 9),
    ]


@pytest.mark.parametrize(
    "rrule",
    [
        "FREQ=HOURLY",  # sub-daily
        "FREQ=MINUTELY;INTERVAL=5",
        "FREQ=DAILY;BYHOUR=9",  # a part not supported
        "FREQ=DAILY;WKST=SU",
        "INTERVAL=2",  # no FREQ
        "FREQ=DAILY;COUNT=3;UNTIL=20311231",  # COUNT with UNTIL
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=WEEKLY;BYDAY=-1FR",  # ordinals need MONTHLY/YEARLY
        "FREQ=MONTHLY;BYDAY=XX",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",  # no such day
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",  # never a sixth Monday
        "FREQ=DAILY;BYDAY=MO;BYSETPOS=1",  # a day has one occurrence
        "FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=3",
        "FREQ=DAILY;INTERVAL=7;BYDAY=TU",  # every 7th day from a Wednesday is a Wednesday
        "FREQ=DAILY;UNTIL=20300101",  # over before the start
        "FREQ=DAILY;UNTIL=2031-01-01",
        "freq=daily",  # lower case
        "FREQ=DAILY;",
        "RRULE:FREQ=DAILY",
        # RFC 5545 signs only BYDAY ordinals, BYMONTHDAY, BYYEARDAY, BYWEEKNO and BYSETPOS
        # ("interval = 1*DIGIT"); "+1" was stored as given, for other clients' parsers to refuse.
        "FREQ=DAILY;INTERVAL=+2",
        "FREQ=DAILY;COUNT=+3",
        "FREQ=YEARLY;BYMONTH=+2",
    ],
)
async def test_invalid_rules_are_422_naming_rrule(
    client: AsyncTestClient, signer: TestSigner, rrule: str
) -> None:
    r = await client.post(URL, json=body(rrule), headers=signer.headers(uuid.uuid4()))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["rrule"], r.json()


async def test_a_rule_stored_with_a_sign_before_it_was_refused_keeps_working(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection
) -> None:
    """A rule saved while ``INTERVAL=+2`` was still accepted: its occurrences and an update that
    keeps it answer as before; only a rule the request itself states is checked strictly."""
    user = uuid.uuid4()
    reminder = await make(client, signer, user, "FREQ=DAILY;INTERVAL=2")
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.user_id', $1, true)", str(user))
        stored = "FREQ=DAILY;INTERVAL=+2"
        await conn.execute("UPDATE reminders SET rrule = $1 WHERE id = $2", stored, uuid.UUID(reminder["id"]))
    every_other_day = [at(2031, 1, 1, 8), at(2031, 1, 3, 8), at(2031, 1, 5, 8)]
    assert await upcoming(client, signer, user, reminder["id"], 3) == every_other_day
    item = f"{URL}/{reminder['id']}"
    r = await client.patch(item, json={"time": "10:00"}, headers=signer.headers(user))
    assert r.status_code == 200, r.text
    assert r.json()["rrule"] == stored
    assert await upcoming(client, signer, user, reminder["id"], 2) == [at(2031, 1, 1, 9), at(2031, 1, 3, 9)]
    r = await client.patch(item, json={"rrule": "FREQ=DAILY;INTERVAL=+3"}, headers=signer.headers(user))
    assert r.status_code == 422, r.text


async def test_rrule_only_with_frequency_rrule(client: AsyncTestClient, signer: TestSigner) -> None:
    user = uuid.uuid4()
    for data in (body(None), body("FREQ=DAILY", frequency="daily")):
        r = await client.post(URL, json=data, headers=signer.headers(user))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rrule", r.text
    # Leaving rrule drops the rule; coming back needs one.
    reminder = await make(client, signer, user, "FREQ=DAILY")
    r = await client.patch(
        f"{URL}/{reminder['id']}", json={"frequency": "daily"}, headers=signer.headers(user)
    )
    assert r.status_code == 200 and r.json()["rrule"] is None, r.text
    r = await client.patch(
        f"{URL}/{reminder['id']}", json={"frequency": "rrule"}, headers=signer.headers(user)
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rrule", r.text
    r = await client.patch(
        f"{URL}/{reminder['id']}",
        json={"frequency": "rrule", "rrule": "FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=4"},
        headers=signer.headers(user),
    )
    assert r.status_code == 200, r.text
    assert instants([r.json()["next_fire_at"]]) == [at(2031, 7, 4, 7)]


async def test_occurrences_limit_and_isolation(client: AsyncTestClient, signer: TestSigner) -> None:
    user = uuid.uuid4()
    reminder = await make(client, signer, user, "FREQ=DAILY", timezone="UTC")
    path = f"{URL}/{reminder['id']}/occurrences"
    r = await client.get(path, headers=signer.headers(user))
    assert r.status_code == 200 and len(r.json()["items"]) == 10
    r = await client.get(f"{path}?limit=", headers=signer.headers(user))  # empty = absent
    assert r.status_code == 200 and len(r.json()["items"]) == 10, r.text
    assert (
        len((await client.get(path, params={"limit": 100}, headers=signer.headers(user))).json()["items"])
        == 100
    )
    for bad in ("0", "101", "x"):
        r = await client.get(path, params={"limit": bad}, headers=signer.headers(user))
        assert r.status_code == 422, (bad, r.text)
    assert (await client.get(path, headers=signer.headers(uuid.uuid4()))).status_code == 404
    daily = await client.post(
        URL, json=body(None, frequency="weekdays", timezone="UTC"), headers=signer.headers(user)
    )
    # The other frequencies have occurrences too (2031-01-01 is a Wednesday).
    assert await upcoming(client, signer, user, daily.json()["id"], 3) == [
        at(2031, 1, 1, 9),
        at(2031, 1, 2, 9),
        at(2031, 1, 3, 9),
    ]
    r = await client.patch(f"{URL}/{reminder['id']}", json={"is_active": False}, headers=signer.headers(user))
    assert r.status_code == 200
    assert await upcoming(client, signer, user, reminder["id"], 5) == []


async def fired(conn: asyncpg.Connection, reminder_id: uuid.UUID) -> list[str]:
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
        rows = await conn.fetch(
            "SELECT occurrence_at FROM notifications WHERE reminder_id = $1 ORDER BY occurrence_at",
            reminder_id,
        )
    return [r["occurrence_at"].astimezone(UTC).isoformat().replace("+00:00", "Z") for r in rows]


async def test_count_ends_after_three_firings_as_previewed(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection
) -> None:
    """The scheduler, driven by a controllable clock, fires exactly what occurrences announced."""
    user = uuid.uuid4()
    reminder = await make(client, signer, user, "FREQ=WEEKLY;BYDAY=MO,FR;COUNT=3", timezone="Europe/Berlin")
    preview = await upcoming(client, signer, user, reminder["id"], 10)
    # Fri Jan 3, Mon Jan 6, Fri Jan 10 2031, 09:00 CET; COUNT ends it there.
    assert preview == [at(2031, 1, 3, 8), at(2031, 1, 6, 8), at(2031, 1, 10, 8)]
    rid = uuid.UUID(reminder["id"])
    for instant in preview:
        now = dt.datetime.fromisoformat(instant) + dt.timedelta(seconds=1)
        while (await fire_due(conn, batch_size=100, coalesce=True, now=now)).claimed:
            pass
        # Nothing fires twice, whatever else is due in the module's database.
        assert (await fire_due(conn, batch_size=100, coalesce=True, now=now)).claimed == 0
    assert await fired(conn, rid) == preview
    r = await client.get(f"{URL}/{reminder['id']}", headers=signer.headers(user))
    assert r.json()["next_fire_at"] is None and r.json()["is_active"] is False
    assert await upcoming(client, signer, user, reminder["id"], 10) == []


async def test_occurrences_equal_what_the_scheduler_fires_across_a_dst_change(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection
) -> None:
    user = uuid.uuid4()
    reminder = await make(
        client, signer, user, "FREQ=DAILY;INTERVAL=3", time="02:30", start_date="2031-03-24"
    )
    preview = await upcoming(client, signer, user, reminder["id"], 4)
    # Mar 24 and 27 CET; Mar 30 is in the gap (03:00 CEST); Apr 2 CEST.
    assert preview == [
        at(2031, 3, 24, 1, 30),
        at(2031, 3, 27, 1, 30),
        at(2031, 3, 30, 1),
        at(2031, 4, 2, 0, 30),
    ]
    for instant in preview:
        now = dt.datetime.fromisoformat(instant)
        while (await fire_due(conn, batch_size=100, coalesce=False, now=now)).claimed:
            pass
    assert await fired(conn, uuid.UUID(reminder["id"])) == preview


_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_PART_VALUES = {
    "INTERVAL": st.integers(1, 12).map(str),
    "BYDAY": st.lists(
        st.tuples(st.sampled_from(["", "1", "2", "-1", "-2", "5"]), st.sampled_from(_DAYS)).map("".join),
        min_size=1,
        max_size=3,
    ).map(",".join),
    "BYMONTHDAY": st.lists(
        st.sampled_from(["1", "15", "28", "29", "30", "31", "-1"]), min_size=1, max_size=2
    ).map(",".join),
    "BYMONTH": st.lists(st.integers(1, 12).map(str), min_size=1, max_size=2).map(",".join),
    "BYSETPOS": st.sampled_from(["1", "-1", "2", "3"]),
    "COUNT": st.integers(1, 5).map(str),
    "UNTIL": st.sampled_from(["20300101", "20351231", "20321010T120000Z"]),
}
# Rules made of plausible parts: most are valid, so the evaluation is exercised too.
plausible_rules = st.tuples(
    st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
    st.sets(st.sampled_from(sorted(_PART_VALUES)), max_size=4).flatmap(
        lambda keys: st.fixed_dictionaries({k: _PART_VALUES[k] for k in sorted(keys)})
    ),
).map(lambda t: ";".join([f"FREQ={t[0]}", *(f"{k}={v}" for k, v in t[1].items())]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.from_regex(rrules.PATTERN, fullmatch=True) | plausible_rules,
    start=st.dates(dt.date(2000, 1, 1), dt.date(2040, 1, 1)),
)
def test_any_text_of_the_rule_shape_is_accepted_or_refused_cleanly(text: str, start: dt.date) -> None:
    """What the OpenAPI pattern lets through parses or is an InvalidRRuleError; accepted rules evaluate."""
    try:
        parsed = rrules.parse_rrule(text)
    except rrules.InvalidRRuleError:
        return
    rule = Rule("rrule", dt.time(9, 0), "Europe/Berlin", start, (), parsed.text)
    now = dt.datetime(2030, 6, 1, tzinfo=UTC)
    if has_occurrence_soon(rule, now):
        following = next_occurrence(rule, now)
        assert following is not None and following > now


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=plausible_rules,
    start=st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2030, 1, 1)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
    days_later=st.integers(0, 4000),
)
def test_a_rule_started_near_the_question_answers_as_from_its_start(
    text: str, start: dt.datetime, days_later: int
) -> None:
    """dateutil walks from DTSTART; the shifted start (whole intervals later) gives the same next ones."""
    try:
        parsed = rrules.parse_rrule(text)
    except rrules.InvalidRRuleError:
        return
    near = start + dt.timedelta(days=days_later)
    rule = Rule("rrule", start.time(), "UTC", start.date(), (), parsed.text)
    if not has_occurrence_soon(rule, near.replace(tzinfo=UTC)):
        return
    full = list(parsed.dateutil_rule(start).xafter(near, count=6, inc=True))
    shifted = list(parsed.dateutil_rule(start, near=near).xafter(near, count=6, inc=True))
    assert shifted == full
