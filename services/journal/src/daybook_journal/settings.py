"""Journal settings: environment variables with the `JOURNAL_` prefix, read in create_app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from daybook_common.service import CommonSettings
from daybook_common.settings import Env, SettingsError
from daybook_journal import SCHEMA

PREFIX = "JOURNAL_"
DEFAULT_DATABASE_URL = "postgresql://journal:journal@127.0.0.1:15432/daybook"


_KEPT_DAYS = {"revision_retention_days": 90, "audit_retention_days": 400}


@dataclass(frozen=True)
class JournalSettings:
    #: Soft-deleted entries and tasks older than this are hard-deleted by the retention job.
    trash_retention_days: int = 30
    #: Run the retention job inside the app every N seconds (0 = never; use the CLI/cron instead).
    trash_purge_interval_seconds: float = 3600.0
    #: How long an ``Idempotency-Key`` is remembered.
    idempotency_ttl_hours: int = 24
    #: Entry revisions are kept this long after a change replaced them.
    revision_retention_days: int = 90
    #: Audit-trail rows (``audit_log``) are kept this long.
    audit_retention_days: int = 400
    #: Serve ``GET /entries`` with only ``limit``/``cursor``, a goal's tree and a tree's sessions page
    #: in front of Litestar (same responses; see :mod:`daybook_journal.hot_reads`).  ``false`` is
    #: the kill switch.
    list_fast_path: bool = True

    @classmethod
    def from_env(cls, env: Env) -> JournalSettings:
        retention = env.int("TRASH_RETENTION_DAYS", 30)
        if retention < 0:
            raise SettingsError(f"{env.name('TRASH_RETENTION_DAYS')} must be >= 0")
        interval = env.float("TRASH_PURGE_INTERVAL_SECONDS", 3600.0)
        if interval < 0:
            raise SettingsError(f"{env.name('TRASH_PURGE_INTERVAL_SECONDS')} must be >= 0")
        ttl = env.int("IDEMPOTENCY_TTL_HOURS", 24)
        if ttl < 1:
            raise SettingsError(f"{env.name('IDEMPOTENCY_TTL_HOURS')} must be >= 1")
        kept = {name: env.int(name.upper(), default) for name, default in _KEPT_DAYS.items()}
        for name, days in kept.items():
            if days < 1:
                raise SettingsError(f"{env.name(name.upper())} must be >= 1")
        return cls(
            **kept,
            trash_retention_days=retention,
            trash_purge_interval_seconds=interval,
            idempotency_ttl_hours=ttl,
            list_fast_path=env.bool("LIST_FAST_PATH", True),
        )


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    journal: JournalSettings = JournalSettings()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(PREFIX, environ)
        return cls(
            common=CommonSettings.from_env(env, "journal", SCHEMA, DEFAULT_DATABASE_URL),
            journal=JournalSettings.from_env(env),
        )
