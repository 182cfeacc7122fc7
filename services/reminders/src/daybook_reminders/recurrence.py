"""When a reminder fires: wall-clock recurrence rules evaluated in the reminder's IANA time zone.

Occurrences are generated as *naive local* date-times by ``dateutil.rrule`` (the calendar
arithmetic: weekdays, month lengths, leap years) and only then mapped to instants with
``zoneinfo`` (the tz database), so "08:00 every weekday in Europe/Berlin" stays at 08:00 local
time across daylight-saving changes.

Mapping a local time to an instant (:func:`to_instant`):

- a local time that does not exist (spring-forward gap) fires at the first valid instant after
  it, i.e. the moment of the transition (02:30 on the day Berlin jumps 02:00→03:00 fires at 03:00);
- an ambiguous local time (fall-back overlap) fires once, at its first occurrence (``fold=0``).

Rules (API.md): ``once`` = ``start_date`` at ``time``; ``daily``; ``weekdays`` (Mon-Fri);
``weekends`` (Sat, Sun); ``weekly`` on the weekday of ``start_date``; ``monthly`` on the day of
month of ``start_date``, clamped to the month's last day (31st → Feb 28/29, Apr 30);
``custom`` on the listed ``custom_days``; ``rrule`` by an RFC 5545 rule (:mod:`daybook_reminders.rrules`)
with ``DTSTART`` = ``start_date`` at ``time``. Nothing fires before ``start_date``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil import rrule as rr

from daybook_reminders.rrules import ParsedRule, parse_rrule, search_horizon

Frequency = Literal["once", "daily", "weekdays", "weekends", "weekly", "monthly", "custom", "rrule"]
DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

FREQUENCIES: Final[tuple[Frequency, ...]] = get_args(Frequency)
DAY_NAMES: Final[tuple[DayName, ...]] = get_args(DayName)  # index = datetime.weekday()
_WEEKDAYS: Final = (rr.MO, rr.TU, rr.WE, rr.TH, rr.FR, rr.SA, rr.SU)
_NOT_ZONES: Final = frozenset({"localtime", "Factory", "posixrules"})
UTC: Final = dt.UTC
# Every rule with more than one occurrence has one within any 31 days (monthly is the sparsest).
_LONGEST_PERIOD: Final = dt.timedelta(days=32)
_LOOKAHEAD: Final = 8  # dates computed per cache entry
_MAX_ROUNDS: Final = 64


class InvalidTimezoneError(ValueError):
    """The name is not a zone of the tz database."""


@lru_cache(maxsize=1)
def timezone_names() -> frozenset[str]:
    """The IANA zone names this process accepts (tz database, ``tzdata`` as a fallback)."""
    return frozenset(available_timezones() - _NOT_ZONES)


def is_valid_timezone(name: str) -> bool:
    return name in timezone_names()


def zone(name: str) -> ZoneInfo:
    if not is_valid_timezone(name):
        raise InvalidTimezoneError(name)
    return _zone(name)


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    # zoneinfo keeps only a few zones strongly referenced; with users all over the world the
    # scheduler would re-read tz files from disk for most reminders without this cache.
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidTimezoneError(name) from exc


@dataclass(frozen=True, slots=True)
class Rule:
    """A reminder's schedule: fire at local ``time`` in ``timezone`` on the days ``frequency`` picks."""

    frequency: Frequency
    time: dt.time
    timezone: str
    start_date: dt.date
    custom_days: tuple[DayName, ...] = ()
    rrule: str | None = None  # the canonical RFC 5545 rule of frequency ``rrule``

    def __post_init__(self) -> None:
        if self.frequency not in FREQUENCIES:
            raise ValueError(f"unknown frequency {self.frequency!r}")
        if self.frequency == "custom":
            if not self.custom_days:
                raise ValueError("a custom rule needs at least one day")
            unknown = set(self.custom_days) - set(DAY_NAMES)
            if unknown:
                raise ValueError(f"unknown day names {sorted(unknown)}")
        if (self.frequency == "rrule") != (self.rrule is not None):
            raise ValueError("an rrule is required for frequency rrule and allowed only there")
        if self.time.tzinfo is not None:
            raise ValueError("time is a local wall-clock time (no tzinfo)")

    @property
    def parsed(self) -> ParsedRule:
        assert self.rrule is not None
        return parse_rrule(self.rrule, strict=False)  # validated (as strictly as then) when saved

    @property
    def dtstart(self) -> dt.datetime:
        return dt.datetime.combine(self.start_date, self.time)

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)


