"""Reading which constraint a database error was about."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError


def constraint_of(exc: DBAPIError) -> str | None:
    """The violated constraint's name, from the driver's exception (asyncpg)."""
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if name:
            return str(name)
    return None
