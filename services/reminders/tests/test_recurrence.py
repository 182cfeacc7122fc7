"""Recurrence rules: DST transitions, month-end clamping, and property tests against a brute-force oracle."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import itertools
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from daybook_reminders.recurrence import (
    DAY_NAMES,
    FREQUENCIES,
    InvalidTimezoneError,
    Rule,
    fire,
    is_valid_timezone,
    latest_occurrence,
    next_occurrence,
    occurrences,
    timezone_names,
    to_instant,
    zone,
)

UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def daily(hh: int, mm: int, tz: str, start: dt.date = dt.date(2020, 1, 1)) -> Rule:
    return Rule("daily", dt.time(hh, mm), tz, start)


# --- time zones ------------------------------------------------------------------------------


def test_timezone_names_are_the_tz_database() -> None:
    assert is_valid_timezone("Europe/Berlin")
    assert is_valid_timezone("UTC")
    assert is_valid_timezone("Australia/Lord_Howe")
    for bad in ("Mars/Olympus", "europe/berlin", "", "localtime", "Factory", "../etc/passwd", "+02:00"):
        assert not is_valid_timezone(bad), bad
    with pytest.raises(InvalidTimezoneError):
        zone("Mars/Olympus")
    assert len(timezone_names()) > 300


# --- DST: Europe/Berlin (02:00 → 03:00 on 2026-03-29, 03:00 → 02:00 on 2026-10-25) -------------


def test_berlin_spring_forward_gap_fires_at_first_valid_instant() -> None:
    rule = daily(2, 30, "Europe/Berlin")
    # 02:30 does not exist on 2026-03-29: first valid instant after it is 03:00 CEST = 01:00 UTC.
    first = next_occurrence(rule, utc(2026, 3, 28, 12, 0))
    assert first == utc(2026, 3, 29, 1, 0)
    assert first.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M %Z") == "03:00 CEST"
    assert next_occurrence(rule, first) == utc(2026, 3, 30, 0, 30)  # 02:30 CEST
    assert next_occurrence(rule, utc(2026, 3, 27, 12, 0)) == utc(2026, 3, 28, 1, 30)  # 02:30 CET


def test_berlin_fall_back_ambiguous_fires_once_at_first_occurrence() -> None:
    rule = daily(2, 30, "Europe/Berlin")
    first = next_occurrence(rule, utc(2026, 10, 24, 12, 0))
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, the first of the two 02:30s
    # Not again an hour later at 02:30 CET: the next one is the following day.
    assert next_occurrence(rule, first) == utc(2026, 10, 26, 1, 30)
    # Asked during the repeated hour's second pass (02:15 CET), the 02:30 of today is over.
    assert next_occurrence(rule, utc(2026, 10, 25, 1, 15)) == utc(2026, 10, 26, 1, 30)
    # Times outside the overlap are unaffected.
    assert next_occurrence(daily(3, 30, "Europe/Berlin"), utc(2026, 10, 24, 12)) == utc(2026, 10, 25, 2, 30)


# --- DST: America/New_York (02:00 → 03:00 on 2026-03-08, 02:00 → 01:00 on 2026-11-01) --------


def test_new_york_spring_forward_gap() -> None:
    rule = daily(2, 15, "America/New_York")
    first = next_occurrence(rule, utc(2026, 3, 7, 12, 0))
    assert first == utc(2026, 3, 8, 7, 0)  # 03:00 EDT
    assert next_occurrence(rule, first) == utc(2026, 3, 9, 6, 15)  # 02:15 EDT


def test_new_york_fall_back_ambiguous() -> None:
    rule = daily(1, 30, "America/New_York")
    first = next_occurrence(rule, utc(2026, 10, 31, 12, 0))
    assert first == utc(2026, 11, 1, 5, 30)  # 01:30 EDT (the second 01:30 EST would be 06:30 UTC)
    assert next_occurrence(rule, first) == utc(2026, 11, 2, 6, 30)  # 01:30 EST


# --- DST: Australia/Lord_Howe (30-minute shift: 02:00 → 02:30 on 2026-10-04, 02:00 → 01:30 on 2026-04-05)


def test_lord_howe_half_hour_spring_forward() -> None:
    rule = daily(2, 15, "Australia/Lord_Howe")
    first = next_occurrence(rule, utc(2026, 10, 3, 12, 0))
    # 02:15 does not exist on 2026-10-04 (+10:30 → +11:00): first valid instant is 02:30 +11 = 15:30 UTC.
    assert first == utc(2026, 10, 3, 15, 30)
    assert first.astimezone(ZoneInfo("Australia/Lord_Howe")).strftime("%H:%M") == "02:30"
    assert next_occurrence(rule, first) == utc(2026, 10, 4, 15, 15)  # 02:15 +11:00


def test_lord_howe_half_hour_fall_back() -> None:
    rule = daily(1, 45, "Australia/Lord_Howe")
    first = next_occurrence(rule, utc(2026, 4, 4, 12, 0))
    # 01:45 happens twice on 2026-04-05: first at +11:00 (14:45 UTC), then at +10:30 (15:15 UTC).
    assert first == utc(2026, 4, 4, 14, 45)
    assert next_occurrence(rule, first) == utc(2026, 4, 5, 15, 15)  # 01:45 +10:30 the next day
    assert next_occurrence(rule, utc(2026, 4, 4, 15, 0)) == utc(2026, 4, 5, 15, 15)


def test_to_instant_round_trips_valid_times() -> None:
    tz = ZoneInfo("Europe/Berlin")
    assert to_instant(dt.datetime(2026, 7, 1, 8, 0), tz) == utc(2026, 7, 1, 6, 0)
    assert to_instant(dt.datetime(2026, 1, 1, 8, 0), tz) == utc(2026, 1, 1, 7, 0)


# --- month-end clamping -----------------------------------------------------------------------


def test_monthly_on_the_31st_clamps_to_month_end() -> None:
    rule = Rule("monthly", dt.time(9, 0), "UTC", dt.date(2024, 1, 31))
    got = [o.date() for o in occurrences(rule, utc(2024, 1, 1), 6)]
    assert got == [
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 29),  # leap year
        dt.date(2024, 3, 31),
        dt.date(2024, 4, 30),
        dt.date(2024, 5, 31),
        dt.date(2024, 6, 30),
    ]
    assert next_occurrence(rule, utc(2025, 2, 1)) == utc(2025, 2, 28, 9, 0)  # not a leap year
    assert next_occurrence(rule, utc(2025, 2, 28, 9, 0)) == utc(2025, 3, 31, 9, 0)  # back to the 31st


def test_monthly_on_the_30th_and_29th() -> None:
    thirtieth = Rule("monthly", dt.time(9, 0), "UTC", dt.date(2025, 1, 30))
    assert next_occurrence(thirtieth, utc(2025, 2, 1)) == utc(2025, 2, 28, 9, 0)
    assert next_occurrence(thirtieth, utc(2025, 3, 1)) == utc(2025, 3, 30, 9, 0)
    twenty_ninth = Rule("monthly", dt.time(9, 0), "UTC", dt.date(2025, 1, 29))
    assert next_occurrence(twenty_ninth, utc(2025, 2, 1)) == utc(2025, 2, 28, 9, 0)
    assert next_occurrence(twenty_ninth, utc(2028, 2, 1)) == utc(2028, 2, 29, 9, 0)


# --- the other frequencies ----------------------------------------------------------------------


def test_weekly_uses_the_weekday_of_start_date() -> None:
    rule = Rule("weekly", dt.time(18, 0), "Europe/Berlin", dt.date(2026, 1, 7))  # a Wednesday
    got = list(occurrences(rule, utc(2026, 1, 1), 3))
    assert [o.astimezone(ZoneInfo("Europe/Berlin")).date() for o in got] == [
        dt.date(2026, 1, 7),
        dt.date(2026, 1, 14),
        dt.date(2026, 1, 21),
    ]


def test_weekdays_weekends_custom() -> None:
    after = utc(2026, 1, 2, 12)  # a Friday
    weekdays = Rule("weekdays", dt.time(8, 0), "UTC", dt.date(2026, 1, 1))
    assert [o.weekday() for o in occurrences(weekdays, after, 5)] == [0, 1, 2, 3, 4]
    weekends = Rule("weekends", dt.time(8, 0), "UTC", dt.date(2026, 1, 1))
    assert [o.weekday() for o in occurrences(weekends, after, 4)] == [5, 6, 5, 6]
    custom = Rule("custom", dt.time(8, 0), "UTC", dt.date(2026, 1, 1), ("mon", "thu"))
    assert [o.weekday() for o in occurrences(custom, after, 4)] == [0, 3, 0, 3]


def test_once_fires_once_and_nothing_before_start_date() -> None:
    once = Rule("once", dt.time(8, 0), "Europe/Berlin", dt.date(2026, 5, 1))
    assert next_occurrence(once, utc(2026, 4, 1)) == utc(2026, 5, 1, 6, 0)
    assert next_occurrence(once, utc(2026, 5, 1, 6, 0)) is None
    later = Rule("daily", dt.time(8, 0), "UTC", dt.date(2030, 1, 1))
    assert next_occurrence(later, utc(2026, 1, 1)) == utc(2030, 1, 1, 8, 0)


def test_fire_coalesces_missed_occurrences() -> None:
    rule = daily(8, 0, "UTC")
    due = utc(2026, 1, 1, 8, 0)
    now = utc(2026, 1, 5, 12, 0)  # four days of downtime
    coalesced = fire(rule, due, now, coalesce=True)
    assert coalesced.occurrence_at == utc(2026, 1, 5, 8, 0)
    assert coalesced.next_fire_at == utc(2026, 1, 6, 8, 0)
    catch_up = fire(rule, due, now, coalesce=False)
    assert catch_up.occurrence_at == due
    assert catch_up.next_fire_at == utc(2026, 1, 2, 8, 0)
    on_time = fire(rule, due, utc(2026, 1, 1, 8, 0, 1), coalesce=True)
    assert (on_time.occurrence_at, on_time.next_fire_at) == (due, utc(2026, 1, 2, 8, 0))
    once = Rule("once", dt.time(8, 0), "UTC", dt.date(2026, 1, 1))
    assert fire(once, due, now, coalesce=True).next_fire_at is None


def test_latest_occurrence() -> None:
    rule = Rule("weekly", dt.time(8, 0), "UTC", dt.date(2026, 1, 5))  # Mondays
    assert latest_occurrence(rule, utc(2026, 1, 21, 12)) == utc(2026, 1, 19, 8, 0)
    assert latest_occurrence(rule, utc(2026, 1, 19, 8, 0)) == utc(2026, 1, 19, 8, 0)
    assert latest_occurrence(rule, utc(2026, 1, 1)) is None


def test_rule_validation() -> None:
    with pytest.raises(ValueError):
        Rule("hourly", dt.time(8, 0), "UTC", dt.date(2026, 1, 1))
    with pytest.raises(ValueError):
        Rule("custom", dt.time(8, 0), "UTC", dt.date(2026, 1, 1), ())
    with pytest.raises(ValueError):
        Rule("custom", dt.time(8, 0), "UTC", dt.date(2026, 1, 1), ("funday",))


# --- properties ---------------------------------------------------------------------------------

ZONES = sorted(timezone_names())


def matches_day(rule: Rule, day: dt.date) -> bool:
    """An independent statement of which local dates a rule fires on (the test oracle)."""
    if day < rule.start_date:
        return False
    f = rule.frequency
    if f == "once":
        return day == rule.start_date
    if f == "daily":
        return True
    if f == "weekdays":
        return day.weekday() < 5
    if f == "weekends":
        return day.weekday() >= 5
    if f == "weekly":
        return day.weekday() == rule.start_date.weekday()
    if f == "custom":
        return DAY_NAMES[day.weekday()] in rule.custom_days
    if f == "rrule":
        assert rule.rrule is not None
        return RRULE_DAYS[rule.rrule](day)
    assert f == "monthly"
    last = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(rule.start_date.day, last)


def oracle_next(rule: Rule, after: dt.datetime) -> dt.datetime | None:
    """Brute force: the earliest instant of every matching local date near ``after``."""
    tz = ZoneInfo(rule.timezone)
    day = max(after.astimezone(tz).date() - dt.timedelta(days=2), rule.start_date)
    for _ in range(800):
        if matches_day(rule, day):
            instant = to_instant(dt.datetime.combine(day, rule.time), tz)
            if instant > after:
                return instant
        day += dt.timedelta(days=1)
    return None


def _month_length(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


#: RFC 5545 rules (without INTERVAL, so their days do not depend on the start) and, per rule,
#: which local dates it picks, said independently of dateutil.
RRULE_DAYS: dict[str, Callable[[dt.date], bool]] = {
    "FREQ=MONTHLY;BYDAY=-1FR": lambda d: d.weekday() == 4 and d.day + 7 > _month_length(d),
    # The days most zones change their clocks on: the last Sunday of March and of October.
    "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU": lambda d: (
        d.month in (3, 10) and d.weekday() == 6 and d.day + 7 > _month_length(d)
    ),
    "FREQ=MONTHLY;BYMONTHDAY=-1": lambda d: d.day == _month_length(d),
    "FREQ=WEEKLY;BYDAY=SA,SU": lambda d: d.weekday() >= 5,
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1": lambda d: (
        d.weekday() < 5 and all((d - dt.timedelta(days=k)).weekday() >= 5 for k in range(1, d.day))
    ),
}

rules = st.builds(
    lambda frequency, hh, mm, zone_name, start, days, rrule: Rule(
        frequency,
        dt.time(hh, mm),
        zone_name,
        start,
        tuple(sorted(days, key=DAY_NAMES.index)) if frequency == "custom" else (),
        rrule if frequency == "rrule" else None,
    ),
    st.sampled_from(FREQUENCIES),
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(ZONES),
    st.dates(dt.date(1995, 1, 1), dt.date(2045, 12, 31)),
    st.sets(st.sampled_from(DAY_NAMES), min_size=1),
    st.sampled_from(sorted(RRULE_DAYS)),
)
instants = st.datetimes(dt.datetime(1995, 1, 1), dt.datetime(2046, 1, 1)).map(lambda d: d.replace(tzinfo=UTC))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=rules, after=instants)
def test_next_occurrence_is_future_matches_rule_and_is_the_first(rule: Rule, after: dt.datetime) -> None:
    got = next_occurrence(rule, after)
    expected = oracle_next(rule, after)
    assert got == expected
    if got is None:
        return
    assert got > after
    tz = ZoneInfo(rule.timezone)
    local = got.astimezone(tz)
    intended = dt.datetime.combine(local.date(), rule.time)
    if local.replace(tzinfo=None) == intended:
        assert matches_day(rule, local.date())
    else:
        # Only a nonexistent local time may move, and only forward to the end of its gap.
        day = next(d for d in (local.date(), local.date() - dt.timedelta(days=1)) if matches_day(rule, d))
        wanted = dt.datetime.combine(day, rule.time)
        assert wanted.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wanted
        assert local.replace(tzinfo=None) > wanted
        assert (got - dt.timedelta(seconds=1)).astimezone(tz).replace(tzinfo=None) < wanted


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=rules, after=instants)
def test_successive_occurrences_strictly_increase(rule: Rule, after: dt.datetime) -> None:
    got = list(occurrences(rule, after, 8))
    assert all(a < b for a, b in itertools.pairwise(got))
    if rule.frequency == "once":
        assert len(got) <= 1
    else:
        assert len(got) == 8
    assert all(o > after for o in got)


DST_ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Pacific/Chatham",
    "America/Santiago",
    "Europe/London",
    "Australia/Sydney",
]


@functools.cache
def transitions(zone_name: str, year: int) -> list[dt.datetime]:
    """UTC instants (to the minute) where the zone's offset changes during ``year``."""
    tz = ZoneInfo(zone_name)
    found = []
    t = dt.datetime(year, 1, 1, tzinfo=UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=UTC)
    step = dt.timedelta(hours=6)
    while t < end:
        if t.astimezone(tz).utcoffset() != (t + step).astimezone(tz).utcoffset():
            lo, hi = t, t + step
            while hi - lo > dt.timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == lo.astimezone(tz).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(hi.replace(second=0, microsecond=0))
        t += step
    return found


