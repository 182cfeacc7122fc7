"""Litestar-free domain errors raised by the goals-and-practice services, and their problem+json.

Interim: ``daybook_common`` is getting the one shared set (``NotFound``, ``Conflict``,
``PreconditionFailed``, ``Invalid(field, message)``) with one mapping; these have the same
names and arguments so the switch is an import change.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from sqlalchemy.exc import DBAPIError

from daybook_common.problems import problem_response
from daybook_journal.db.errors import constraint_of


class DomainError(Exception):
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class PreconditionFailed(DomainError):
    status = 412

    def __init__(
        self, detail: str = "The resource changed since you read it (If-Match does not match)"
    ) -> None:
        super().__init__(detail)


class Invalid(DomainError):
    """One bad field → 422 with ``errors: [{field, message}]``."""

    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__("Validation failed")
        self.field = field
        self.message = message


def check_version(expected_version: int | None, version: int) -> None:
    """``If-Match``: ``None`` means no precondition."""
    if expected_version is not None and expected_version != version:
        raise PreconditionFailed()


def error_for_constraint(exc: DBAPIError, known: dict[str, DomainError]) -> DomainError | None:
    """The domain error a violated constraint means, when ``known`` names it."""
    return known.get(constraint_of(exc) or "")


def _problem(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if isinstance(exc, Invalid):
        return problem_response(422, exc.detail, errors=[{"field": exc.field, "message": exc.message}])
    return problem_response(exc.status, exc.detail)


exception_handlers: dict[Any, Any] = {DomainError: _problem}
