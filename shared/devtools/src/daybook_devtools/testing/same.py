"""Two apps, one request, the same answer: how a fast path is checked against the path it skips."""

from __future__ import annotations

from collections.abc import Mapping

import httpx


def assert_same_answer(a: httpx.Response, b: httpx.Response, what: object) -> None:
    """Status, body bytes and headers in order (all but ``date``) are equal; ``what`` names the case."""
    assert a.status_code == b.status_code, (what, a.text, b.text)
    assert a.content == b.content, (what, a.text, b.text)
    assert [(k, v) for k, v in a.headers.multi_items() if k != "date"] == [
        (k, v) for k, v in b.headers.multi_items() if k != "date"
    ], what


async def same_answer(
    fast: httpx.AsyncClient, slow: httpx.AsyncClient, url: str, headers: Mapping[str, str]
) -> httpx.Response:
    """``GET url`` from both clients with the same request id; asserts :func:`assert_same_answer`
    and returns ``fast``'s response."""
    headers = {"X-Request-ID": "same-id", **headers}
    a = await fast.get(url, headers=headers)
    b = await slow.get(url, headers=headers)
    assert_same_answer(a, b, url)
    return a