@st.composite
def near_transition(draw: st.DrawFn) -> tuple[Rule, dt.datetime]:
    zone_name = draw(st.sampled_from(DST_ZONES))
    year = draw(st.integers(2000, 2040))
    moments = transitions(zone_name, year)
    assume(moments)  # some years have none (Chile kept summer time all through 2015)
    moment = draw(st.sampled_from(moments))
    tz = ZoneInfo(zone_name)
    # A local time within three hours of the transition's wall-clock time, so gaps and overlaps are hit.
    wall = (moment.astimezone(tz) + dt.timedelta(minutes=draw(st.integers(-180, 180)))).replace(tzinfo=None)
    frequency = draw(st.sampled_from(["daily", "weekly", "once"]))
    start = wall.date() - dt.timedelta(days=draw(st.integers(0, 1)) if frequency == "daily" else 0)
    rule = Rule(frequency, dt.time(wall.hour, wall.minute), zone_name, start)
    after = moment + dt.timedelta(minutes=draw(st.integers(-3 * 24 * 60, 60)))
    return rule, after


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=near_transition())
def test_occurrences_around_dst_transitions(case: tuple[Rule, dt.datetime]) -> None:
    rule, after = case
    got = list(occurrences(rule, after, 4))
    current = after
    for occurrence in got:
        assert occurrence == oracle_next(rule, current)
        assert occurrence > current
        current = occurrence
    if rule.frequency != "once":
        assert len(got) == 4


