"""The instants a client may send: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z in UTC.

RFC 3339 allows ``0001-01-01T00:00:00+01:00`` (year 0 in UTC) and ``9999-12-31T23:59:59-01:00``
(year 10000), and PostgreSQL stores both, but Python cannot represent them in UTC: converting
one raised ``OverflowError`` (a 500), and a stored one could not be read back.  Every instant in
a request body (:class:`daybook_common.strict_body.StrictBodyRequest`) and in a date-time query
parameter (:mod:`daybook_common.strict_query`) is checked here: outside the range it is a 422
naming the field.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Annotated, Any

import msgspec

from daybook_common.errors import Invalid

MIN_INSTANT = datetime.datetime.min.replace(tzinfo=datetime.UTC)
MAX_INSTANT = datetime.datetime.max.replace(tzinfo=datetime.UTC)
#: The rule in words, for messages and the OpenAPI document.
RANGE = "from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z once converted to UTC"
OUT_OF_RANGE = f"an instant {RANGE}"

#: An RFC 3339 timestamp with an offset (naive timestamps are rejected), within the range.
AwareDatetime = Annotated[
    datetime.datetime, msgspec.Meta(tz=True, description=f"RFC 3339 with an offset, {RANGE}")
]


def in_range(value: datetime.datetime) -> bool:
    """Whether ``value`` has a UTC instant Python can represent (a naive value is not an instant)."""
    if value.utcoffset() is None:
        return True
    try:
        value.astimezone(datetime.UTC)
    except OverflowError:
        return False
    return True


def check_instant(value: datetime.datetime, field: str) -> datetime.datetime:
    """``value`` unchanged, or :class:`Invalid` naming ``field`` when it is outside the range."""
    if not in_range(value):
        raise Invalid(field, OUT_OF_RANGE)
    return value


def out_of_range(value: Any, path: str = "") -> Iterator[str]:
    """The paths (``sessions[0].started_at``) of the instants outside the range inside a decoded body."""
    if isinstance(value, datetime.datetime):
        if not in_range(value):
            yield path
    elif isinstance(value, msgspec.Struct):
        encoded = getattr(value, "__struct_encode_fields__", value.__struct_fields__)
        for name, key in zip(value.__struct_fields__, encoded, strict=True):
            yield from out_of_range(getattr(value, name), f"{path}.{key}" if path else key)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from out_of_range(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from out_of_range(item, f"{path}.{key}" if path else str(key))


__all__ = [
    "MAX_INSTANT",
    "MIN_INSTANT",
    "RANGE",
    "AwareDatetime",
    "check_instant",
    "in_range",
    "out_of_range",
]
