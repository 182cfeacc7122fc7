"""Internal export parts: one kind of the caller's data, streamed as a JSON array.

``GET /api/v1/users/me/export`` is assembled by the gateway (``daybook_gateway.export``): for
each file of the zip it asks the service that owns the data for ``GET /internal/v1/export/<kind>``
with the caller's own access token.  ``/internal/…`` is under none of the prefixes the gateway
routes, so a part cannot be fetched from outside; inside, the token decides whose rows, and
row-level security holds as for any request.

A part is a JSON array with **one item per line**: ``[`` and a newline, the items separated by
``,`` and a newline, a newline and ``]`` and a newline.  A JSON text never holds a raw newline
inside a string, so the gateway counts the items by counting lines (:func:`item_count`) while it
streams them into the zip, without parsing them.

Rows are read with a server-side cursor, :data:`BATCH_ROWS` at a time, in one read-only
transaction (one consistent snapshot of the part), so a part of any size costs a batch of
memory.  A slow client slows the reads down (back-pressure through the gateway);
:data:`STATEMENT_TIMEOUT` bounds how long that may take.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

EXPORT_PATH = "/internal/v1/export"
BATCH_ROWS = 100  # rows per fetch and per chunk: a few hundred KB even for encrypted entries
#: How long one part's read may take, a slow client included (the service default is 15 s).
STATEMENT_TIMEOUT = "600s"
_OPEN, _SEPARATOR, _CLOSE, _CLOSE_EMPTY = b"[\n", b",\n", b"\n]\n", b"]\n"

_encoder = msgspec.json.Encoder()


def item_count(newlines: int) -> int:
    """The number of items in a part that holds ``newlines`` newline bytes (see the module)."""
    return max(0, newlines - 2)


def row_dict(row: sa.Row[Any]) -> dict[str, Any]:
    """A row as it is exported when its columns need no reshaping (uuid, timestamps, bytes: msgspec)."""
    return dict(row._mapping)


@dataclass(frozen=True)
class ExportKind:
    """One file of the export: the caller's rows of one kind, in a stable order."""

    name: str
    query: Callable[[uuid.UUID], Executable]
    shape: Callable[[sa.Row[Any]], Any] = row_dict


#: Bookkeeping columns that are no data of the user's (``activities_json``: journal sessions' cache
#: of their instances and values, which are exported from their own tables).
INTERNAL_COLUMNS = frozenset({"version", "priority_rank", "deletion_id", "activities_json"})


def table_kind(
    table: sa.Table, name: str | None = None, skip: Collection[str] = INTERNAL_COLUMNS
) -> ExportKind:
    """Every row of the caller in ``table`` (its ``user_id``), the columns as stored, in primary-key order."""
    columns = [c for c in table.columns if c.name not in skip]
    return ExportKind(
        name or table.name,
        lambda user_id: (
            sa.select(*columns).where(table.c.user_id == user_id).order_by(*table.primary_key.columns)
        ),
    )


def kinds_by_name(*kinds: ExportKind) -> dict[str, ExportKind]:
    return {kind.name: kind for kind in kinds}


async def stream_part(engine: AsyncEngine, kind: ExportKind, user_id: uuid.UUID) -> AsyncIterator[bytes]:
    """The part's bytes (see the module for the framing), a batch of rows per chunk."""
    async with engine.connect() as connection, connection.begin():
        await connection.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        await connection.execute(
            sa.text(
                "SELECT set_config('app.user_id', :uid, true), set_config('statement_timeout', :timeout, true)"
            ),
            {"uid": str(user_id), "timeout": STATEMENT_TIMEOUT},
        )
        result = await connection.stream(kind.query(user_id), execution_options={"yield_per": BATCH_ROWS})
        yield _OPEN
        first = True
        encode = _encoder.encode
        async for rows in result.partitions(BATCH_ROWS):
            if not first:
                yield _SEPARATOR
            yield _SEPARATOR.join([encode(kind.shape(row)) for row in rows])
            first = False
    yield _CLOSE_EMPTY if first else _CLOSE


__all__ = [
    "EXPORT_PATH",
    "ExportKind",
    "item_count",
    "kinds_by_name",
    "row_dict",
    "stream_part",
    "table_kind",
]
