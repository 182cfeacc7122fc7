"""Is a history already at its head?  Answered without importing Alembic or SQLAlchemy.

``daybook up`` on a warm data dir finds every history at its head; importing Alembic (and the
SQLAlchemy it needs) and running ``upgrade head`` three times to learn that cost the launcher
~0.6 s of CPU beside the services' own imports (issue 23, case 15).  :func:`script_heads` reads
the revision files' ``revision``/``down_revision`` assignments with :mod:`ast` (the files are not
executed) and :func:`behind` compares them with each ``alembic_version`` table in one query per
schema; whatever is not plainly at its head goes to Alembic as before.  A test checks that these
heads are Alembic's own for every service.

A served service reads its head and known revisions here too (for ``/ready``,
:mod:`daybook_common.health`): Alembic, with Mako and Pygments, stays out of its memory.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

VERSION_TABLE = "alembic_version"


class UnreadableHistory(ValueError):
    """A revision file this reader does not understand (Alembic decides then)."""


def versions_dir(script_location: str) -> Path:
    """``daybook_journal.db:migrations`` → the ``versions`` directory inside that package."""
    package, _, path = script_location.partition(":")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UnreadableHistory(f"{package} is not a package")
    return Path(next(iter(spec.submodule_search_locations))) / path / "versions"


def _assigned(tree: ast.Module) -> dict[str, object]:
    found: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in {"revision", "down_revision"}:
            found[target.id] = ast.literal_eval(value)
    return found


def script_history(script_location: str) -> dict[str, frozenset[str]]:
    """Every revision of the history and the revisions it names as its ``down_revision``."""
    history: dict[str, frozenset[str]] = {}
    for file in sorted(versions_dir(script_location).glob("*.py")):
        try:
            found = _assigned(ast.parse(file.read_bytes(), str(file)))
        except (SyntaxError, ValueError, TypeError) as exc:
            raise UnreadableHistory(f"{file}: {exc}") from exc
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str):
            raise UnreadableHistory(f"{file}: no literal revision")
        if isinstance(down, str):
            history[revision] = frozenset({down})
        elif isinstance(down, (tuple, list)) and all(isinstance(d, str) for d in down):
            history[revision] = frozenset(down)
        elif down is None:
            history[revision] = frozenset()
        else:
            raise UnreadableHistory(f"{file}: down_revision is {down!r}")
    if not history:
        raise UnreadableHistory(f"no revisions in {versions_dir(script_location)}")
    return history


def script_heads(script_location: str) -> frozenset[str]:
    """The revisions no other revision of the history names as its ``down_revision``."""
    history = script_history(script_location)
    return frozenset(history) - frozenset().union(*history.values())


def script_head(script_location: str) -> str:
    """The history's one head (Alembic's ``get_current_head``); a branched history is unreadable."""
    heads = script_heads(script_location)
    if len(heads) != 1:
        raise UnreadableHistory(f"{script_location} has {len(heads)} heads: {sorted(heads)}")
    return next(iter(heads))


async def applied(connection: asyncpg.Connection, schema: str) -> frozenset[str] | None:
    """The revisions in ``schema``'s version table; ``None`` if it cannot be read (no table yet)."""
    if not schema.replace("_", "").isalnum():
        raise ValueError(f"not a safe schema name: {schema!r}")
    try:
        rows = await connection.fetch(f'SELECT version_num FROM "{schema}".{VERSION_TABLE}')
    except asyncpg.PostgresError:
        return None
    return frozenset(row[0] for row in rows)


async def current_revision(connection: asyncpg.Connection | AsyncConnection, schema: str) -> str | None:
    """The applied revision, read with a raw asyncpg connection or SQLAlchemy async connection;
    ``None`` if it cannot be read."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncConnection

    sql = f'SELECT version_num FROM "{schema}".{VERSION_TABLE}'  # schema is a fixed identifier
    revision: str | None
    try:
        if isinstance(connection, AsyncConnection):
            revision = (await connection.execute(text(sql))).scalar_one_or_none()
        else:
            revision = await connection.fetchval(sql)
    except Exception:
        return None
    return revision


async def behind(dsn: str, histories: Mapping[str, str]) -> list[str]:
    """The schemas (of ``{schema: script_location}``) whose database is not exactly at the head.

    An unreadable history or version table counts as behind: Alembic then decides (and reports).
    """
    connection = await asyncpg.connect(dsn)
    try:
        pending: list[str] = []
        for schema, location in histories.items():
            try:
                heads = script_heads(location)
            except UnreadableHistory:
                pending.append(schema)
                continue
            if await applied(connection, schema) != heads:
                pending.append(schema)
        return pending
    finally:
        await connection.close()
