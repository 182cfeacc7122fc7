"""Users settings: environment variables with the `USERS_` prefix, read in create_app.

Every variable is documented in `services/users/README.md`.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from daybook_common.service import CommonSettings
from daybook_common.settings import Env, SettingsError
from daybook_users import SCHEMA

PREFIX = "USERS_"
DEFAULT_DATABASE_URL = "postgresql://users:users@127.0.0.1:15432/daybook"
DEFAULT_SIGNING_KEY_FILE = ".daybook/keys/users-signing-key.pem"
DEFAULT_MAIL_DIR = ".daybook/mail"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class KeySettings:
    """Where the ES256 signing key comes from, and which extra public keys the JWKS publishes."""

    signing_key_file: Path = Path(DEFAULT_SIGNING_KEY_FILE)
    signing_key_pem: str | None = field(default=None, repr=False)
    generate: bool = True
    additional_public_keys_file: Path | None = None


@dataclass(frozen=True)
class TokenSettings:
    access_ttl_seconds: int = 900
    refresh_ttl_seconds: int = 30 * 24 * 3600


@dataclass(frozen=True)
class PasswordSettings:
    """argon2id at the OWASP minimum (m=19 MiB, t=2, p=1)."""

    memory_kib: int = 19_456
    time_cost: int = 2
    parallelism: int = 1
    concurrency: int = 0  # 0: one hashing thread per CPU


@dataclass(frozen=True)
class ThrottleSettings:
    max_failures_per_email: int = 5
    max_failures_per_ip: int = 50
    window_seconds: int = 900
    trusted_proxies: tuple[IPNetwork, ...] = (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
    )


@dataclass(frozen=True)
class MailSettings:
    """Where mail goes (SMTP, or ``.eml`` files), who it is from, and how the worker retries."""

    #: Base of the links in emails (the web app behind the gateway).
    public_url: str = "http://127.0.0.1:8000"
    from_address: str = "Daybook <no-reply@daybook.localhost>"
    #: ``smtp://`` (STARTTLS when offered), ``smtp+starttls://`` (required), ``smtps://`` (TLS);
    #: unset: write ``.eml`` files into ``directory``.
    smtp_url: str | None = field(default=None, repr=False)
    smtp_timeout_seconds: float = 10.0
    #: CA bundle (PEM) that signs the SMTP server's certificate, when not a public CA's.
    smtp_ca_file: Path | None = None
    directory: Path = Path(DEFAULT_MAIL_DIR)
    worker: bool = True
    poll_seconds: float = 1.0
    max_attempts: int = 10
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 1800.0
    #: Reset or verification emails per account and hour; more are silently not sent.
    max_per_hour: int = 5
    verification_ttl_hours: int = 72


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    keys: KeySettings = field(default_factory=KeySettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    passwords: PasswordSettings = field(default_factory=PasswordSettings)
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    maintenance_interval_seconds: int = 3600
    #: How long a register's ``Idempotency-Key`` is remembered.
    idempotency_ttl_hours: int = 24
    #: Audit-trail rows older than this are deleted.
    audit_retention_days: int = 400

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(PREFIX, environ)
        additional = env.optional("ADDITIONAL_PUBLIC_KEYS_FILE")
        return cls(
            common=CommonSettings.from_env(env, "users", SCHEMA, DEFAULT_DATABASE_URL),
            keys=KeySettings(
                signing_key_file=Path(env.str("SIGNING_KEY_FILE", DEFAULT_SIGNING_KEY_FILE)),
                signing_key_pem=env.optional("SIGNING_KEY"),
                generate=env.bool("GENERATE_SIGNING_KEY", True),
                additional_public_keys_file=Path(additional) if additional else None,
            ),
            tokens=TokenSettings(
                access_ttl_seconds=_positive(env, "ACCESS_TOKEN_TTL_SECONDS", 900),
                refresh_ttl_seconds=_positive(env, "REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600),
            ),
            passwords=PasswordSettings(
                memory_kib=_positive(env, "ARGON2_MEMORY_KIB", 19_456),
                time_cost=_positive(env, "ARGON2_TIME_COST", 2),
                parallelism=_positive(env, "ARGON2_PARALLELISM", 1),
                concurrency=env.int("PASSWORD_HASH_CONCURRENCY", 0),
            ),
            throttle=ThrottleSettings(
                max_failures_per_email=_positive(env, "LOGIN_MAX_FAILURES_PER_EMAIL", 5),
                max_failures_per_ip=_positive(env, "LOGIN_MAX_FAILURES_PER_IP", 50),
                window_seconds=_positive(env, "LOGIN_FAILURE_WINDOW_SECONDS", 900),
                trusted_proxies=_networks(env, "TRUSTED_PROXIES", ["127.0.0.1", "::1"]),
            ),
            mail=MailSettings(
                public_url=env.str("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
                from_address=env.str("MAIL_FROM", "Daybook <no-reply@daybook.localhost>"),
                smtp_url=env.optional("SMTP_URL"),
                smtp_timeout_seconds=env.float("SMTP_TIMEOUT_SECONDS", 10.0),
                smtp_ca_file=Path(ca_file) if (ca_file := env.optional("SMTP_CA_FILE")) else None,
                directory=Path(env.str("MAIL_DIR", DEFAULT_MAIL_DIR)),
                worker=env.bool("MAIL_WORKER", True),
                poll_seconds=env.float("MAIL_POLL_SECONDS", 1.0),
                max_attempts=_positive(env, "MAIL_MAX_ATTEMPTS", 10),
                retry_base_seconds=env.float("MAIL_RETRY_BASE_SECONDS", 5.0),
                retry_max_seconds=env.float("MAIL_RETRY_MAX_SECONDS", 1800.0),
                max_per_hour=_positive(env, "MAIL_MAX_PER_HOUR", 5),
                verification_ttl_hours=_positive(env, "EMAIL_VERIFICATION_TTL_HOURS", 72),
            ),
            maintenance_interval_seconds=env.int("MAINTENANCE_INTERVAL_SECONDS", 3600),
            idempotency_ttl_hours=_positive(env, "IDEMPOTENCY_TTL_HOURS", 24),
            audit_retention_days=_positive(env, "AUDIT_RETENTION_DAYS", 400),
        )

    @property
    def idempotency_ttl(self) -> datetime.timedelta:
        return datetime.timedelta(hours=self.idempotency_ttl_hours)

    @property
    def hash_concurrency(self) -> int:
        return self.passwords.concurrency or (os.cpu_count() or 1)


def _positive(env: Env, key: str, default: int) -> int:
    value = env.int(key, default)
    if value <= 0:
        raise SettingsError(f"{env.name(key)} must be a positive integer, got {value}")
    return value


def _networks(env: Env, key: str, default: list[str]) -> tuple[IPNetwork, ...]:
    networks: list[IPNetwork] = []
    for item in env.list(key, default):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise SettingsError(f"{env.name(key)}: {item!r} is not an IP address or network") from exc
    return tuple(networks)
