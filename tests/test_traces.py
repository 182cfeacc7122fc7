"""One ``DELETE /users/me`` is one trace: gateway → users → outbox → the journal's, reminders' and
users' consumers, exported over OTLP/HTTP by every process (``OTEL_EXPORTER_OTLP_ENDPOINT``) to a
receiver this test runs.

A stack of its own, with a NATS of its own (its consumers must get the event, not the session
stack's): tracing is off unless the variable is set, and the session's stack runs without it.
"""

from __future__ import annotations

import http.server
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

PASSWORD = "correct horse battery staple"
CONSUMERS = {"daybook-journal", "daybook-reminders", "daybook-users"}


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str


class Receiver(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver (protobuf), keeping every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def trace(self, trace_id: str) -> list[Span]:
        with self.lock:
            return [s for s in self.spans if s.trace_id == trace_id]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans = []
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                spans += [
                    Span(
                        attributes.get("service.name", "?"),
                        s.name,
                        s.kind,
                        s.trace_id.hex(),
                        s.span_id.hex(),
                        s.parent_span_id.hex(),
                    )
                    for s in scope_spans.spans
                ]
        with self.server.lock:
            self.server.spans += spans
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def traced_gateway(
    start_stack: Callable[..., AbstractContextManager[Any]],
    receiver: Receiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    if os.environ.get("GATEWAY_URL"):
        pytest.skip("starts a stack of its own with tracing on (not against a given GATEWAY_URL)")
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    with start_stack(tmp_path_factory.mktemp("traced"), env, own_nats=True) as stack:
        yield stack.gateway_url


def test_an_account_deletion_is_one_trace_across_http_and_events(
    traced_gateway: str, receiver: Receiver
) -> None:
    with httpx.Client(base_url=traced_gateway, timeout=30) as http:
        email = f"traced-{uuid.uuid4().hex[:10]}@example.com"
        assert (
            http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
        )
        login = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        trace_id = uuid.uuid4().hex
        client_span = uuid.uuid4().hex[:16]
        headers = {
            "Authorization": f"Bearer {login.json()['access_token']}",
            "traceparent": f"00-{trace_id}-{client_span}-01",
        }
        assert http.delete("/api/v1/users/me", headers=headers).status_code == 204

    deadline = time.monotonic() + 30
    while True:
        spans = receiver.trace(trace_id)
        consumers = {s.service for s in spans if s.kind == ProtoSpan.SPAN_KIND_CONSUMER}
        if consumers >= CONSUMERS or time.monotonic() > deadline:
            break
        time.sleep(0.2)

    by_id = {s.span_id: s for s in spans}
    services = {s.service for s in spans}
    assert {"daybook-gateway", "daybook-users", "daybook-journal", "daybook-reminders"} <= services, spans
    # The gateway continued the client's trace: its server span's parent is the client's span.
    (gateway_server,) = [
        s for s in spans if s.service == "daybook-gateway" and s.kind == ProtoSpan.SPAN_KIND_SERVER
    ]
    assert gateway_server.parent_id == client_span
    # users' request span is a child of the gateway's client span to users.
    users_server = [s for s in spans if s.service == "daybook-users" and s.kind == ProtoSpan.SPAN_KIND_SERVER]
    assert users_server, spans
    hop = by_id[users_server[0].parent_id]
    assert hop.service == "daybook-gateway" and hop.kind == ProtoSpan.SPAN_KIND_CLIENT
    # SQL spans of the request (asyncpg), under users' request.
    assert any(s.service == "daybook-users" and s.kind == ProtoSpan.SPAN_KIND_CLIENT for s in spans)
    # Each consumer's handling is a child of a span of users' request (carried by the outbox row
    # and the NATS message), and its own SQL is under it.
    consumers = [s for s in spans if s.kind == ProtoSpan.SPAN_KIND_CONSUMER]
    assert {s.service for s in consumers} >= CONSUMERS
    users_request = {
        s.span_id for s in spans if s.service == "daybook-users" and s.kind != ProtoSpan.SPAN_KIND_CONSUMER
    }
    for consumer in consumers:
        assert consumer.name == "users.user.deleted process"
        assert consumer.parent_id in users_request, consumer
    journal_consumer = next(s for s in consumers if s.service == "daybook-journal")
    assert any(s.parent_id == journal_consumer.span_id for s in spans), (
        "no SQL span under the journal's handling"
    )
