"""Reminders settings: environment variables with the `REMINDERS_` prefix, read in create_app.

The scheduler reads only what it needs (:class:`SchedulerConfig`) so it starts without importing
the web stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from daybook_common.settings import Env, SettingsError
from daybook_reminders import SCHEMA

if TYPE_CHECKING:
    from daybook_common.service import CommonSettings

PREFIX = "REMINDERS_"
DEFAULT_DATABASE_URL = "postgresql://reminders:reminders@127.0.0.1:15432/daybook"
DEFAULT_STATEMENT_TIMEOUT_MS = 15_000
MAX_BATCH_SIZE = 10_000


@dataclass(frozen=True)
class SchedulerSettings:
    """The scheduler worker (``daybook-reminders-scheduler``)."""

    batch_size: int = 2000
    """REMINDERS_SCHEDULER_BATCH_SIZE: due reminders claimed and fired per transaction (was 500:
    bench case 4 with 2 schedulers fired ~1.9x as many per second with 2,000; 5,000 was no better)."""
    poll_interval: float = 1.0
    """REMINDERS_SCHEDULER_POLL_INTERVAL_SECONDS: longest sleep between two looks for due reminders."""
    coalesce: bool = True
    """REMINDERS_SCHEDULER_COALESCE: after downtime, one notification for the latest missed occurrence."""
    reconnect_max_seconds: float = 30.0
    """REMINDERS_SCHEDULER_RECONNECT_MAX_SECONDS: cap of the back-off between reconnect attempts."""
    retention_days: int = 30
    """REMINDERS_DELETED_RETENTION_DAYS: soft-deleted reminders are hard-deleted after this many days
    (by the API process's retention runner, :mod:`daybook_reminders.retention`)."""
    host: str = "127.0.0.1"
    """REMINDERS_SCHEDULER_HOST: address of the scheduler's ``/metrics`` and ``/health`` listener."""
    port: int | None = None
    """REMINDERS_SCHEDULER_PORT: its port (the launcher and compose: 8004; 0: any free port;
    unset: no listener, e.g. several schedulers started by hand on one machine)."""
    health_intervals: int = 10
    """REMINDERS_SCHEDULER_HEALTH_INTERVALS: ``/health`` fails once no pass has completed for this
    many poll intervals."""

    @classmethod
    def from_env(cls, env: Env) -> SchedulerSettings:
        settings = cls(
            batch_size=env.int("SCHEDULER_BATCH_SIZE", cls.batch_size),
            poll_interval=env.float("SCHEDULER_POLL_INTERVAL_SECONDS", cls.poll_interval),
            coalesce=env.bool("SCHEDULER_COALESCE", cls.coalesce),
            reconnect_max_seconds=env.float("SCHEDULER_RECONNECT_MAX_SECONDS", cls.reconnect_max_seconds),
            retention_days=env.int("DELETED_RETENTION_DAYS", cls.retention_days),
            host=env.str("SCHEDULER_HOST", cls.host),
            port=None if env.optional("SCHEDULER_PORT") is None else env.int("SCHEDULER_PORT", 0),
            health_intervals=env.int("SCHEDULER_HEALTH_INTERVALS", cls.health_intervals),
        )
        if not 1 <= settings.batch_size <= MAX_BATCH_SIZE:
            raise SettingsError(f"{env.name('SCHEDULER_BATCH_SIZE')} must be between 1 and {MAX_BATCH_SIZE}")
        if not 0 < settings.poll_interval <= 3600:
            raise SettingsError(f"{env.name('SCHEDULER_POLL_INTERVAL_SECONDS')} must be in (0, 3600]")
        if settings.reconnect_max_seconds <= 0:
            raise SettingsError(f"{env.name('SCHEDULER_RECONNECT_MAX_SECONDS')} must be positive")
        if settings.port is not None and not 0 <= settings.port < 65536:
            raise SettingsError(f"{env.name('SCHEDULER_PORT')} must be a port number (0: any free one)")
        if settings.health_intervals < 1:
            raise SettingsError(f"{env.name('SCHEDULER_HEALTH_INTERVALS')} must be at least 1")
        if settings.retention_days < 1:
            raise SettingsError(f"{env.name('DELETED_RETENTION_DAYS')} must be at least 1")
        return settings


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy style) or ``postgres://…`` → ``postgresql://…``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise SettingsError(f"{PREFIX}DATABASE_URL is not a URL")
    if scheme.split("+", 1)[0] not in {"postgres", "postgresql"}:
        raise SettingsError(f"{PREFIX}DATABASE_URL must be a PostgreSQL URL")
    return f"postgresql://{rest}"


