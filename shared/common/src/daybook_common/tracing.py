"""OpenTelemetry traces: off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``…_TRACES_ENDPOINT``) is set.

On, each process gets a ``TracerProvider`` named ``daybook-<service>`` (``OTEL_SERVICE_NAME``
and the other standard ``OTEL_*`` variables apply) exporting in batches over OTLP/HTTP; SQL
statements become spans through the asyncpg instrumentation. W3C ``traceparent`` crosses every
hop: HTTP (the gateway's ASGI middleware accepts or starts it, its aiohttp client passes it on,
Litestar's OpenTelemetry plugin in the services continues it), and events — :func:`carried_headers`
is stored on the outbox row, published as NATS headers, and :func:`consumed` makes the
consumer's work a child of the request that wrote the event and sets its request id for the logs.

Tests call :func:`use_exporter` (the SDK's ``InMemorySpanExporter``) before creating the apps.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from daybook_common.logs import request_id_var

if TYPE_CHECKING:  # the SDK is imported only when tracing is on: nothing to load otherwise
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
REQUEST_ID_HEADER = "X-Request-ID"
#: Paths not worth a trace: probes and scrapes.
UNTRACED_PATHS = ["/health", "/ready", "/metrics"]

_test_exporter: SpanExporter | None = None
_providers: dict[str, TracerProvider] = {}
_asyncpg_instrumented = False


def use_exporter(exporter: SpanExporter | None) -> None:
    """Tests: export every span of the providers made from now on to ``exporter`` (synchronously);
    ``None`` turns that off again, forgets the providers and un-patches asyncpg."""
    global _test_exporter, _asyncpg_instrumented
    _test_exporter = exporter
    _providers.clear()
    if exporter is None and _asyncpg_instrumented:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
        _asyncpg_instrumented = False


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    return _test_exporter is not None or any(environ.get(name) for name in ENDPOINT_VARIABLES)


def tracer_provider(service: str) -> TracerProvider | None:
    """This process's provider for ``service`` (made once), or ``None`` with tracing off."""
    if not enabled():
        return None
    provider = _providers.get(service)
    if provider is not None:
        return provider
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or f"daybook-{service}"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    if _test_exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(_test_exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _providers[service] = provider
    _instrument_asyncpg(provider)
    return provider


def _instrument_asyncpg(provider: TracerProvider) -> None:
    """SQL spans (asyncpg is patched once per process, with the first provider)."""
    global _asyncpg_instrumented
    if _asyncpg_instrumented:
        return
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    _asyncpg_instrumented = True


def carried_headers() -> dict[str, str]:
    """What an event carries from the request that wrote it: ``traceparent``/``tracestate`` of the
    current span (none with tracing off) and the request id (none outside a request)."""
    carrier: dict[str, str] = {}
    if _providers:
        from opentelemetry import propagate

        propagate.inject(carrier)
    request_id = request_id_var.get()
    if request_id:
        carrier[REQUEST_ID_HEADER] = request_id
    return carrier


@contextlib.contextmanager
def consumed(
    provider: TracerProvider | None, subject: str, headers: Mapping[str, str] | None, **attributes: Any
) -> Iterator[None]:
    """Handle one event as the child of the request that caused it, with its request id in the logs."""
    carried = dict(headers or {})
    token = request_id_var.set(carried.get(REQUEST_ID_HEADER))
    try:
        if provider is None:
            yield
            return
        from opentelemetry import propagate
        from opentelemetry.trace import SpanKind

        tracer = provider.get_tracer("daybook.events")
        parent = propagate.extract(carried)
        with tracer.start_as_current_span(
            f"{subject} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "nats", "messaging.destination.name": subject, **attributes},
        ):
            yield
    finally:
        request_id_var.reset(token)


def span(
    provider: TracerProvider | None, name: str, **attributes: Any
) -> contextlib.AbstractContextManager[Any]:
    """An internal span of ``provider`` (a no-op with tracing off)."""
    if provider is None:
        return contextlib.nullcontext()
    return provider.get_tracer("daybook").start_as_current_span(name, attributes=attributes)


__all__ = [
    "REQUEST_ID_HEADER",
    "UNTRACED_PATHS",
    "carried_headers",
    "consumed",
    "enabled",
    "span",
    "tracer_provider",
    "use_exporter",
]
