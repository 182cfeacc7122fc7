"""Domain errors raised anywhere in a handler become their problem+json answers in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from daybook_common import errors
from daybook_common.problems import PROBLEM_JSON, exception_handlers, validation_error

RAISED: dict[str, errors.DomainError] = {
    "not-found": errors.NotFound("Entry not found"),
    "conflict": errors.Conflict("You already have a tag with this name"),
    "stale": errors.PreconditionFailed(),
    "invalid": errors.Invalid("start_date", "must be in the future"),
    "helper": validation_error("tag", "at most 20 tags"),
    "login": errors.Unauthenticated("Invalid email or password"),
    "admin": errors.Forbidden("Only superusers may do this"),
    "slow-down": errors.TooManyRequests(42, "Too many failed login attempts; try again later"),
}


@get("/raise/{name:str}")
async def raise_it(name: str) -> None:
    raise RAISED[name]


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = Litestar([raise_it], exception_handlers=exception_handlers)
    async with AsyncTestClient(app) as client:
        yield client


@pytest.mark.parametrize(
    ("name", "status", "detail"),
    [
        ("not-found", 404, "Entry not found"),
        ("conflict", 409, "You already have a tag with this name"),
        ("stale", 412, "The resource changed since you read it (If-Match does not match)"),
        ("login", 401, "Invalid email or password"),
        ("admin", 403, "Only superusers may do this"),
        ("slow-down", 429, "Too many failed login attempts; try again later"),
    ],
)
async def test_each_domain_error_has_its_status_and_detail(
    client: AsyncTestClient[Litestar], name: str, status: int, detail: str
) -> None:
    r = await client.get(f"/raise/{name}")
    assert r.status_code == status
    assert r.headers["content-type"] == PROBLEM_JSON
    body = r.json()
    assert body["status"] == status and body["detail"] == detail and body["type"] == "about:blank"
    assert "errors" not in body


@pytest.mark.parametrize(("name", "field"), [("invalid", "start_date"), ("helper", "tag")])
async def test_invalid_is_a_422_naming_the_field(
    client: AsyncTestClient[Litestar], name: str, field: str
) -> None:
    r = await client.get(f"/raise/{name}")
    assert r.status_code == 422
    body = r.json()
    assert body["detail"] == "Validation failed"
    assert body["errors"] == [{"field": field, "message": RAISED[name].message}]  # type: ignore[attr-defined]


async def test_unauthenticated_challenges_and_too_many_requests_says_when(
    client: AsyncTestClient[Litestar],
) -> None:
    r = await client.get("/raise/login")
    assert r.headers["www-authenticate"] == 'Bearer realm="daybook"'
    r = await client.get("/raise/slow-down")
    assert r.headers["retry-after"] == "42"
    r = await client.get("/raise/conflict")
    assert "www-authenticate" not in r.headers and "retry-after" not in r.headers


def test_check_version_accepts_none_one_or_several() -> None:
    errors.check_version(3, None)
    errors.check_version(3, 3)
    errors.check_version(3, frozenset({9, 3}))
    with pytest.raises(errors.PreconditionFailed):
        errors.check_version(3, 2)
    with pytest.raises(errors.PreconditionFailed):
        errors.check_version(3, frozenset())
