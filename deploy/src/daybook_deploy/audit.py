"""``daybook audit --user ID [--since WHEN]``: one user's audit trail across every service, for an operator.

Reads each schema's ``audit_log`` (see :mod:`daybook_common.audit`) with the admin URL the other
commands use (``DATABASE_URL``, or the embedded server), merges them by time and prints one line per
change: time, service, operation, table, row id, changed columns, acting user and request id. Rows
the user acted on (``user_id``) and rows the user did to others (``actor_id``: an admin's actions)
both belong to their trail.  Never a value: the log holds none.
"""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from daybook_deploy.config import StackConfig
from daybook_deploy.launcher import admin_database_url
from daybook_deploy.operations import admin_database
from daybook_deploy.services import MIGRATING

TRAIL = """
SELECT at, table_name, row_id, op, changed, user_id, actor_id, request_id
FROM "{schema}".audit_log
WHERE (user_id = $1 OR actor_id = $1) AND at >= $2
ORDER BY at, id
"""


@dataclass(frozen=True)
class Change:
    at: datetime.datetime
    service: str
    op: str
    table: str
    row_id: uuid.UUID
    changed: tuple[str, ...]
    user_id: uuid.UUID
    actor_id: uuid.UUID | None
    request_id: str | None

    def line(self, subject: uuid.UUID) -> str:
        actor = (
            "system"
            if self.actor_id is None
            else ("self" if self.actor_id == subject else str(self.actor_id))
        )
        owner = "" if self.user_id == subject else f" of {self.user_id}"
        columns = f" [{', '.join(self.changed)}]" if self.changed else ""
        request = f" request={self.request_id}" if self.request_id else ""
        stamp = self.at.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return f"{stamp} {self.service:<9} {self.op:<7} {self.table}/{self.row_id}{owner}{columns} by {actor}{request}"


async def trail(admin_url: str, database: str, user_id: uuid.UUID, since: datetime.datetime) -> list[Change]:
    """Every service's audit rows of ``user_id`` since ``since``, oldest first."""
    conn = await asyncpg.connect(admin_database_url(admin_url, database), timeout=10)
    try:
        changes: list[Change] = []
        for spec in MIGRATING:
            schema = spec.schema
            if schema is None or not await conn.fetchval("SELECT to_regclass($1)", f'"{schema}".audit_log'):
                continue
            for row in await conn.fetch(TRAIL.format(schema=schema), user_id, since):
                changes.append(
                    Change(
                        at=row["at"],
                        service=spec.name,
                        op=row["op"],
                        table=row["table_name"],
                        row_id=row["row_id"],
                        changed=tuple(row["changed"] or ()),
                        user_id=row["user_id"],
                        actor_id=row["actor_id"],
                        request_id=row["request_id"],
                    )
                )
        return sorted(changes, key=lambda change: change.at)
    finally:
        await conn.close()


def parse_since(text: str | None, now: datetime.datetime | None = None) -> datetime.datetime:
    """``--since``: an RFC 3339 time, a date (UTC midnight), or ``<N>d``/``<N>h`` ago; default: all."""
    now = now or datetime.datetime.now(datetime.UTC)
    if text is None:
        return datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    if text[:-1].isdigit() and text[-1] in "dh":
        unit = "days" if text[-1] == "d" else "hours"
        return now - datetime.timedelta(**{unit: int(text[:-1])})
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def print_trail(
    config: StackConfig, user_id: uuid.UUID, since: datetime.datetime, out: Callable[[str], None]
) -> int:
    """Print the trail; the number of changes printed."""
    with admin_database(config, out) as admin:
        changes = asyncio.run(trail(admin, config.database, user_id, since))
    for change in changes:
        out(change.line(user_id))
    return len(changes)


__all__ = ["Change", "parse_since", "print_trail", "trail"]
