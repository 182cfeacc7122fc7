"""The launcher's "already at head?" check (``daybook_common.revisions``) agrees with Alembic.

``daybook up`` skips Alembic when :func:`behind` finds every history at its head, so the heads
read from the revision files must be Alembic's own, and a history one revision back, or never
migrated, must be reported as behind (Alembic then runs as before).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from daybook_common.migrations import alembic_config, head_revision
from daybook_common.revisions import UnreadableHistory, behind, script_head, script_heads, script_history
from daybook_deploy.services import MIGRATING, script_location
from daybook_devtools.testing.databases import TestDatabase

HISTORIES = {spec.schema: script_location(spec) for spec in MIGRATING if spec.schema}


@pytest.mark.parametrize("schema", sorted(HISTORIES))
def test_heads_are_alembics(schema: str) -> None:
    location = HISTORIES[schema]
    assert script_heads(location) == {head_revision(location)}


@pytest.mark.parametrize("schema", sorted(HISTORIES))
def test_a_served_services_history_is_alembics(schema: str) -> None:
    """What a served process's ``/ready`` compares with (head, known revisions) without Alembic."""
    from alembic.script import ScriptDirectory

    location = HISTORIES[schema]
    script = ScriptDirectory.from_config(alembic_config(location, "postgresql://x@localhost/x", schema))
    assert script_head(location) == head_revision(location)
    assert set(script_history(location)) == {r.revision for r in script.walk_revisions()}


def test_a_branch_has_two_heads_and_a_merge_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    versions = tmp_path / "pkg_revisions_test" / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "pkg_revisions_test" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    files = {
        "a.py": 'revision = "a"\ndown_revision = None\n',
        "b.py": 'revision: str = "b"\ndown_revision: str | None = "a"\n',
        "c.py": 'revision = "c"\ndown_revision = "a"\n',
    }
    for name, text in files.items():
        (versions / name).write_text(text)
    location = "pkg_revisions_test:migrations"
    assert script_heads(location) == {"b", "c"}
    with pytest.raises(UnreadableHistory):
        script_head(location)
    (versions / "d.py").write_text('revision = "d"\ndown_revision = ("b", "c")\n')
    assert script_heads(location) == {"d"}
    assert script_head(location) == "d"
    assert script_history(location)["d"] == {"b", "c"}
    (versions / "e.py").write_text('revision = make()\ndown_revision = "d"\n')
    with pytest.raises(UnreadableHistory):
        script_heads(location)


def test_behind_lists_what_is_not_at_head(fresh_database: TestDatabase) -> None:
    db = fresh_database
    dsn = db.admin_dsn()
    assert sorted(asyncio.run(behind(dsn, HISTORIES))) == sorted(HISTORIES)  # nothing migrated yet
    for schema, location in HISTORIES.items():
        db.migrate(schema, location)
    assert asyncio.run(behind(dsn, HISTORIES)) == []
    db.downgrade("journal", HISTORIES["journal"], "-1")
    assert asyncio.run(behind(dsn, HISTORIES)) == ["journal"]
    db.migrate("journal", HISTORIES["journal"])
    assert asyncio.run(behind(dsn, HISTORIES)) == []
