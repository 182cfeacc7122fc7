"""Reusable field constraints for request and response schemas (msgspec ``Annotated`` aliases)."""

from __future__ import annotations

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

__all__ = ["DayName", "Days", "Frequency", "LocalTime", "Message", "RRuleText", "TimezoneName", "Title"]