@dataclass(frozen=True)
class SchedulerConfig:
    """Everything the scheduler process reads (same variables as the API where they overlap)."""

    dsn: str
    statement_timeout_ms: int
    log_level: str
    scheduler: SchedulerSettings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SchedulerConfig:
        env = Env(PREFIX, environ)
        return cls(
            # LISTEN for wake-ups: a session of its own, past a transaction pooler when there is one.
            dsn=asyncpg_dsn(
                env.optional("DIRECT_DATABASE_URL") or env.str("DATABASE_URL", DEFAULT_DATABASE_URL)
            ),
            statement_timeout_ms=env.int("DB_STATEMENT_TIMEOUT_MS", DEFAULT_STATEMENT_TIMEOUT_MS),
            log_level=env.str("LOG_LEVEL", "INFO"),
            scheduler=SchedulerSettings.from_env(env),
        )


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    scheduler: SchedulerSettings
    task_event_wait_seconds: float = 3.0
    """REMINDERS_TASK_EVENT_WAIT_SECONDS: how long a reminder may wait for the event of a task made
    moments ago before its ``task_id`` is ``422`` (see ``daybook_reminders.tasks``)."""
    notification_retention_days: int = 365
    """REMINDERS_NOTIFICATION_RETENTION_DAYS: fired notifications older than this are deleted."""
    retention_interval_seconds: float = 3600.0
    """REMINDERS_RETENTION_INTERVAL_SECONDS: how often the API process runs that purge (0 = never)."""
    stream_heartbeat_seconds: float = 15.0
    """REMINDERS_STREAM_HEARTBEAT_SECONDS: a comment line this often keeps an idle live stream open
    (below every proxy's idle timeout on the way; the gateway's is GATEWAY_STREAM_IDLE_TIMEOUT)."""
    audit_retention_days: int = 400
    """REMINDERS_AUDIT_RETENTION_DAYS: audit-trail rows older than this are deleted."""
    streams_per_user: int = 10
    """REMINDERS_STREAMS_PER_USER: live streams one user may hold open on one process (one more: 429)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        from daybook_common.service import CommonSettings

        env = Env(PREFIX, environ)
        return cls(
            common=CommonSettings.from_env(env, "reminders", SCHEMA, DEFAULT_DATABASE_URL),
            scheduler=SchedulerSettings.from_env(env),
            task_event_wait_seconds=_task_wait(env),
            notification_retention_days=_notification_retention(env),
            retention_interval_seconds=_retention_interval(env),
            stream_heartbeat_seconds=_heartbeat(env),
            audit_retention_days=_audit_retention(env),
            streams_per_user=_streams_per_user(env),
        )


def _task_wait(env: Env) -> float:
    value = env.float("TASK_EVENT_WAIT_SECONDS", Settings.task_event_wait_seconds)
    if not 0 <= value <= 30:
        raise SettingsError(f"{env.name('TASK_EVENT_WAIT_SECONDS')} must be between 0 and 30")
    return value


def _notification_retention(env: Env) -> int:
    value = env.int("NOTIFICATION_RETENTION_DAYS", Settings.notification_retention_days)
    if value < 1:
        raise SettingsError(f"{env.name('NOTIFICATION_RETENTION_DAYS')} must be at least 1")
    return value


def _retention_interval(env: Env) -> float:
    value = env.float("RETENTION_INTERVAL_SECONDS", Settings.retention_interval_seconds)
    if value < 0:
        raise SettingsError(f"{env.name('RETENTION_INTERVAL_SECONDS')} must be >= 0")
    return value


def _heartbeat(env: Env) -> float:
    value = env.float("STREAM_HEARTBEAT_SECONDS", Settings.stream_heartbeat_seconds)
    if not 0 < value <= 300:
        raise SettingsError(f"{env.name('STREAM_HEARTBEAT_SECONDS')} must be in (0, 300]")
    return value


def _audit_retention(env: Env) -> int:
    value = env.int("AUDIT_RETENTION_DAYS", Settings.audit_retention_days)
    if value < 1:
        raise SettingsError(f"{env.name('AUDIT_RETENTION_DAYS')} must be at least 1")
    return value


def _streams_per_user(env: Env) -> int:
    value = env.int("STREAMS_PER_USER", Settings.streams_per_user)
    if not 1 <= value <= 1000:
        raise SettingsError(f"{env.name('STREAMS_PER_USER')} must be between 1 and 1000")
    return value