def canonical_days(days: Sequence[str]) -> tuple[DayName, ...]:
    """Unique day names in week order (mon..sun)."""
    wanted = set(days)
    return tuple(d for d in DAY_NAMES if d in wanted)


def to_instant(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant a naive local wall-clock time in ``tz`` fires at.

    Ambiguous (fall-back) times resolve to their first occurrence; nonexistent (spring-forward)
    times to the first valid instant after them (the end of the gap).
    """
    # PEP 495: fold=0 applies the offset from before a transition, fold=1 the one after. Equal
    # offsets: an ordinary time. Earlier offset larger (fall back): ambiguous, fold=0 is the first
    # occurrence. Earlier offset smaller (spring forward): the time is in the gap.
    offset_before = tz.utcoffset(local if local.fold == 0 else local.replace(fold=0))
    offset_after = tz.utcoffset(local.replace(fold=1))
    assert offset_before is not None and offset_after is not None
    if offset_before >= offset_after:
        return (local - offset_before).replace(tzinfo=UTC, fold=0)
    lo = (local - offset_after).replace(tzinfo=UTC)  # an instant before the transition
    hi = (local - offset_before).replace(tzinfo=UTC)  # an instant after it
    # Smallest whole second u in (lo, hi] whose wall-clock time is at or after ``local``.
    lo_s, hi_s = int(lo.timestamp()), int(hi.timestamp())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        wall = dt.datetime.fromtimestamp(mid, UTC).astimezone(tz).replace(tzinfo=None)
        if wall >= local:
            hi_s = mid
        else:
            lo_s = mid
    return dt.datetime.fromtimestamp(hi_s, UTC)


def _local(instant: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(tz).replace(tzinfo=None)


def _day_rrule(
    frequency: str, start: dt.date, custom_days: tuple[str, ...], weekday: int, day: int
) -> rr.rrule:
    """The dates (as midnights) a rule fires on, from ``start``; the time of day is applied later.

    ``weekday``/``day`` are the reminder's start date's weekday and day of month (what ``weekly``
    and ``monthly`` repeat on); ``start`` only bounds the search so no rule walks years of history.
    """
    dtstart = dt.datetime.combine(start, dt.time())
    if frequency == "daily":
        return rr.rrule(rr.DAILY, dtstart=dtstart)
    if frequency == "weekdays":
        return rr.rrule(rr.DAILY, dtstart=dtstart, byweekday=_WEEKDAYS[:5])
    if frequency == "weekends":
        return rr.rrule(rr.DAILY, dtstart=dtstart, byweekday=_WEEKDAYS[5:])
    if frequency == "weekly":
        return rr.rrule(rr.WEEKLY, dtstart=dtstart, byweekday=_WEEKDAYS[weekday])
    if frequency == "custom":
        days = tuple(_WEEKDAYS[DAY_NAMES.index(d)] for d in custom_days)
        return rr.rrule(rr.DAILY, dtstart=dtstart, byweekday=days)
    if frequency == "monthly":
        # Day d clamped to the month's end: the last of the days min(d, 28)..d the month has.
        return rr.rrule(
            rr.MONTHLY, dtstart=dtstart, bymonthday=tuple(range(min(day, 28), day + 1)), bysetpos=-1
        )
    raise ValueError(f"no recurrence for frequency {frequency!r}")


@lru_cache(maxsize=16_384)
def _dates(
    frequency: str, start: dt.date, custom_days: tuple[str, ...], weekday: int, day: int
) -> tuple[dt.date, ...]:
    """The next few matching dates from ``start`` (inclusive).

    Shared by every reminder with the same kind of rule, whatever its time and zone, so the
    scheduler evaluates the calendar once per rule kind and day, not once per reminder.
    """
    rule = _day_rrule(frequency, start, custom_days, weekday, day)
    return tuple(
        d.date() for d in rule.xafter(dt.datetime.combine(start, dt.time()), count=_LOOKAHEAD, inc=True)
    )


def _matching_dates(rule: Rule, start: dt.date) -> Iterator[dt.date]:
    """Every date ``rule`` fires on, from ``max(start, rule.start_date)`` on, ascending."""
    current = max(start, rule.start_date)
    anchor = rule.start_date
    for _ in range(_MAX_ROUNDS):
        chunk = _dates(rule.frequency, current, rule.custom_days, anchor.weekday(), anchor.day)
        yield from chunk
        current = chunk[-1] + dt.timedelta(days=1)
    raise RuntimeError("no occurrence found")  # pragma: no cover - callers stop long before


def next_occurrence(rule: Rule, after: dt.datetime) -> dt.datetime | None:
    """The first occurrence strictly after the instant ``after`` (UTC), or None when there is none."""
    # Reminders sharing a schedule (everyone's 08:00 in Europe/Berlin) share due instants, so the
    # scheduler asks the same question many times per batch: answer it once.
    return _next_occurrence(rule, after)


@lru_cache(maxsize=4096)
def _rrule_of(rule: Rule, near: dt.date | None = None) -> rr.rrule:
    """The rule's dateutil generator, starting (by whole intervals) a little before ``near``."""
    return rule.parsed.dateutil_rule(
        rule.dtstart, near=dt.datetime.combine(near, dt.time()) if near else None
    )


def _within_until(rule: Rule, instant: dt.datetime) -> bool:
    until = rule.parsed.until_instant
    return until is None or instant <= until


def _rrule_next(rule: Rule, after: dt.datetime) -> dt.datetime | None:
    tz = rule.tz
    # A day earlier than ``after``'s local time: a local time in a gap maps to a later instant.
    start = _local(after, tz) - dt.timedelta(days=1)
    for local in _rrule_of(rule, start.date()).xafter(start, inc=True):
        instant = to_instant(local, tz)
        if not _within_until(rule, instant):
            return None  # instants grow with local times: every later one is past UNTIL too
        if instant > after:
            return instant
    return None  # COUNT or a date UNTIL ended the rule


def _rrule_latest(rule: Rule, at: dt.datetime) -> dt.datetime | None:
    tz = rule.tz
    end = _local(at, tz) + dt.timedelta(days=1)
    # Near ``at`` first (cheap); only a rule with nothing there walks from its start date.
    for generator in (_rrule_of(rule, end.date() - dt.timedelta(days=2)), _rrule_of(rule)):
        local = generator.before(end, inc=True)
        while local is not None:
            instant = to_instant(local, tz)
            if instant <= at and _within_until(rule, instant):
                return instant
            local = generator.before(local)
    return None


def has_occurrence_soon(rule: Rule, after: dt.datetime) -> bool:
    """Whether an rrule fires after ``after`` within its search horizon (bounded work, for input checks)."""
    tz = rule.tz
    parsed = rule.parsed
    # Every 7n days is always the start date's weekday: another BYDAY never matches.
    if (
        parsed.freq == rr.DAILY
        and parsed.interval % 7 == 0
        and parsed.byweekday is not None
        and rule.start_date.weekday() not in {d.weekday for d in parsed.byweekday}
    ):
        return False
    start = _local(after, tz) - dt.timedelta(days=1)
    bounded = rule.parsed.dateutil_rule(rule.dtstart, bound=start + search_horizon(rule.parsed), near=start)
    for local in bounded.xafter(start, inc=True):
        instant = to_instant(local, tz)
        if not _within_until(rule, instant):
            return False
        if instant > after:
            return True
    return False


@lru_cache(maxsize=65_536)
def _next_occurrence(rule: Rule, after: dt.datetime) -> dt.datetime | None:
    tz = rule.tz
    if rule.frequency == "rrule":
        return _rrule_next(rule, after)
    if rule.frequency == "once":
        instant = to_instant(dt.datetime.combine(rule.start_date, rule.time), tz)
        return instant if instant > after else None
    local = _local(after, tz)
    # No earlier date can fire after ``after``: its local time is before ``local``, and even a
    # nonexistent one only moves to the end of its gap, which is not after ``local`` either.
    for day in _matching_dates(rule, local.date()):
        instant = to_instant(dt.datetime.combine(day, rule.time), tz)
        # Instants grow with dates; the first one after ``after`` is the answer. (``after`` may
        # lie in the second pass of a fall-back hour: today's time just after it then maps, at
        # fold=0, to its first pass, which is already over, and the loop moves on.)
        if instant > after:
            return instant
    raise RuntimeError("no occurrence found")  # pragma: no cover


def latest_occurrence(rule: Rule, at: dt.datetime) -> dt.datetime | None:
    """The last occurrence at or before the instant ``at``, or None when none is."""
    tz = rule.tz
    if rule.frequency == "rrule":
        return _rrule_latest(rule, at)
    if rule.frequency == "once":
        instant = to_instant(dt.datetime.combine(rule.start_date, rule.time), tz)
        return instant if instant <= at else None
    local = _local(at, tz)
    latest = None
    for day in _matching_dates(rule, local.date() - _LONGEST_PERIOD):
        instant = to_instant(dt.datetime.combine(day, rule.time), tz)
        if instant > at:
            break
        latest = instant
    return latest


def occurrences(rule: Rule, after: dt.datetime, count: int) -> Iterator[dt.datetime]:
    """Up to ``count`` successive occurrences strictly after ``after``."""
    current: dt.datetime | None = after
    for _ in range(count):
        assert current is not None
        current = next_occurrence(rule, current)
        if current is None:
            return
        yield current


def upcoming(rule: Rule, next_fire_at: dt.datetime | None, count: int) -> list[dt.datetime]:
    """The next ``count`` instants a reminder fires at, as the scheduler fires them.

    The scheduler fires ``next_fire_at`` and then moves to ``next_occurrence`` of the instant it
    fired (:func:`fire`); this walks the same chain.
    """
    if next_fire_at is None or count < 1:
        return []
    return [next_fire_at, *occurrences(rule, next_fire_at, count - 1)]


@dataclass(frozen=True, slots=True)
class Firing:
    """What the scheduler does with one due reminder."""

    occurrence_at: dt.datetime  # the notification's occurrence
    next_fire_at: dt.datetime | None  # None: nothing left (a fired ``once``)


def fire(rule: Rule, due_at: dt.datetime, now: dt.datetime, *, coalesce: bool) -> Firing:
    """Fire the occurrence due at ``due_at`` (≤ ``now``) and say when the reminder fires next.

    With ``coalesce``, occurrences missed during downtime collapse into one notification for
    the latest of them, and the next one is in the future. Without it, the due occurrence fires
    and the next (possibly also past) one is returned, so missed occurrences are caught up one
    per scheduler pass.
    """
    following = next_occurrence(rule, due_at)
    if not coalesce or following is None or following > now:
        return Firing(due_at, following)
    latest = latest_occurrence(rule, now)
    occurrence = latest if latest is not None and latest > due_at else due_at
    return Firing(occurrence, next_occurrence(rule, max(occurrence, now)))


def first_fire_at(rule: Rule, now: dt.datetime) -> dt.datetime | None:
    """``next_fire_at`` for a new or edited active reminder: its first occurrence after ``now``."""
    return next_occurrence(rule, now)


def today_in(timezone: str, now: dt.datetime) -> dt.date:
    return now.astimezone(zone(timezone)).date()
