"""Gateway settings: environment variables with the ``GATEWAY_`` prefix, read in ``create_app``."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from daybook_common.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER, AuthSettings
from daybook_common.settings import Env, SettingsError
from daybook_gateway.rules import RULES, RateLimit, Rule

PREFIX = "GATEWAY_"
JWKS_PATH = "/api/v1/auth/jwks"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Settings:
    #: Base URLs of each service's replicas (``GATEWAY_<SERVICE>_URL``, comma-separated).
    users_urls: tuple[str, ...] = ("http://127.0.0.1:8001",)
    journal_urls: tuple[str, ...] = ("http://127.0.0.1:8002",)
    reminders_urls: tuple[str, ...] = ("http://127.0.0.1:8003",)
    auth: AuthSettings = field(default_factory=AuthSettings)
    connect_timeout: float = 2.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    ready_timeout: float = 2.0
    jwks_timeout: float = 3.0
    jwks_max_age: float = 300.0
    max_connections: int = 256
    #: Live streams (``STREAM_PATHS``): no total timeout; the upstream must send something (its
    #: 15 s heartbeat) at least this often, and up to ``stream_max_connections`` may be open.
    stream_idle_timeout: float = 45.0
    stream_max_connections: int = 10_000
    #: Seconds to connect to the upstream for a live stream. Longer than ``connect_timeout``: when
    #: a thousand clients reconnect in the same second (after a deploy or a network blip) the
    #: gateway's own event loop is busy with their token checks for a few seconds, and the 2 s
    #: timer ran out before the loop saw connections the kernel had long made (504s, bench case 11).
    stream_connect_timeout: float = 10.0
    keepalive_timeout: float = 15.0
    #: Where the signing keys are fetched, in order until one answers (``GATEWAY_JWKS_URL``,
    #: comma-separated; by default every users replica's).
    jwks_urls: tuple[str, ...] = ()
    #: Seconds a replica that failed at the connection level is left out of the rotation.
    eject_seconds: float = 10.0
    max_body_bytes: int = 1_048_576
    #: Seconds a client has to send a request body in full (``GATEWAY_BODY_TIMEOUT``); the body is
    #: read before an upstream connection is taken, so a slow sender holds none of the services'.
    body_timeout: float = 30.0
    #: The enabled rules of :data:`~daybook_gateway.rules.RULES` with their limits.
    rate_limits: tuple[tuple[Rule, RateLimit], ...] = tuple((rule, rule.default) for rule in RULES)
    #: Where the rate limits' shared counters live (a JetStream stream of counters).
    nats_url: str = "nats://127.0.0.1:14222"
    #: How long a request waits for a counter before it passes unlimited (fail open).
    rate_limit_timeout: float = 0.25
    cors_origins: tuple[str, ...] = ()
    cors_max_age: int = 600
    trusted_proxies: tuple[IPNetwork, ...] = ()
    openapi_ttl: float = 60.0
    #: Account exports assembled at once by one gateway process (each holds one zip thread).
    export_concurrency: int = 2
    log_level: str = "INFO"
    access_log: bool = True
    #: The admin listener (``/metrics``, ``/health``) of a served gateway, never the public port;
    #: ``GATEWAY_ADMIN_PORT=0``: none.
    admin_host: str = "127.0.0.1"
    admin_port: int = 8009
    #: ``GATEWAY_METRICS=false``: no request metrics at all (what the metrics cost is measured against).
    metrics: bool = True
    #: The web app's build directory (``web/dist``), served at ``/``; ``None``: the API only.
    web_dir: Path | None = None

    @property
    def upstream_urls(self) -> dict[str, tuple[str, ...]]:
        return {"users": self.users_urls, "journal": self.journal_urls, "reminders": self.reminders_urls}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(PREFIX, environ)
        users_urls = _urls(env, "USERS_URL", cls.users_urls)
        # Every users replica publishes the keys: asked in turn until one answers.
        jwks_urls = tuple(env.list("JWKS_URL")) or tuple(url + JWKS_PATH for url in users_urls)
        settings = cls(
            users_urls=users_urls,
            journal_urls=_urls(env, "JOURNAL_URL", cls.journal_urls),
            reminders_urls=_urls(env, "REMINDERS_URL", cls.reminders_urls),
            auth=AuthSettings(
                issuer=env.str("JWT_ISSUER", DEFAULT_ISSUER),
                audience=env.str("JWT_AUDIENCE", DEFAULT_AUDIENCE),
                jwks_url=jwks_urls[0],
                jwks_json=env.optional("JWKS_JSON"),
                jwks_refresh_interval=env.float("JWKS_REFRESH_INTERVAL", 30.0),
            ),
            connect_timeout=_positive(env, "CONNECT_TIMEOUT", cls.connect_timeout),
            read_timeout=_positive(env, "READ_TIMEOUT", cls.read_timeout),
            total_timeout=_positive(env, "TIMEOUT", cls.total_timeout),
            ready_timeout=_positive(env, "READY_TIMEOUT", cls.ready_timeout),
            jwks_timeout=_positive(env, "JWKS_TIMEOUT", cls.jwks_timeout),
            jwks_max_age=_positive(env, "JWKS_MAX_AGE", cls.jwks_max_age),
            max_connections=int(_positive(env, "UPSTREAM_MAX_CONNECTIONS", cls.max_connections)),
            keepalive_timeout=_positive(env, "UPSTREAM_KEEPALIVE", cls.keepalive_timeout),
            stream_idle_timeout=_positive(env, "STREAM_IDLE_TIMEOUT", cls.stream_idle_timeout),
            stream_max_connections=int(_positive(env, "STREAM_MAX_CONNECTIONS", cls.stream_max_connections)),
            stream_connect_timeout=_positive(env, "STREAM_CONNECT_TIMEOUT", cls.stream_connect_timeout),
            jwks_urls=jwks_urls,
            eject_seconds=_positive(env, "UPSTREAM_EJECT_SECONDS", cls.eject_seconds),
            max_body_bytes=int(_positive(env, "MAX_BODY_BYTES", cls.max_body_bytes)),
            body_timeout=_positive(env, "BODY_TIMEOUT", cls.body_timeout),
            rate_limits=_rate_limits(env),
            nats_url=env.str("NATS_URL", cls.nats_url),
            rate_limit_timeout=_positive(env, "RATE_LIMIT_TIMEOUT", cls.rate_limit_timeout),
            cors_origins=tuple(o.rstrip("/") for o in env.list("CORS_ORIGINS")),
            cors_max_age=env.int("CORS_MAX_AGE", cls.cors_max_age),
            trusted_proxies=_networks(env),
            openapi_ttl=env.float("OPENAPI_TTL", cls.openapi_ttl),
            export_concurrency=int(_positive(env, "EXPORT_CONCURRENCY", cls.export_concurrency)),
            log_level=env.str("LOG_LEVEL", "INFO"),
            access_log=env.bool("ACCESS_LOG", True),
            admin_host=env.str("ADMIN_HOST", cls.admin_host),
            admin_port=env.int("ADMIN_PORT", cls.admin_port),
            metrics=env.bool("METRICS", True),
            web_dir=Path(web_dir) if (web_dir := env.optional("WEB_DIR")) else None,
        )
        if not 0 <= settings.admin_port < 65536:
            raise SettingsError(f"{env.name('ADMIN_PORT')} must be a port number (0: no admin listener)")
        for name, urls in settings.upstream_urls.items():
            for url in urls:
                if not url.startswith(("http://", "https://")):
                    raise SettingsError(
                        f"{env.name(name.upper() + '_URL')} must be http(s) URLs, got {url!r}"
                    )
        return settings


def _urls(env: Env, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """One base URL per replica: ``http://a:8002,http://b:8002`` (order kept, duplicates dropped)."""
    return tuple(dict.fromkeys(url.rstrip("/") for url in env.list(key))) or default


def _rate_limits(env: Env) -> tuple[tuple[Rule, RateLimit], ...]:
    if env.optional("AUTH_RATE_LIMIT") is not None:
        raise SettingsError(
            f"{env.name('AUTH_RATE_LIMIT')} is gone: limits are per route now "
            f"({', '.join(env.name(rule.setting) for rule in RULES)}; {env.name('RATE_LIMITS')}=off for none)"
        )
    if not env.bool("RATE_LIMITS", True):
        return ()
    enabled = []
    for rule in RULES:
        limit = RateLimit.parse(env.str(rule.setting, str(rule.default)), env.name(rule.setting))
        if limit is not None:
            enabled.append((rule, limit))
    return tuple(enabled)


def _positive(env: Env, key: str, default: float) -> float:
    value = env.float(key, default)
    if value <= 0:
        raise SettingsError(f"{env.name(key)} must be positive, got {value}")
    return value


def _networks(env: Env) -> tuple[IPNetwork, ...]:
    networks: list[IPNetwork] = []
    for item in env.list("TRUSTED_PROXIES"):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(
                f"{env.name('TRUSTED_PROXIES')}: {item!r} is not an IP address or CIDR"
            ) from None
    return tuple(networks)
