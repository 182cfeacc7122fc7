"""The gateway's composition root.

``create_app`` returns the raw ASGI :class:`~daybook_gateway.proxy.Gateway`: routed paths are
proxied by it directly, and a small Litestar app serves the gateway's own routes (health,
readiness, the merged OpenAPI document, ``/docs``), the 404 for unknown paths and the lifespan
that opens and closes the upstream connection pools.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from litestar import Litestar, Response, get
from litestar.datastructures import State

from daybook_common.auth import TokenVerifier
from daybook_common.heap import tune_gc
from daybook_common.logs import access_log as shared_access_log
from daybook_common.logs import configure_logging
from daybook_common.metrics import MetricsListener
from daybook_common.problems import PROBLEM_JSON, exception_handlers, problem_body
from daybook_common.tracing import tracer_provider
from daybook_gateway.auth import edge_verifier
from daybook_gateway.docs import docs_handlers
from daybook_gateway.export import Exporter
from daybook_gateway.limits import RateLimiter
from daybook_gateway.openapi import OpenAPIAggregator
from daybook_gateway.proxy import Gateway
from daybook_gateway.routing import Replica, Upstream, build_routes
from daybook_gateway.settings import Settings
from daybook_gateway.web import web_handlers


async def check_replica(upstream: Upstream, replica: Replica, limit: float) -> dict[str, Any]:
    try:
        async with upstream.client().get(
            replica.url + "/ready", timeout=aiohttp.ClientTimeout(total=limit)
        ) as response:
            await response.read()
            if response.status == 200:
                replica.ejected_until = 0.0  # seen healthy: back in the rotation now
                return {"status": "ready"}
            return {"status": "not_ready", "http_status": response.status}
    except TimeoutError:
        return {"status": "timeout"}
    except aiohttp.ClientConnectorError:
        return {"status": "unavailable"}
    except aiohttp.ClientError as exc:
        return {"status": "error", "error": exc.__class__.__name__}


async def check_upstream(upstream: Upstream, limit: float) -> dict[str, Any]:
    """A service is ready when one of its replicas is; with several, each one's status is listed
    (by position in ``GATEWAY_<SERVICE>_URL``: addresses stay private)."""
    results = await asyncio.gather(*(check_replica(upstream, r, limit) for r in upstream.replicas))
    if len(results) == 1:
        return results[0]
    ready = [r for r in results if r["status"] == "ready"]
    summary = dict(ready[0] if ready else results[0])
    summary["replicas"] = [r["status"] for r in results]
    return summary


def own_handlers(
    settings: Settings, upstreams: dict[str, Upstream], verifier: TokenVerifier, aggregator: OpenAPIAggregator
) -> list[Any]:
    @get("/health", sync_to_thread=False, include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", include_in_schema=False)
    async def ready() -> Response[dict[str, Any]]:
        names = list(upstreams)
        results = await asyncio.gather(*(check_upstream(upstreams[n], settings.ready_timeout) for n in names))
        checks = dict(zip(names, results, strict=True))
        not_ready = [name for name, result in checks.items() if result["status"] != "ready"]
        if not verifier.has_keys:
            await verifier.refresh(force=True)
        signing_keys = "loaded" if verifier.has_keys else "unavailable"
        if not not_ready and signing_keys == "loaded":
            return Response({"status": "ready", "upstreams": checks, "signing_keys": signing_keys})
        detail = "Not ready: " + ", ".join(not_ready or ["signing keys"])
        body = problem_body(503, detail, not_ready=not_ready, upstreams=checks, signing_keys=signing_keys)
        return Response(body, status_code=503, media_type=PROBLEM_JSON)

    @get("/api/v1/openapi.json", include_in_schema=False)
    async def openapi() -> Response[bytes]:
        return Response(await aggregator.document(), media_type="application/json")

    return [health, ready, openapi, *docs_handlers(), *web_handlers(settings.web_dir)]


def create_served_app() -> Gateway:
    """What ``daybook-gateway serve`` runs in each Granian worker: ``create_app`` plus the
    worker's garbage-collector settings (:mod:`daybook_common.heap`) and the admin listener
    (``/metrics`` on ``GATEWAY_ADMIN_HOST:GATEWAY_ADMIN_PORT``; every worker binds it, any answers
    for all)."""
    return create_app(tune_heap=True, admin=True)


def create_app(settings: Settings | None = None, *, tune_heap: bool = False, admin: bool = False) -> Gateway:
    settings = settings or Settings.from_env()
    configure_logging("gateway", settings.log_level)
    upstreams = {name: Upstream(name, urls, settings) for name, urls in settings.upstream_urls.items()}
    verifier = edge_verifier(settings.auth, settings.jwks_timeout, settings.jwks_urls)
    aggregator = OpenAPIAggregator(upstreams, settings.openapi_ttl, timeout=max(settings.ready_timeout, 5.0))

    access_log = shared_access_log if settings.access_log else None
    limiter = RateLimiter.from_settings(settings)
    exporter = Exporter(settings, upstreams)
    background: list[asyncio.Task[None]] = []
    listener = (
        MetricsListener(settings.admin_host, settings.admin_port, reuse_port=True)
        if admin and settings.admin_port
        else None
    )

    async def refresh_keys_periodically() -> None:
        # An unknown kid already triggers a refresh; this also drops keys the users service retired.
        while True:
            await asyncio.sleep(settings.jwks_max_age)
            await verifier.refresh(force=True)

    async def startup() -> None:
        for upstream in upstreams.values():
            upstream.client()
        if limiter is not None:
            limiter.counters.start()
        await verifier.refresh()
        if not settings.auth.jwks_json:
            background.append(asyncio.create_task(refresh_keys_periodically()))
        if listener is not None:
            await listener.start()
        if tune_heap:  # last: everything the worker keeps for its lifetime now exists
            tune_gc()

    async def shutdown() -> None:
        if listener is not None:
            await listener.stop()
        if limiter is not None:
            await limiter.counters.close()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await asyncio.gather(*(upstream.close() for upstream in upstreams.values()))
        exporter.close()
        if access_log is not None:
            access_log.flush()

    own = Litestar(
        route_handlers=own_handlers(settings, upstreams, verifier, aggregator),
        exception_handlers=exception_handlers,
        on_startup=[startup],
        on_shutdown=[shutdown],
        state=State({"settings": settings}),
        openapi_config=None,
        logging_config=None,
        debug=False,
    )
    gateway = Gateway(
        settings, own, verifier, upstreams, build_routes(upstreams), access_log, limiter, exporter
    )
    provider = tracer_provider("gateway")
    if provider is not None:
        gateway.trace_with(provider)
    return gateway