@settings(max_examples=300, deadline=None)
@given(
    zone_name=st.sampled_from(DST_ZONES + ZONES[::7]),
    local=st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2060, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    near=st.booleans(),
    data=st.data(),
)
def test_to_instant_against_the_aware_datetime_machinery(
    zone_name: str, local: dt.datetime, near: bool, data: st.DataObject
) -> None:
    tz = ZoneInfo(zone_name)
    if near and zone_name in DST_ZONES:  # random times are mostly ordinary: put some near a transition
        moments = transitions(zone_name, 2000 + local.year % 41)
        if moments:
            moment = data.draw(st.sampled_from(moments))
            local = (moment.astimezone(tz) + dt.timedelta(minutes=data.draw(st.integers(-90, 90)))).replace(
                tzinfo=None, fold=0
            )
    got = to_instant(local, tz)
    candidates = [local.replace(tzinfo=tz, fold=f).astimezone(UTC) for f in (0, 1)]
    valid = [c for c in candidates if c.astimezone(tz).replace(tzinfo=None) == local]
    if valid:
        assert got == min(valid)  # an ambiguous time: its first occurrence
    else:  # nonexistent: the first instant whose wall-clock time is not before it
        assert got.astimezone(tz).replace(tzinfo=None) >= local
        assert (got - dt.timedelta(seconds=1)).astimezone(tz).replace(tzinfo=None) < local
