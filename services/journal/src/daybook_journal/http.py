"""Query-string values the journal's endpoints share (the HTTP conventions live in
:mod:`daybook_common.http`)."""

from __future__ import annotations

import datetime
from typing import Any

from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema

from daybook_common.errors import Invalid
from daybook_common.instants import check_instant

#: ``schema_extra`` of a query parameter read by :func:`parse_instant`: what it accepts, documented.
DAY_OR_INSTANT: dict[str, Any] = {
    "one_of": [
        Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE),
        Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME),
    ]
}


def parse_instant(value: str | None, field: str, end_of_day: bool = False) -> datetime.datetime | None:
    """A query-string instant: RFC 3339 with an offset, or a ``YYYY-MM-DD`` day (UTC).

    A bare day means its first instant, or with ``end_of_day`` its last one (so
    ``to=2026-01-31`` includes all of January 31st).
    """
    if value is None:
        return None
    text = value.strip()
    if len(text) == 10:
        try:
            day = datetime.date.fromisoformat(text)
        except ValueError:
            raise Invalid(field, "expected YYYY-MM-DD or an RFC 3339 timestamp") from None
        start = datetime.datetime.combine(day, datetime.time(), datetime.UTC)
        return start + datetime.timedelta(days=1, microseconds=-1) if end_of_day else start
    try:
        instant = datetime.datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise Invalid(field, "expected YYYY-MM-DD or an RFC 3339 timestamp") from None
    if instant.tzinfo is None:
        raise Invalid(field, "a timestamp needs an offset, e.g. Z or +02:00")
    return check_instant(instant, field)
