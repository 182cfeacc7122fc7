"""RFC 5545 recurrence rules (``frequency: "rrule"``): the subset API.md allows, parsed and checked.

A rule is text such as ``FREQ=MONTHLY;BYDAY=-1FR``. :func:`parse_rrule` validates it part by
part (so a 422 can say exactly what is wrong) and returns it in canonical form (parts in a fixed
order), which is what the database stores. Evaluation lives in :mod:`daybook_reminders.recurrence`:
the rule generates *naive local* date-times from ``DTSTART`` = the reminder's ``start_date`` at
its ``time`` and each is then mapped to an instant in the reminder's zone, exactly like the other
frequencies (DST gaps move forward, folds fire once).

``COUNT`` keeps RFC 5545's meaning: the first N occurrences from ``DTSTART`` (the start date),
so "how many have fired" is a function of the rule and the start date, not a counter the
scheduler must keep in step; occurrences coalesced after downtime count too.
``UNTIL`` is a date (``20271231``: up to that local day inclusive) or a UTC instant
(``20271231T080000Z``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from dateutil import rrule as rr

MAX_LENGTH: Final = 500
MAX_INTERVAL: Final = 99
MAX_COUNT: Final = 1000
#: dateutil's numbers for FREQ (YEARLY=0 .. DAILY=3).
DateutilFreq = Literal[0, 1, 2, 3]
FREQUENCIES: Final[dict[str, DateutilFreq]] = {
    "DAILY": rr.DAILY,
    "WEEKLY": rr.WEEKLY,
    "MONTHLY": rr.MONTHLY,
    "YEARLY": rr.YEARLY,
}
SUB_DAILY: Final = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
#: The parts accepted, in the canonical order.
PARTS: Final = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "COUNT", "UNTIL")
#: RFC 5545 signs only the numbers that may be negative ("interval = 1*DIGIT"); not these.
UNSIGNED_PARTS: Final = ("INTERVAL", "BYMONTH", "COUNT")
WEEKDAYS: Final = {"MO": rr.MO, "TU": rr.TU, "WE": rr.WE, "TH": rr.TH, "FR": rr.FR, "SA": rr.SA, "SU": rr.SU}
#: The shape of a rule (the OpenAPI ``pattern`` and the database CHECK): known parts, upper case.
PATTERN: Final = (
    r"^(FREQ|INTERVAL|BYDAY|BYMONTHDAY|BYMONTH|BYSETPOS|COUNT|UNTIL)=[0-9A-Z,+-]+"
    r"(;(FREQ|INTERVAL|BYDAY|BYMONTHDAY|BYMONTH|BYSETPOS|COUNT|UNTIL)=[0-9A-Z,+-]+)*$"
)
_BYDAY: Final = re.compile(r"^([+-]?)([0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_INT: Final = re.compile(r"^[+-]?[0-9]{1,4}$")
_UNTIL_DATE: Final = re.compile(r"^[0-9]{8}$")
_UNTIL_UTC: Final = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")
# Days each month can have (February: 29, in leap years).
_MONTH_DAYS: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class InvalidRRuleError(ValueError):
    """The rule is not one this service accepts; the message says why (it becomes the 422's)."""


@dataclass(frozen=True, slots=True)
class ParsedRule:
    """A validated rule: the ``dateutil`` arguments and its canonical text."""

    text: str
    freq: DateutilFreq
    interval: int
    byweekday: tuple[rr.weekday, ...] | None
    bymonthday: tuple[int, ...] | None
    bymonth: tuple[int, ...] | None
    bysetpos: tuple[int, ...] | None
    count: int | None
    until_date: dt.date | None  # up to this local day, inclusive
    until_instant: dt.datetime | None  # up to this UTC instant, inclusive

    def dateutil_rule(
        self, dtstart: dt.datetime, *, bound: dt.datetime | None = None, near: dt.datetime | None = None
    ) -> rr.rrule:
        """The rule from the naive local ``dtstart``; ``bound`` (naive local) caps the iteration.

        With ``near``, the rule starts a whole number of intervals after ``dtstart`` instead, at
        least one interval before ``near``, with the parts ``dtstart`` implied spelled out: the
        same occurrences from that start on, without walking every one since ``dtstart`` (dateutil
        always starts there; a daily rule from 1970 is 20,000 steps per question). Not with
        ``COUNT``, which counts from ``dtstart``.
        """
        byweekday, bymonthday, bymonth = self.byweekday, self.bymonthday, self.bymonth
        if near is not None and self.count is None and near > dtstart:
            if byweekday is None and bymonthday is None:  # dateutil's defaults from DTSTART
                if self.freq == rr.WEEKLY:
                    byweekday = (WEEKDAYS_BY_INDEX[dtstart.weekday()],)
                elif self.freq == rr.MONTHLY:
                    bymonthday = (dtstart.day,)
                elif self.freq == rr.YEARLY:
                    bymonthday = (dtstart.day,)
                    bymonth = bymonth or (dtstart.month,)
            dtstart = self._shifted_start(dtstart, near)
        until = None
        if self.until_date is not None:
            until = dt.datetime.combine(self.until_date, dt.time(23, 59, 59))
        if bound is not None:
            until = bound if until is None else min(until, bound)
        kwargs: dict[str, object] = {}
        if until is not None:
            kwargs["until"] = until
        if self.count is not None:
            kwargs["count"] = self.count
        return rr.rrule(
            self.freq,
            dtstart=dtstart,
            interval=self.interval,
            byweekday=byweekday,
            bymonthday=bymonthday,
            bymonth=bymonth,
            bysetpos=self.bysetpos,
            cache=False,
            **kwargs,  # type: ignore[arg-type]  # dateutil's stubs take each keyword separately
        )

    def _shifted_start(self, dtstart: dt.datetime, near: dt.datetime) -> dt.datetime:
        """``dtstart`` moved on by whole intervals (keeping its phase) to at least one before ``near``."""
        n = self.interval
        if self.freq in (rr.DAILY, rr.WEEKLY):
            days = 7 * n if self.freq == rr.WEEKLY else n
            steps = max((near - dtstart).days // days - 1, 0)
            return dtstart + dt.timedelta(days=steps * days)
        if self.freq == rr.MONTHLY:
            months = (near.year - dtstart.year) * 12 + near.month - dtstart.month
            steps = max(months // n - 1, 0)
            index = dtstart.year * 12 + dtstart.month - 1 + steps * n
            return dtstart.replace(year=index // 12, month=index % 12 + 1, day=1) if steps else dtstart
        years = near.year - dtstart.year
        steps = max(years // n - 1, 0)
        return dtstart.replace(year=dtstart.year + steps * n, month=1, day=1) if steps else dtstart


WEEKDAYS_BY_INDEX: Final = tuple(WEEKDAYS.values())  # index = datetime.weekday()


def _ints(name: str, value: str, lo: int, hi: int, *, signed: bool) -> tuple[int, ...]:
    numbers = []
    for item in value.split(","):
        if not _INT.match(item):
            raise InvalidRRuleError(f"{name} takes numbers, got {item!r}")
        n = int(item)
        if not lo <= abs(n) <= hi or (n < 0 and not signed) or n == 0:
            bound = f"±{lo}..{hi}" if signed else f"{lo}..{hi}"
            raise InvalidRRuleError(f"{name} values must be {bound}, got {item}")
        numbers.append(n)
    if len(set(numbers)) != len(numbers):
        raise InvalidRRuleError(f"{name} repeats a value")
    return tuple(numbers)


def _weekdays(value: str, freq: str) -> tuple[rr.weekday, ...]:
    days = []
    for item in value.split(","):
        match = _BYDAY.match(item)
        if match is None:
            raise InvalidRRuleError(f"BYDAY takes days such as MO, 2TU or -1FR, got {item!r}")
        sign, number, day = match.groups()
        if number is None:
            if sign:
                raise InvalidRRuleError(f"BYDAY {item!r}: a sign needs an ordinal")
            days.append(WEEKDAYS[day])
            continue
        if freq not in ("MONTHLY", "YEARLY"):
            raise InvalidRRuleError("BYDAY ordinals such as -1FR need FREQ=MONTHLY or FREQ=YEARLY")
        n = int(number)
        limit = 5 if freq == "MONTHLY" else 53
        if not 1 <= n <= limit:
            raise InvalidRRuleError(f"BYDAY ordinal of {item!r} must be 1..{limit} (or negative)")
        days.append(WEEKDAYS[day](-n if sign == "-" else n))
    if len(set(days)) != len(days):
        raise InvalidRRuleError("BYDAY repeats a day")
    return tuple(days)


def _until(value: str) -> tuple[dt.date | None, dt.datetime | None]:
    try:
        if _UNTIL_DATE.match(value):
            return dt.datetime.strptime(value, "%Y%m%d").date(), None
        if _UNTIL_UTC.match(value):
            return None, dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        pass
    raise InvalidRRuleError(f"UNTIL is a date YYYYMMDD or a UTC time YYYYMMDDTHHMMSSZ, got {value!r}")


def _month_days_possible(bymonthday: tuple[int, ...], bymonth: tuple[int, ...] | None) -> bool:
    """Whether some month of ``bymonth`` (any month when None) has one of the listed days."""
    months = bymonth or tuple(range(1, 13))
    return any(abs(day) <= _MONTH_DAYS[month - 1] for month in months for day in bymonthday)


def _most_in_a_month(byweekday: tuple[rr.weekday, ...] | None, bymonthday: tuple[int, ...] | None) -> int:
    """An upper bound of a MONTHLY rule's occurrences in one month (what BYSETPOS picks from)."""
    if bymonthday is not None:
        return len(bymonthday)
    if byweekday is not None:
        return sum(1 if day.n else 5 for day in byweekday)
    return 31


def _split(text: str) -> dict[str, str]:
    if not text or len(text) > MAX_LENGTH:
        raise InvalidRRuleError(f"a rule is 1..{MAX_LENGTH} characters")
    parts: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if not sep or not value:
            raise InvalidRRuleError(f"{part!r} is not NAME=VALUE")
        if name not in PARTS:
            raise InvalidRRuleError(f"{name} is not supported (supported: {', '.join(PARTS)})")
        if name in parts:
            raise InvalidRRuleError(f"{name} appears twice")
        parts[name] = value
    return parts


@lru_cache(maxsize=4096)
def parse_rrule(text: str, *, strict: bool = True) -> ParsedRule:
    """Validate a rule and return it parsed, with its canonical text; :class:`InvalidRRuleError` if not.

    ``strict=False`` for a rule already stored: a ``+`` before an unsigned number (``INTERVAL=+2``,
    refused since) is read as the number, so rules saved before that keep firing.
    """
    parts = _split(text)
    for name in UNSIGNED_PARTS:
        if strict and "+" in parts.get(name, ""):
            raise InvalidRRuleError(f"{name} takes numbers without a sign, got {parts[name]!r}")
    freq = parts.get("FREQ")
    if freq is None:
        raise InvalidRRuleError("FREQ is required")
    if freq in SUB_DAILY:
        raise InvalidRRuleError(f"FREQ={freq} is not supported: reminders repeat daily at the most")
    if freq not in FREQUENCIES:
        raise InvalidRRuleError(f"FREQ must be one of {', '.join(FREQUENCIES)}")
    interval = (
        _ints("INTERVAL", parts["INTERVAL"], 1, MAX_INTERVAL, signed=False)[0] if "INTERVAL" in parts else 1
    )
    if "INTERVAL" in parts and "," in parts["INTERVAL"]:
        raise InvalidRRuleError("INTERVAL is one number")
    byweekday = _weekdays(parts["BYDAY"], freq) if "BYDAY" in parts else None
    bymonthday = (
        _ints("BYMONTHDAY", parts["BYMONTHDAY"], 1, 31, signed=True) if "BYMONTHDAY" in parts else None
    )
    bymonth = _ints("BYMONTH", parts["BYMONTH"], 1, 12, signed=False) if "BYMONTH" in parts else None
    bysetpos = _ints("BYSETPOS", parts["BYSETPOS"], 1, 366, signed=True) if "BYSETPOS" in parts else None
    if bymonthday is not None and freq == "WEEKLY":
        raise InvalidRRuleError("BYMONTHDAY is not allowed with FREQ=WEEKLY (RFC 5545)")
    if bysetpos is not None and byweekday is None and bymonthday is None and bymonth is None:
        raise InvalidRRuleError("BYSETPOS needs another BY part (BYDAY, BYMONTHDAY or BYMONTH)")
    # dateutil looks for the next occurrence up to the year 9999 (its UNTIL stops only a match),
    # so rules that can never match must be refused here, not by searching: a day picks one
    # date, a week at most its BYDAY days.
    if bysetpos is not None and freq == "DAILY":
        raise InvalidRRuleError("BYSETPOS is not allowed with FREQ=DAILY (a day has one occurrence)")
    if bysetpos is not None and freq == "WEEKLY" and max(map(abs, bysetpos)) > len(byweekday or ((),)):
        raise InvalidRRuleError("BYSETPOS is beyond the number of BYDAY days in a week")
    if (
        bysetpos is not None
        and freq == "MONTHLY"
        and max(map(abs, bysetpos)) > _most_in_a_month(byweekday, bymonthday)
    ):
        raise InvalidRRuleError("BYSETPOS is beyond the number of occurrences a month can have")
    if bymonthday is not None and not _month_days_possible(bymonthday, bymonth):
        raise InvalidRRuleError("no month of the rule has any of its BYMONTHDAY days")
    if "COUNT" in parts and "UNTIL" in parts:
        raise InvalidRRuleError("COUNT and UNTIL exclude each other")
    count = _ints("COUNT", parts["COUNT"], 1, MAX_COUNT, signed=False)[0] if "COUNT" in parts else None
    if "COUNT" in parts and "," in parts["COUNT"]:
        raise InvalidRRuleError("COUNT is one number")
    until_date, until_instant = _until(parts["UNTIL"]) if "UNTIL" in parts else (None, None)
    canonical = ";".join(f"{name}={parts[name]}" for name in PARTS if name in parts)
    return ParsedRule(
        text=canonical,
        freq=FREQUENCIES[freq],
        interval=interval,
        byweekday=byweekday,
        bymonthday=bymonthday,
        bymonth=bymonth,
        bysetpos=bysetpos,
        count=count,
        until_date=until_date,
        until_instant=until_instant,
    )


def search_horizon(rule: ParsedRule) -> dt.timedelta:
    """How far ahead input validation looks for a next occurrence before calling a rule empty.

    Long enough for every sensible rule (a YEARLY rule gets ten of its intervals; Feb 29 recurs
    within eight years), short enough that an impossible combination is refused quickly.
    """
    years = 10 * rule.interval if rule.freq == rr.YEARLY else 10
    return dt.timedelta(days=366 * years)


__all__ = [
    "MAX_LENGTH",
    "PATTERN",
    "InvalidRRuleError",
    "ParsedRule",
    "parse_rrule",
    "search_horizon",
]
