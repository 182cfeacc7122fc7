"""One ETag scheme (the version counter): If-Match → expected version, If-None-Match → 304."""

from __future__ import annotations

import msgspec
import pytest

from daybook_common.http import (
    encode_page,
    etag,
    expected_version,
    json_response,
    none_match,
    read_response,
    stored_response,
)
from daybook_common.pagination import Page


def test_etag_is_the_quoted_version() -> None:
    assert etag(7) == '"7"'


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("*", None),
        ('"3", *', None),
        ('"3"', 3),
        (' "3" ', 3),
        ('"9", "2"', frozenset({9, 2})),
        ('"4", "4"', 4),
        ('W/"3"', frozenset()),  # weak tags never match (strong comparison)
        ("3", frozenset()),  # unquoted: malformed
        ('"abc"', frozenset()),
        ('""', frozenset()),
        ('"-1"', frozenset()),
        ('"\u00b2"', frozenset()),  # a digit to str.isdigit, not to int(): was a 500
        ('"' + "9" * 5000 + '"', frozenset()),  # past int()'s digit limit: was a 500
    ],
)
def test_if_match_becomes_the_expected_version(header: str | None, expected: object) -> None:
    assert expected_version(header) == expected


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ('"5"', True),
        ('W/"5"', True),
        ('"4", "5"', True),
        ("*", True),
        ('"4"', False),
        ("5", False),
    ],
)
def test_if_none_match_uses_the_weak_comparison(header: str | None, matches: bool) -> None:
    assert none_match(header, 5) is matches


def test_read_response_is_304_with_the_etag_when_unchanged() -> None:
    fresh = read_response({"a": 1}, 5, '"4"', headers={"Cache-Control": "no-store"})
    assert fresh.status_code == 200 and fresh.content == b'{"a":1}'
    assert fresh.headers["ETag"] == '"5"' and fresh.headers["Cache-Control"] == "no-store"
    cached = read_response({"a": 1}, 5, '"5"')
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["ETag"] == '"5"'


def test_json_and_stored_responses_are_json() -> None:
    r = json_response([1], status_code=201, version=2, headers={"Location": "/x"})
    assert (r.status_code, r.content, r.media_type) == (201, b"[1]", "application/json")
    assert r.headers == {"Location": "/x", "ETag": '"2"'}
    r = stored_response(201, b"{}", {"Idempotent-Replayed": "true"})
    assert (r.status_code, r.content, r.headers["Idempotent-Replayed"]) == (201, b"{}", "true")


def test_encoded_page_has_the_page_shape() -> None:
    assert msgspec.json.decode(encode_page([1, 2], "c")) == {"items": [1, 2], "next_cursor": "c"}
    assert encode_page([], None) == msgspec.json.encode(Page(items=[], next_cursor=None))
