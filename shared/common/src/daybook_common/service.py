"""The composition root every service's ``create_app`` uses.

It wires what all services share — problem+json errors, request ids and JSON logs,
the database plugin, token verification, ``/health`` and ``/ready``, OpenAPI — so a
service's ``create_app`` only lists its own controllers and settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from litestar import Litestar, Response, get
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.plugins.prometheus import PrometheusController
from litestar.types import ASGIApp
from litestar.utils import normalize_path
from sqlalchemy import MetaData, Table

from daybook_common.allow import AllowHeaderMiddleware
from daybook_common.auth import (
    VERIFIER_STATE_KEY,
    AuthSettings,
    TokenVerifier,
    provide_current_user,
)
from daybook_common.db import PLUGIN_SESSION_KEY, DatabaseSettings, alchemy_config, provide_db_session
from daybook_common.denylist import DeniedUsers
from daybook_common.events.consumer import EventConsumer, EventHandler
from daybook_common.events.relay import OutboxRelay
from daybook_common.guard import BodyGuard
from daybook_common.health import database_check, health_handlers
from daybook_common.heap import tune_gc
from daybook_common.logs import access_log, configure_logging
from daybook_common.metrics import CONTENT_TYPE, HttpMetrics, PoolSampler, render
from daybook_common.observability import RequestIdMiddleware
from daybook_common.openapi import PreciseJsonRenderPlugin
from daybook_common.outage import outage_log
from daybook_common.problems import exception_handlers
from daybook_common.query import QueryMiddleware
from daybook_common.revisions import UnreadableHistory, script_head, script_history
from daybook_common.sessions import SessionPlugin
from daybook_common.settings import Env
from daybook_common.strict_body import StrictBodyRequest
from daybook_common.strict_query import check_query_values
from daybook_common.tracing import UNTRACED_PATHS, tracer_provider

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider


@dataclass(frozen=True)
class CommonSettings:
    """What every service reads, each under its own prefix."""

    name: str
    database: DatabaseSettings
    auth: AuthSettings
    log_level: str = "INFO"
    access_log: bool = True
    nats_url: str | None = "nats://127.0.0.1:14222"
    #: ``/metrics`` and the request, pool and event metrics (``<P>_METRICS=false``: none of it).
    metrics: bool = True

    @classmethod
    def from_env(cls, env: Env, name: str, schema: str, default_db_url: str) -> CommonSettings:
        return cls(
            name=name,
            database=DatabaseSettings.from_env(env, schema, default_db_url),
            auth=AuthSettings(
                issuer=env.str("JWT_ISSUER", "daybook-users"),
                audience=env.str("JWT_AUDIENCE", "daybook-api"),
                jwks_url=env.str("JWKS_URL", "http://127.0.0.1:8001/api/v1/auth/jwks"),
                jwks_json=env.optional("JWKS_JSON"),
            ),
            log_level=env.str("LOG_LEVEL", "INFO"),
            access_log=env.bool("ACCESS_LOG", True),
            metrics=env.bool("METRICS", True),
            nats_url=env.str("NATS_URL", "nats://127.0.0.1:14222")
            if env.bool("EVENTS_ENABLED", True)
            else None,
        )


@dataclass
class ServiceApp:
    settings: CommonSettings
    metadata: MetaData
    script_location: str
    route_handlers: Sequence[Any]
    title: str
    description: str = ""
    verifier: TokenVerifier | None = None
    dependencies: dict[str, Provide] = field(default_factory=dict)
    on_startup: Sequence[Callable[..., Any]] = ()
    on_shutdown: Sequence[Callable[..., Any]] = ()
    state: dict[str, Any] = field(default_factory=dict)
    on_app_init: Callable[[AppConfig], AppConfig] | None = None
    outbox: Table | None = None
    event_handlers: dict[str, EventHandler] = field(default_factory=dict)
    #: Refuse tokens of the users in this schema's ``denied_users`` (see :mod:`daybook_common.denylist`).
    follow_deleted_users: bool = True
    #: Dependencies (by name) that can refuse a request and what they answer, for the OpenAPI
    #: document (``current_user`` → 401 is always there), e.g. ``{"superuser": {403: "..."}}``.
    dependency_statuses: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    #: Served workers only (``create_served_app``): :func:`daybook_common.heap.tune_gc` after startup.
    tune_heap: bool = False
    #: An ASGI app put in front of everything but the request ids, access log and metrics
    #: (:class:`RequestIdMiddleware`): ``front(inner, litestar)`` answers what it can and hands the
    #: rest to ``inner`` (the input guard, empty-parameter removal, Allow and Litestar), e.g. the
    #: journal's hot reads (:mod:`daybook_journal.hot_reads`).
    front: Callable[[ASGIApp, Litestar], ASGIApp] | None = None

    def build(self) -> Litestar:
        s = self.settings
        configure_logging(s.name, s.log_level)
        verifier = self.verifier or TokenVerifier.from_settings(s.auth)
        sessions = SessionPlugin(
            alchemy_config(s.database, self.metadata, f"daybook-{s.name}"), PLUGIN_SESSION_KEY
        )
        head, known = _history(self.script_location)
        ready = database_check(s.database.schema, head, known=known)
        tracing = tracer_provider(s.name)
        events = EventRuntime(s, self.outbox, self.event_handlers, self.follow_deleted_users, verifier)
        if events.consumer is not None:
            events.consumer.tracer_provider = tracing
        dependencies = {
            "current_user": Provide(provide_current_user),
            "db_session": Provide(provide_db_session),
            **self.dependencies,
        }
        engine = sessions.engine
        sampler = PoolSampler(s.name, lambda: engine.sync_engine.pool)
        own_handlers: list[Any] = [*health_handlers(ready), *([MetricsController] if s.metrics else [])]
        metrics_startup = [sampler.start] if s.metrics else []
        app = Litestar(
            route_handlers=[*own_handlers, *self.route_handlers],
            plugins=[sessions, *_tracing_plugins(tracing)],
            dependencies=dependencies,
            exception_handlers=exception_handlers,
            state=State({VERIFIER_STATE_KEY: verifier, "settings": s, "events": events, **self.state}),
            on_startup=[
                events.start,
                *metrics_startup,
                *self.on_startup,
                *([_tune_heap] if self.tune_heap else []),
            ],
            on_shutdown=[*self.on_shutdown, sampler.stop, events.stop, access_log.flush, outage_log.flush],
            openapi_config=OpenAPIConfig(
                title=self.title,
                version="1.0.0",
                description=self.description,
                path="/schema",
                render_plugins=[PreciseJsonRenderPlugin(self.dependency_statuses)],
            ),
            on_app_init=[self.on_app_init] if self.on_app_init else None,
            request_class=StrictBodyRequest,
            before_request=check_query_values,
            debug=False,
            logging_config=None,
        )
        wrap_outermost(app, AllowHeaderMiddleware, litestar=app)
        wrap_outermost(app, QueryMiddleware)
        wrap_outermost(app, BodyGuard, routed=routed_by(app))  # bad input answered before Litestar parses it
        if self.front is not None:
            app.asgi_handler = self.front(app.asgi_handler, app)
        metrics = HttpMetrics(s.name) if s.metrics else None
        wrap_outermost(app, RequestIdMiddleware, access_log=s.access_log, metrics=metrics)
        return app


class MetricsController(PrometheusController):
    """``GET /metrics``: Prometheus text (every Granian worker's values, see :mod:`daybook_common.metrics`).

    On the service's own port only; the gateway routes no such path, and it is not in the
    OpenAPI document (not part of the public contract).  Exposes :func:`daybook_common.metrics.render`
    (Litestar's own handler collected the multiprocess directory without forgetting dead workers)."""

    include_in_schema = False

    @get()
    async def get(self) -> Response[bytes]:
        return Response(render(), status_code=200, headers={"Content-Type": CONTENT_TYPE})


def _history(script_location: str) -> tuple[str | None, Callable[[str], bool]]:
    """The history's head and whether a revision is in it, for ``/ready``: read from the revision
    files (:mod:`daybook_common.revisions`), so a served process never imports Alembic (with Mako
    and Pygments, ~5 MiB); Alembic only for a history that reader does not understand."""
    try:
        revisions = frozenset(script_history(script_location))
        return script_head(script_location), revisions.__contains__
    except UnreadableHistory:
        from daybook_common.migrations import head_revision, is_known_revision

        return head_revision(script_location), lambda revision: is_known_revision(script_location, revision)


def _tracing_plugins(provider: TracerProvider | None) -> list[Any]:
    """Litestar's OpenTelemetry plugin (a server span per request, continuing the caller's
    ``traceparent``) when tracing is on (:mod:`daybook_common.tracing`)."""
    if provider is None:
        return []
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

    return [OpenTelemetryPlugin(OpenTelemetryConfig(tracer_provider=provider, exclude=UNTRACED_PATHS))]


async def _tune_heap() -> None:
    tune_gc()  # last startup hook: everything the worker keeps for its lifetime exists now


class EventRuntime:
    """The background event work of one service process: outbox relay, consumers, denied-users list."""

    def __init__(
        self,
        settings: CommonSettings,
        outbox: Table | None,
        handlers: dict[str, EventHandler],
        follow_deleted_users: bool,
        verifier: TokenVerifier,
    ) -> None:
        self.relay: OutboxRelay | None = None
        self.consumer: EventConsumer | None = None
        self.deleted_users: DeniedUsers | None = None
        db = settings.database
        if follow_deleted_users:  # from the database: works with events off too
            self.deleted_users = DeniedUsers(db.session_url, db.schema)
            verifier.is_revoked = self.deleted_users.is_revoked
            verifier.is_session_revoked = self.deleted_users.is_session_revoked
        url = settings.nats_url
        if url is None:
            return
        if outbox is not None:
            self.relay = OutboxRelay(db.session_url, db.schema, url)
        if handlers:
            self.consumer = EventConsumer(db.session_url, db.schema, url, settings.name, handlers)

    async def start(self) -> None:
        if self.deleted_users is not None:
            await self.deleted_users.start()
        for part in (self.relay, self.consumer):
            if part is not None:
                part.start()

    async def stop(self) -> None:
        for part in (self.deleted_users, self.consumer, self.relay):
            if part is not None:
                await part.stop()


def routed_by(app: Litestar) -> Callable[[str, str], bool]:
    """Whether ``app`` has a handler for a path and method (not a 404 or 405 of its routing)."""

    def routed(path: str, method: str) -> bool:
        try:
            app.asgi_router.handle_routing(path=normalize_path(path), method=method)
        except (NotFoundException, MethodNotAllowedException):
            return False
        except Exception:  # routed, with a path parameter the handler refuses: the guard answers
            return True
        return True

    return routed


def wrap_outermost(app: Litestar, middleware: type[Any], **options: Any) -> None:
    """Wrap Litestar's whole ASGI handler, so even routing errors (404/405) pass through."""
    app.asgi_handler = middleware(app.asgi_handler, **options)
