"""The range of instants a client may send (:mod:`daybook_common.instants`)."""

from __future__ import annotations

import datetime

import msgspec
import pytest

from daybook_common.errors import Invalid
from daybook_common.instants import (
    MAX_INSTANT,
    MIN_INSTANT,
    AwareDatetime,
    check_instant,
    in_range,
    out_of_range,
)


def _at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("text", "inside"),
    [
        ("0001-01-01T00:00:00+00:00", True),
        ("0001-01-01T00:59:59.999999+01:00", False),
        ("0001-01-01T01:00:00+01:00", True),
        ("9999-12-31T23:59:59.999999+00:00", True),
        ("9999-12-31T22:59:59.999999-01:00", True),
        ("9999-12-31T23:00:00-01:00", False),
        ("9999-12-31T23:59:59", True),  # naive: not an instant, the schema refuses it
    ],
)
def test_in_range(text: str, inside: bool) -> None:
    assert in_range(_at(text)) is inside
    if not inside:
        with pytest.raises(Invalid) as caught:
            check_instant(_at(text), "due_at")
        assert caught.value.field == "due_at"


def test_the_ends_are_the_first_and_last_utc_instants() -> None:
    assert (MIN_INSTANT.isoformat(), MAX_INSTANT.isoformat()) == (
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59.999999+00:00",
    )


class Inner(msgspec.Struct):
    at: AwareDatetime
    renamed: AwareDatetime | None = msgspec.field(default=None, name="when")


class Outer(msgspec.Struct):
    start: AwareDatetime
    items: list[Inner]


def test_out_of_range_names_each_bad_instant_by_its_path() -> None:
    bad, good = "0001-01-01T00:00:00+01:00", "2026-01-01T00:00:00Z"
    raw = {"start": bad, "items": [{"at": good}, {"at": bad, "when": bad}]}
    decoded = msgspec.convert(raw, Outer)
    assert list(out_of_range(decoded)) == ["start", "items[1].at", "items[1].when"]
    assert list(out_of_range(msgspec.convert({"start": good, "items": []}, Outer))) == []
