"""The body guard's cheap checks against their exact counterparts."""

from __future__ import annotations

import pytest

from daybook_common.guard import MAX_DEPTH, Refusal, check_json_body, is_json_content_type, nesting_depth


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 1),
        (b'["\\"[[[[", [[]]]', 3),
        (b"[" * 100 + b"]" * 100, MAX_DEPTH + 1),
    ],
)
def test_nesting_depth_ignores_brackets_in_strings(body: bytes, depth: int) -> None:
    assert nesting_depth(body) == depth


def test_many_shallow_brackets_pass() -> None:
    check_json_body(b"[" + b",".join([b"{}"] * 5000) + b"]")


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(Refusal) as refused:
        check_json_body(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    assert refused.value.status == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"a": "x\\u0000"}', "a"),
        (b'{"a": {"b": ["ok", "\\u0000"]}}', "a.b[1]"),
        (b'{"k\\u0000": 1}', "k"),
    ],
)
def test_nul_names_the_field(body: bytes, field: str) -> None:
    with pytest.raises(Refusal) as refused:
        check_json_body(body)
    assert refused.value.errors == [{"field": field, "message": "must not contain the NUL character"}]


def test_escaped_backslash_before_u0000_is_not_nul() -> None:
    check_json_body(b'{"a": "\\\\u0000"}')


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (b"application/json", True),
        (b"application/json; charset=utf-8", True),
        (b"Application/JSON", True),
        (b"application/merge-patch+json", True),
        (b"text/plain", False),
        (b"application/x-www-form-urlencoded", False),
        (b"application/xml", False),
        (b"application/jsonx", False),
        (None, False),
    ],
)
def test_json_content_types(value: bytes | None, ok: bool) -> None:
    assert is_json_content_type(value) is ok


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"title": "a", "title": "b"}', "title"),
        (b'{"metrics": [{"value": 1, "value": 2}]}', "value"),
        (b'{"a": 1, "\\u0061": 2}', "a"),  # the same key once decoded
        (b'{"a": {"b": 1}, "c": {"b": 2}, "a": 3}', "a"),
    ],
)
def test_a_key_twice_in_one_object_is_refused(body: bytes, field: str) -> None:
    with pytest.raises(Refusal) as refused:
        check_json_body(body)
    assert refused.value.status == 422
    assert refused.value.errors == [{"field": field, "message": "duplicate key in a JSON object"}]


@pytest.mark.parametrize(
    "body",
    [
        b'{"metrics": [{"metric_id": "m", "value": 1}, {"metric_id": "n", "value": 2}]}',
        b'{"title": "\\"title\\": x", "content": "title: \\"title\\":"}',  # keys inside strings
        b'{"a\\"b": 1, "a": 2}',
        b'{"title": "a", "title": ',  # not JSON: the app's decoder answers it
    ],
)
def test_the_same_key_in_different_objects_or_inside_strings_passes(body: bytes) -> None:
    check_json_body(body)
