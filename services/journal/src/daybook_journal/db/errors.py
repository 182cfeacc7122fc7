"""Reading which constraint a database error was about."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from daybook_common.errors import DomainError


def constraint_of(exc: DBAPIError) -> str | None:
    """The violated constraint's name, from the driver's exception (asyncpg)."""
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if name:
            return str(name)
    return None


def error_for_constraint(exc: DBAPIError, known: dict[str, DomainError]) -> DomainError | None:
    """The domain error a violated constraint means, when ``known`` names it."""
    return known.get(constraint_of(exc) or "")
