"""Reusable field constraints for request and response schemas (msgspec ``Annotated`` aliases)."""

from __future__ import annotations

import datetime
from typing import Annotated

import msgspec

from daybook_common.text import multi_line, single_line
from daybook_reminders.db.models import MESSAGE_MAX_LENGTH, TIMEZONE_MAX_LENGTH, TITLE_MAX_LENGTH
from daybook_reminders.recurrence import DayName, Frequency, timezone_names
from daybook_reminders.rrules import MAX_LENGTH as RRULE_MAX_LENGTH
from daybook_reminders.rrules import PATTERN as RRULE_PATTERN

Title = Annotated[
    str,
    single_line(
        min_length=1,
        max_length=TITLE_MAX_LENGTH,
        not_blank=True,
        description=(
            f"1..{TITLE_MAX_LENGTH} characters, not blank, one line without control or bidirectional "
            "formatting characters"
        ),
        examples=["Take vitamins"],
    ),
]
Message = Annotated[
    str,
    multi_line(
        max_length=MESSAGE_MAX_LENGTH,
        description=f"0..{MESSAGE_MAX_LENGTH} characters; no control character but tab and line breaks",
    ),
]
LocalTime = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local wall-clock time HH:MM (24 h) in the reminder's time zone",
        examples=["08:30"],
    ),
]
TimezoneName = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=TIMEZONE_MAX_LENGTH,
        description="IANA time zone name (tz database)",
        examples=["Europe/Berlin"],
        extra_json_schema={"extra": {"enum": sorted(timezone_names())}},
    ),
]
Days = Annotated[
    list[DayName],
    msgspec.Meta(
        max_length=7, description="Days for frequency custom (required then, not allowed otherwise)"
    ),
]

#: The days a schedule may start on (the service answers 422 outside them).
MIN_START_DATE = datetime.date(1970, 1, 1)
MAX_START_DATE = datetime.date(2999, 12, 31)
#: ``MIN_START_DATE..MAX_START_DATE`` as a pattern of the ISO date, so the document states the range.
START_DATE_PATTERN = r"^(19[7-9][0-9]|2[0-9]{3})-"
StartDate = Annotated[
    datetime.date,
    msgspec.Meta(
        description=f"The first day of the schedule, {MIN_START_DATE} to {MAX_START_DATE}",
        extra_json_schema={"extra": {"pattern": START_DATE_PATTERN}},
    ),
]

RRuleText = Annotated[
    str,
    msgspec.Meta(
        max_length=RRULE_MAX_LENGTH,
        pattern=RRULE_PATTERN,
        description=(
            "RFC 5545 recurrence rule for frequency rrule (required then, not allowed otherwise): "
            "parts FREQ (DAILY, WEEKLY, MONTHLY, YEARLY), INTERVAL, BYDAY (ordinals such as -1FR "
            "with MONTHLY/YEARLY), BYMONTHDAY, BYMONTH, BYSETPOS, COUNT or UNTIL (YYYYMMDD or "
            "YYYYMMDDTHHMMSSZ), upper case, separated by ';'; DTSTART is start_date at time"
        ),
        examples=["FREQ=MONTHLY;BYDAY=-1FR", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"],
    ),
]

__all__ = [
    "MAX_START_DATE",
    "MIN_START_DATE",
    "START_DATE_PATTERN",
    "DayName",
    "Days",
    "Frequency",
    "LocalTime",
    "Message",
    "RRuleText",
    "StartDate",
    "TimezoneName",
    "Title",
]
