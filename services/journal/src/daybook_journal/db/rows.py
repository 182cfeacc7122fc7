"""The types of the rows the journal reads.

Two drivers hand rows back, each with its own type:

- :data:`SaRow` — ``Session.execute`` inside a request's transaction (every write, the single
  ``GET``s, the locks): a SQLAlchemy ``Row``, read by position or by attribute (``row.version``).
- :data:`Record` — the list endpoints' read pool (:mod:`daybook_journal.db.reads`): an asyncpg
  ``Record``, read by position or by name (``row["version"]``).

:data:`Row` is either, for the converters that serve both paths; they read by position only,
the one access the two share.  The journal's tables are Core tables, so the columns' own
types do not reach the rows: a column's value is still ``Any``, but a row is never ``Any``,
so reading it the way its driver does not support is a type error.

:data:`AnySelect` is a SELECT of any columns. Spell it so, not ``sa.Select[Any]``: that one
claims a single column, and mypy then loses the result's type (``execute`` gives ``Any``).
"""

from __future__ import annotations

from typing import Any, TypeAlias, TypeVar

import asyncpg
import msgspec
import sqlalchemy as sa

SaRow: TypeAlias = sa.Row[*tuple[Any, ...]]
Record: TypeAlias = asyncpg.Record
Row: TypeAlias = SaRow | Record
AnySelect: TypeAlias = sa.Select[*tuple[Any, ...]]

StructT = TypeVar("StructT", bound=msgspec.Struct)


def struct_from_row(kind: type[StructT], row: SaRow, **given: Any) -> StructT:
    """A ``kind`` whose fields are the row's columns of the same names, but for those ``given``
    (what a row does not hold, such as an aggregate's nested lists)."""
    columns = {name: getattr(row, name) for name in kind.__struct_fields__ if name not in given}
    return kind(**columns, **given)


__all__ = ["AnySelect", "Record", "Row", "SaRow", "struct_from_row"]
