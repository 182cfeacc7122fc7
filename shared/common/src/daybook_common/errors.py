"""Domain errors: what a service module raises when a business rule says no.

Service modules (``*/services.py``) never import Litestar; they raise these, and
:mod:`daybook_common.problems` turns each into its problem+json answer in one place
(``NotFound`` → 404, ``Conflict`` → 409, ``PreconditionFailed`` → 412, ``Invalid`` → 422
naming the field, ``Unauthenticated`` → 401 with ``WWW-Authenticate``, ``Forbidden`` → 403,
``TooManyRequests`` → 429 with ``Retry-After``).
"""

from __future__ import annotations

from collections.abc import Collection


class DomainError(Exception):
    """Base of the errors a client can cause; ``detail`` is safe to show to that client."""

    default_detail = "The request cannot be served"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class NotFound(DomainError):
    """No such resource for this caller (another user's resource is "not found" too)."""

    default_detail = "Not found"


class Conflict(DomainError):
    """The change would break a uniqueness rule."""

    default_detail = "A resource with these values already exists"


class PreconditionFailed(DomainError):
    """The resource is no longer at the version the client expected (a stale ``If-Match``)."""

    default_detail = "The resource changed since you read it (If-Match does not match)"


class Invalid(DomainError):
    """One field of the request breaks a rule the schema could not express."""

    def __init__(self, field: str, message: str, detail: str = "Validation failed") -> None:
        super().__init__(detail)
        self.field = field
        self.message = message


class Unauthenticated(DomainError):
    """The caller's credentials (password, token) are missing or not valid."""

    default_detail = "Missing or invalid access token"


class Forbidden(DomainError):
    """Authenticated, but not allowed to do this."""

    default_detail = "Not allowed"


class TooManyRequests(DomainError):
    """Refused for now; the client may try again after ``retry_after`` seconds."""

    default_detail = "Too many requests; try again later"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


#: What a change expects the resource's version to be: ``None`` (no expectation, e.g. no
#: ``If-Match`` or ``If-Match: *``), one version, or any of several.
ExpectedVersion = int | Collection[int] | None


def check_version(current: int, expected: ExpectedVersion) -> None:
    """Raise :class:`PreconditionFailed` unless ``current`` is the version the caller expected."""
    if expected is None:
        return
    if isinstance(expected, int):
        if current != expected:
            raise PreconditionFailed()
    elif current not in expected:
        raise PreconditionFailed()


__all__ = [
    "Conflict",
    "DomainError",
    "ExpectedVersion",
    "Forbidden",
    "Invalid",
    "NotFound",
    "PreconditionFailed",
    "TooManyRequests",
    "Unauthenticated",
    "check_version",
]
