"""daybook_common.tracing with the SDK's in-memory exporter: off by default, and an event's
handling is the child of the span that wrote it, with its request id."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from daybook_common import tracing
from daybook_common.logs import request_id_var


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    tracing.use_exporter(memory)
    try:
        yield memory
    finally:
        tracing.use_exporter(None)


def test_off_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in tracing.ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not tracing.enabled()
    assert tracing.tracer_provider("journal") is None
    token = request_id_var.set("req-1")
    try:
        assert tracing.carried_headers() == {"X-Request-ID": "req-1"}  # no trace context to carry
    finally:
        request_id_var.reset(token)
    assert tracing.enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})


def test_an_event_is_handled_as_the_child_of_the_request_that_wrote_it(
    exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    producer = tracing.tracer_provider("users")
    consumer = tracing.tracer_provider("journal")
    assert producer is not None and consumer is not None and producer is not consumer
    token = request_id_var.set("req-42")
    try:
        with producer.get_tracer("test").start_as_current_span("DELETE /users/me") as request_span:
            headers = tracing.carried_headers()
    finally:
        request_id_var.reset(token)
    context = request_span.get_span_context()
    assert headers["traceparent"].startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")
    assert headers["X-Request-ID"] == "req-42"

    seen: list[str | None] = []
    with tracing.consumed(
        consumer, "users.user.deleted", headers, **{"messaging.consumer.group.name": "journal"}
    ):
        seen.append(request_id_var.get())
        with tracing.span(consumer, "erase"):
            pass
    assert seen == ["req-42"] and request_id_var.get() is None

    spans = {s.name: s for s in exporter.get_finished_spans()}
    handled, erase = spans["users.user.deleted process"], spans["erase"]
    assert handled.kind == SpanKind.CONSUMER
    assert handled.context.trace_id == context.trace_id
    assert handled.parent is not None and handled.parent.span_id == context.span_id
    assert erase.parent is not None and erase.parent.span_id == handled.context.span_id
    assert handled.resource.attributes["service.name"] == "daybook-journal"
    assert spans["DELETE /users/me"].resource.attributes["service.name"] == "daybook-users"
    assert (
        handled.attributes is not None
        and handled.attributes["messaging.destination.name"] == "users.user.deleted"
    )


def test_an_event_without_headers_starts_its_own_trace(exporter: InMemorySpanExporter) -> None:
    provider = tracing.tracer_provider("reminders")
    with tracing.consumed(provider, "journal.task.created", None):
        assert request_id_var.get() is None
    (span,) = exporter.get_finished_spans()
    assert span.parent is None and span.kind == SpanKind.CONSUMER
