"""``manifest.json`` of a ``daybook backup``: what a backup holds and how to check it is whole.

A backup directory holds one PostgreSQL custom-format dump per schema and this manifest,
written last: a directory without one is an unfinished backup and is never restored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT = 1
EVENTS_NOTE = (
    "JetStream state is not saved: every event is an outbox row of its producer's schema, in this "
    "backup. A restore marks the outbox rows that were already published as unpublished, so the "
    "relays publish them again; consumers skip those they handled (their inbox is in the same "
    "snapshot and keeps ids longer than the outbox keeps published rows)."
)


class BackupError(RuntimeError):
    """A backup could not be taken, or a backup is refused; the message says why."""


@dataclass
class SchemaDump:
    service: str
    schema: str
    revision: str | None
    """The schema's Alembic revision in the snapshot (``None``: never migrated)."""
    file: str
    sha256: str
    bytes: int
    tables: dict[str, int]
    """Rows per table, counted in the dump's snapshot."""

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@dataclass
class Manifest:
    created_at: str
    server_version: str
    pg_dump_version: str
    database: str
    schemas: list[SchemaDump]
    format: int = FORMAT
    events: str = EVENTS_NOTE
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def schema(self, name: str) -> SchemaDump | None:
        return next((s for s in self.schemas if s.schema == name), None)

    def write(self, directory: Path) -> Path:
        path = directory / MANIFEST
        partial = directory / f".{MANIFEST}.partial"
        partial.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        partial.replace(path)  # the manifest appears whole or not at all
        return path

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        if not directory.is_dir():
            raise BackupError(f"{directory} is not a directory")
        if not path.exists():
            raise BackupError(f"{directory} has no {MANIFEST}: not a Daybook backup, or an unfinished one")
        try:
            data = json.loads(path.read_text())
            if data.get("format") != FORMAT:
                raise BackupError(
                    f"{path}: backup format {data.get('format')!r}, this daybook reads format {FORMAT}"
                )
            schemas = [SchemaDump(**item) for item in data.pop("schemas")]
            return cls(schemas=schemas, **data)
        except BackupError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise BackupError(f"{path} is damaged or not a Daybook backup manifest ({exc})") from None


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify_files(directory: Path, manifest: Manifest) -> None:
    """Every file the manifest lists exists, has its size and its sha256; else :class:`BackupError`."""
    problems: list[str] = []
    for dump in manifest.schemas:
        path = directory / dump.file
        if Path(dump.file).name != dump.file:
            problems.append(f"{dump.file}: not a file name inside the backup")
        elif not path.is_file():
            problems.append(f"{dump.file} is missing")
        elif sha256_of(path) != dump.sha256:
            problems.append(
                f"{dump.file}: sha256 differs from the manifest's (the file is damaged or was changed)"
            )
    if problems:
        raise BackupError("backup refused: " + "; ".join(problems) + "; nothing was restored")
