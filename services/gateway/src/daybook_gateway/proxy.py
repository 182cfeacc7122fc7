"""The hot path: a raw ASGI callable that forwards routed requests to the services.

Litestar serves only the gateway's own routes (``/health``, ``/ready``, OpenAPI, ``/docs``) and the
404 for unknown paths; every routed request is handled here without a framework layer: one pass
over the headers, the token check, the limits (:mod:`daybook_gateway.limits`), then a request on a
pooled keep-alive connection (:mod:`daybook_gateway.upstream_http`) whose body and response are
streamed.  Requests that never reach a service (401, 413, 429, preflights) are
answered here too, as problem+json.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp

from daybook_common.auth import ACCESS_TOKEN_REFUSED, TokenError, TokenVerifier, bearer_token
from daybook_common.logs import AccessLog, access_logger, request_id_var
from daybook_common.metrics import RATE_LIMITED, UNMATCHED, UPSTREAM_ERRORS, UPSTREAM_LATENCY, HttpMetrics
from daybook_common.observability import SERVER_HEADER, is_valid_request_id, new_request_id
from daybook_common.problems import problem_body
from daybook_common.tracing import UNTRACED_PATHS
from daybook_gateway.cors import CorsPolicy
from daybook_gateway.export import EXPORT_PATH, PARTS, RETRY_BUSY_SECONDS, Exporter, part_headers
from daybook_gateway.limits import ClientAddress, RateLimiter, Verdict
from daybook_gateway.routing import STREAM_PATHS, Replica, Route, Upstream
from daybook_gateway.settings import Settings
from daybook_gateway.upstream_http import (
    ConnectError,
    ConnectionPool,
    InvalidResponse,
    UpstreamDisconnected,
    UpstreamResponse,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

logger = logging.getLogger("daybook.gateway")

Headers = list[tuple[bytes, bytes]]
# Plain ASGI types (Litestar's TypedDicts are stricter than this module needs).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# RFC 9110 §7.6.1 connection-specific fields: never forwarded in either direction.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Request headers the gateway sets itself (or lets its client compute) instead of copying.
_REQUEST_REPLACED = frozenset(
    {b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded", b"x-request-id"}
    | {b"content-length", b"expect"}
)
#: On every answer: browsers take the declared content type as it is (a JSON body that echoes a
#: client's text is never sniffed into a page).
NOSNIFF = (b"x-content-type-options", b"nosniff")
#: On an authenticated answer that says nothing about caching itself: one user's data is not
#: kept by a browser or any cache on the way (an upstream's own Cache-Control is left as it is).
NO_STORE = (b"cache-control", b"no-store")
# Response headers the gateway's own server adds (Granian writes date/server) or the gateway sets.
_RESPONSE_DROPPED = HOP_BY_HOP | {b"x-request-id", b"date", b"server", NOSNIFF[0]}
_OWN_DROPPED = frozenset({b"x-request-id", b"server", NOSNIFF[0]})
_NO_BODY_STATUS = frozenset({204, 304})
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Longer request targets get 414 and bigger header sections 431, as problem+json.  Granian's
#: HTTP layer (hyper) answers past its own limits itself, with an empty body, before the app
#: sees the request (a target over 64 KiB, more than 100 header fields, a head over its
#: 400 KiB buffer): these lower limits make every realistic oversized request ours to answer.
MAX_TARGET_BYTES = 8 * 1024
MAX_HEADER_BYTES = 32 * 1024
DRAIN_SECONDS = 2.0  # at most this long, and at most drain_bytes, to discard a refused request's body
BUFFER_LIMIT = 64 * 1024  # responses up to this size (with a Content-Length) are relayed in one message


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


class _BodyState:
    __slots__ = ("gone", "pending", "too_large")

    def __init__(self, pending: bool) -> None:
        self.pending = pending  # the client may still be sending body bytes nobody has read
        self.too_large = False
        self.gone = False


def _request_id(raw: bytes | None) -> bytes:
    """The client's X-Request-ID when it is sane, else a new one (the services' rules)."""
    if raw and is_valid_request_id(raw):
        return raw
    return new_request_id().encode("ascii")


def _response_headers(raw: list[tuple[bytes, bytes]]) -> Headers:
    headers: Headers = []
    connection: bytes | None = None
    for name, value in raw:
        lowered = name.lower()
        if lowered in _RESPONSE_DROPPED:
            if lowered == b"connection":
                connection = value
            continue
        headers.append((lowered, value))
    if connection:  # fields the upstream named in Connection are hop-by-hop too
        named = {token.strip().lower() for token in connection.split(b",")}
        headers = [(k, v) for k, v in headers if k not in named]
    return headers


def _refused_by_upstream(limits: Headers, headers: Headers) -> Headers:
    """``RateLimit-*`` on an upstream's own 429 (users' per-email login throttle): nothing remains
    until its ``Retry-After`` — not the gateway's per-client count, which said "14 remaining" on
    a 429."""
    retry_after = next((value for name, value in headers if name == b"retry-after"), None)
    out: Headers = []
    for name, value in limits:
        if name == b"ratelimit-remaining":
            value = b"0"
        elif name == b"ratelimit-reset" and retry_after is not None and retry_after.isdigit():
            value = retry_after
        out.append((name, value))
    return out


def _replica_down(exc: BaseException) -> bool:
    """A failure of the replica's connection (not of one slow request): eject it for a while."""
    return isinstance(exc, ConnectError | UpstreamDisconnected)


def _retryable(exc: BaseException, method: str, forward: list[tuple[str, str]]) -> bool:
    """May this request go to another replica after ``exc``?

    Always when it never reached the failed one (connection refused or timed out while
    connecting). After it may have arrived (the connection broke, the answer was garbled) only
    when repeating it is harmless: an idempotent method (RFC 9110 §9.2.2) or a POST/PATCH with an
    ``Idempotency-Key``, which the service answers at most once. Never after a read timeout: the
    replica may still be working on it, and the client's time is spent.
    """
    if isinstance(exc, ConnectError):
        return True
    if isinstance(exc, TimeoutError) or not isinstance(exc, UpstreamDisconnected | InvalidResponse):
        return False
    if method in _IDEMPOTENT:
        return True
    return method in {"POST", "PATCH"} and any(name.lower() == "idempotency-key" for name, _ in forward)


async def _relay_until_disconnect(response: UpstreamResponse, send: Send, receive: Receive) -> None:
    """Relay a long-lived response chunk by chunk as it arrives, until it ends or the client
    leaves.  The relay runs in the request's own task; one watcher task waits for the client's
    disconnect and then closes the upstream connection, which ends the relay here and the stream
    at the service (one extra task per open stream, not two)."""
    left = False

    async def client_gone() -> None:
        nonlocal left
        while (await receive())["type"] != "http.disconnect":
            pass
        left = True
        response.close()

    watching = asyncio.ensure_future(client_gone())
    try:
        async for chunk in response.iter_chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    except Exception:
        if not left:  # the upstream broke, or sending did: not the client's leaving
            raise
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)


#: Paths whose GET must not run for a HEAD (an endless event stream, a whole account export):
#: a HEAD there goes upstream as it is and is answered 405.
_HEAD_REFUSED = frozenset({*STREAM_PATHS, EXPORT_PATH})


def _allow_head(headers: Headers) -> Headers:
    """``Allow`` (on a 405 or an ``OPTIONS``) names ``HEAD`` too where ``GET`` is allowed: the
    gateway answers it (:func:`_bodiless`)."""
    out: Headers = []
    for name, value in headers:
        if name.lower() == b"allow":
            methods = [m.strip() for m in value.split(b",")]
            if b"GET" in methods and b"HEAD" not in methods:
                value = b", ".join([*methods, b"HEAD"])
        out.append((name, value))
    return out


def _bodiless(send: Send) -> Send:
    """A HEAD is answered as its GET would be, less the body (RFC 9110 §9.3.2): same status and
    headers, ``Content-Length`` included, and an empty body."""

    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b""}
        await send(message)

    return send_head


def _has_dot_segment(path: str) -> bool:
    return any(segment in {".", ".."} for segment in path.split("/"))


class Gateway:
    """ASGI entry point: routed paths are proxied here, everything else goes to ``fallback`` (Litestar)."""

    def __init__(
        self,
        settings: Settings,
        fallback: Any,
        verifier: TokenVerifier,
        upstreams: dict[str, Upstream],
        routes: tuple[Route, ...],
        access_log: AccessLog | None = None,
        limiter: RateLimiter | None = None,
        exporter: Exporter | None = None,
    ) -> None:
        self.settings = settings
        self.exporter = exporter
        self.fallback = fallback
        self.verifier = verifier
        self.upstreams = upstreams
        self.routes = routes
        self.cors = CorsPolicy(settings.cors_origins, settings.cors_max_age)
        self.client_address = ClientAddress(settings.trusted_proxies)
        self.limiter = limiter
        self.max_body = settings.max_body_bytes
        self.body_timeout = settings.body_timeout
        self.drain_bytes = max(4 * 1024 * 1024, 2 * settings.max_body_bytes)
        # Decided once: a level that drops INFO (set before the app is made) costs nothing per request.
        self.access_log = access_log if access_logger.isEnabledFor(logging.INFO) else None
        self.metrics = HttpMetrics("gateway") if settings.metrics else None
        self._upstream_latency = {name: UPSTREAM_LATENCY.labels(name) for name in upstreams}
        self._traced: Any = None
        self._tracer: Tracer | None = None

    def trace_with(self, provider: TracerProvider) -> None:
        """Tracing on (:mod:`daybook_common.tracing`): every request first passes OpenTelemetry's ASGI
        middleware (a server span continuing the client's ``traceparent`` or starting a trace) and
        every upstream request gets a client span whose ``traceparent`` replaces the client's."""
        from opentelemetry.instrumentation.aiohttp_client import create_trace_config
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        self._traced = OpenTelemetryMiddleware(
            self._serve, excluded_urls=",".join(UNTRACED_PATHS), tracer_provider=provider
        )
        self._tracer = provider.get_tracer("daybook.gateway")
        for upstream in self.upstreams.values():  # the side requests (export parts) through aiohttp
            upstream.trace_configs = (create_trace_config(tracer_provider=provider),)

    # ------------------------------------------------------------------ entry point
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._traced is not None and scope["type"] == "http":
            await self._traced(scope, receive, send)
        else:
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)  # lifespan (and websockets, which Litestar refuses)
            return
        started = time.perf_counter()
        path: str = scope["path"]
        head = scope["method"] == "HEAD" and path not in _HEAD_REFUSED
        if head:
            scope = {**scope, "method": "GET"}
            send = _bodiless(send)
        route: Route | None = None
        for candidate in self.routes:
            if candidate.matches(path):
                route = candidate
                break

        # One pass over the request headers: pick what the gateway needs, copy the rest for upstream.
        raw_rid = origin = authorization = content_length = forwarded_for = forwarded_proto = None
        forwarded_host = host = connection = preflight_method = None
        chunked = False
        hosts = 0
        forward: list[tuple[str, str]] = []
        header_bytes = 0
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value) + 4
            if name in HOP_BY_HOP or name in _REQUEST_REPLACED:
                if name == b"x-request-id":
                    raw_rid = value
                elif name == b"content-length":
                    content_length = value
                elif name == b"x-forwarded-for":
                    forwarded_for = value
                elif name == b"x-forwarded-proto":
                    forwarded_proto = value
                elif name == b"x-forwarded-host":
                    forwarded_host = value
                elif name == b"connection":
                    connection = value
                elif name == b"transfer-encoding":
                    chunked = True
                continue
            if name == b"authorization":
                authorization = value
            elif name == b"origin":
                origin = value
            elif name == b"host":
                host = value
                hosts += 1
            elif name == b"access-control-request-method":
                preflight_method = value
            if route is not None:
                forward.append((name.decode("latin-1"), value.decode("latin-1")))

        rid = _request_id(raw_rid)
        rid_text = rid.decode("ascii")  # the access log writes this very object unescaped: see its record()
        token = request_id_var.set(rid_text)
        cors = self.cors.response_headers(origin) if self.cors.enabled else []
        method: str = scope["method"]
        logged_method = "HEAD" if head else method
        status = 500
        upstream_name = route.upstream.name if route else None
        try:
            oversized = self._oversized(scope, header_bytes)
            if oversized is not None:
                status = await self._refuse_oversized(
                    send, oversized, rid, cors, content_length, chunked, receive
                )
            elif hosts > 1 or (not host and scope.get("http_version") == "1.1"):
                # RFC 9112 §3.2: an HTTP/1.1 request without a Host (Granian passes an empty one
                # then), or with two, is 400. Two Hosts may be read differently by the next hop.
                status = await self.problem(send, 400, "Exactly one Host header is required", rid, cors)
            elif (
                method == "OPTIONS"
                and origin is not None
                and preflight_method is not None
                and self.cors.enabled
            ):
                status = await self._preflight(send, origin, rid)
            elif route is None:
                status = await self._own(scope, receive, send, rid, cors)
            else:
                body = _BodyState(pending=content_length is not None or chunked)
                status = await self._routed(
                    scope,
                    receive,
                    send,
                    route,
                    body,
                    method=method,
                    rid=rid,
                    cors=cors,
                    forward=forward,
                    authorization=authorization,
                    content_length=content_length,
                    chunked=chunked,
                    forwarded_for=forwarded_for,
                    forwarded_proto=forwarded_proto,
                    forwarded_host=forwarded_host,
                    host=host,
                    connection=connection,
                )
                if body.pending:
                    # Refused before the body was read (401, 413, 429 …): read and discard what the
                    # client is still sending — bounded — so it gets to read the answer instead of
                    # a connection reset (what nginx calls a lingering close).
                    await self._drain(receive)
        finally:
            elapsed = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.record(
                    logged_method,
                    route.prefix if route else scope.get("path_template", UNMATCHED),
                    status,
                    elapsed,
                )
            if self.access_log is not None:
                self.access_log.record(
                    logged_method,
                    route.prefix if route else scope.get("path_template", path[:200]),
                    status,
                    round(elapsed * 1000, 3),
                    rid_text,
                    upstream=upstream_name,
                )
            request_id_var.reset(token)

    # ------------------------------------------------------------------ gateway's own routes
    async def _own(self, scope: Scope, receive: Receive, send: Send, rid: bytes, cors: Headers) -> int:
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in _OWN_DROPPED]
                headers = _allow_head(headers)
                headers.append((b"x-request-id", rid))
                headers.append(SERVER_HEADER)
                headers.append(NOSNIFF)
                headers.extend(cors)
                message["headers"] = headers
            await send(message)

        scope.setdefault("state", {})["request_id"] = rid.decode("ascii")
        await self.fallback(scope, receive, send_with_headers)
        return status

    async def _preflight(self, send: Send, origin: bytes, rid: bytes) -> int:
        if not self.cors.allowed(origin):
            return await self.problem(send, 403, "Origin not allowed", rid, [(b"vary", b"Origin")])
        headers = [
            *self.cors.preflight_headers(origin),
            (b"x-request-id", rid),
            (b"content-length", b"0"),
            SERVER_HEADER,
            NOSNIFF,
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return 204

    async def problem(
        self, send: Send, status: int, detail: str, rid: bytes, headers: Headers, **extra: Any
    ) -> int:
        body = json.dumps(problem_body(status, detail, **extra)).encode()
        response_headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", rid),
            SERVER_HEADER,
            NOSNIFF,
            *headers,
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})
        return status

    # ------------------------------------------------------------------ proxying
    async def _routed(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: Route,
        state: _BodyState,
        *,
        method: str,
        rid: bytes,
        cors: Headers,
        forward: list[tuple[str, str]],
        authorization: bytes | None,
        content_length: bytes | None,
        chunked: bool,
        forwarded_for: bytes | None,
        forwarded_proto: bytes | None,
        forwarded_host: bytes | None,
        host: bytes | None,
        connection: bytes | None,
    ) -> int:
        path: str = scope["path"]
        if "/." in path and _has_dot_segment(path):
            return await self.problem(send, 400, "Paths with dot segments are not allowed", rid, cors)

        caller: str | None = None
        # An OPTIONS only asks which methods the path allows (``Allow``, from the service's
        # routing table): that needs no token, and the service answers it without reading one.
        if not route.public and method != "OPTIONS":
            token = bearer_token(authorization.decode("latin-1")) if authorization else None
            if token is None:
                return await self._unauthorized(send, rid, cors, "missing access token")
            try:
                caller = str((await self.verifier.verify(token)).user_id)
            except TokenError as exc:
                if not getattr(self.verifier, "has_keys", True):
                    return await self.problem(
                        send,
                        503,
                        "The users service is unavailable: access tokens cannot be verified",
                        rid,
                        cors,
                        service="users",
                    )
                return await self._unauthorized(send, rid, cors, str(exc))

        if path == EXPORT_PATH and method != "GET" and self.exporter is not None:
            allow = [*cors, (b"allow", b"GET")]
            return await self.problem(send, 405, "Method not allowed", rid, allow)

        client = scope.get("client")
        peer = str(client[0]) if client else "unknown"
        xff_in = forwarded_for.decode("latin-1") if forwarded_for else None
        verdict: Verdict | None = None
        limited = self.limiter.match(method, path) if self.limiter is not None else None
        if limited is not None:
            assert self.limiter is not None
            rule, limit = limited
            key = f"user:{caller}" if rule.per == "user" else self.client_address.resolve(peer, xff_in)
            verdict = await self.limiter.check(rule, limit, key)
            if verdict is not None and verdict.refused:
                RATE_LIMITED.labels("gateway", limited[0].name).inc()
                refusal = [*cors, *verdict.headers(), (b"retry-after", verdict.reset_seconds())]
                return await self.problem(send, 429, "Too many requests, try again later", rid, refusal)

        declared: int | None = None
        if content_length is not None:
            try:
                declared = int(content_length)
            except ValueError:
                declared = -1
            if declared < 0:
                return await self.problem(send, 400, "Invalid Content-Length", rid, cors)
            if declared > self.max_body:
                return await self._too_large(send, rid, cors)

        # Forwarding headers: only a trusted proxy's X-Forwarded-* are kept (and extended).
        trusted = bool(self.settings.trusted_proxies) and self.client_address.is_trusted(peer)
        forward.append(("X-Forwarded-For", f"{xff_in}, {peer}" if trusted and xff_in else peer))
        proto = (
            forwarded_proto.decode("latin-1") if trusted and forwarded_proto else scope.get("scheme", "http")
        )
        forward.append(("X-Forwarded-Proto", proto))
        fwd_host = forwarded_host if trusted and forwarded_host else host
        if fwd_host:
            forward.append(("X-Forwarded-Host", fwd_host.decode("latin-1")))
        forward.append(("X-Request-ID", rid.decode("ascii")))
        if connection:  # fields named in Connection are hop-by-hop too
            named = {t.strip().lower() for t in connection.decode("latin-1").split(",")}
            forward = [(k, v) for k, v in forward if k not in named or k == "host"]
        if method == "GET" and path == EXPORT_PATH and self.exporter is not None and caller is not None:
            limits = verdict.headers() if verdict is not None else []
            return await self._export(send, receive, self.exporter, rid, [*cors, *limits], forward, caller)

        # Request body: none without Content-Length/Transfer-Encoding (RFC 9112 §6.3); a body that
        # arrived in one message is forwarded as bytes; a longer one is streamed and counted.
        data: bytes | AsyncIterator[bytes] | None = None
        streamed_length: int | None = None
        if declared is not None or chunked:
            message = await receive()
            if message["type"] == "http.disconnect":
                state.pending = False
                return await self._broken_body(send, rid, cors)
            first: bytes = message.get("body", b"")
            if not message.get("more_body", False):
                state.pending = False
                if len(first) > self.max_body:
                    return await self._too_large(send, rid, cors)
                data = first
            else:
                # Read whole (at most max_body bytes) before an upstream connection is taken: a
                # client trickling its body would otherwise hold a pooled connection and a
                # service's request for as long as it liked (256 such clients starved a
                # service's pool), and be answered 504 as if the service were slow. The bytes
                # in hand also let another replica be sent them if the first one fails.
                try:
                    async with asyncio.timeout(self.body_timeout):
                        data = b"".join([chunk async for chunk in self._stream_body(first, receive, state)])
                except BodyTooLarge:
                    return await self._too_large(send, rid, cors)
                except ClientGone:
                    return await self._broken_body(send, rid, cors)
                except TimeoutError:
                    return await self._body_timeout(send, rid, cors)

        raw_path: bytes | None = scope.get("raw_path")
        target = raw_path.decode("latin-1") if raw_path else quote(path)
        query: bytes = scope.get("query_string", b"")
        if query:
            target = f"{target}?{query.decode('latin-1')}"
        upstream = route.upstream
        # Another replica may be tried when the request can be sent again (its body is in hand)
        # and either never reached the first one or is safe to repeat (see _retryable).
        attempts = upstream.attempts if data is None or isinstance(data, bytes) else 1
        tried: tuple[Replica, ...] = ()
        streaming = method == "GET" and path in STREAM_PATHS
        while True:
            replica = upstream.pick(tried)
            tried = (*tried, replica)
            response_started = False
            asked = time.perf_counter()
            try:
                response = await self._send_upstream(
                    upstream.connections(replica, streaming), method, target, forward, data, streamed_length
                )
                try:
                    if self.metrics is not None:
                        self._upstream_latency[upstream.name].observe(time.perf_counter() - asked)
                    status = response.status
                    headers = _response_headers(response.raw_headers)
                    if (status == 405 or method == "OPTIONS") and path not in _HEAD_REFUSED:
                        headers = _allow_head(headers)
                    headers.append((b"x-request-id", rid))
                    headers.append(SERVER_HEADER)
                    headers.append(NOSNIFF)
                    if caller is not None and not any(name == NO_STORE[0] for name, _ in headers):
                        headers.append(NO_STORE)
                    headers.extend(cors)
                    length = response.content_length
                    buffered = (
                        method == "HEAD"
                        or status in _NO_BODY_STATUS
                        or (length is not None and length <= BUFFER_LIMIT)
                    )
                    body = await response.read() if buffered else b""
                    if verdict is not None:
                        assert self.limiter is not None
                        verdict = await self.limiter.answered(verdict, status)
                        limits = verdict.headers()
                        headers.extend(_refused_by_upstream(limits, headers) if status == 429 else limits)
                    response_started = True
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    if buffered:
                        await send({"type": "http.response.body", "body": body})
                        return status
                    if streaming:
                        await _relay_until_disconnect(response, send, receive)
                        return status
                    async for chunk in response.iter_chunks():
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    await send({"type": "http.response.body", "body": b""})
                    return status
                finally:
                    response.close()
            except Exception as exc:
                if state.too_large:
                    if response_started:
                        raise
                    return await self._too_large(send, rid, cors)
                if state.gone:
                    return await self._broken_body(send, rid, cors)
                if response_started:
                    # The status line is out: the only honest signal left is to break the connection.
                    UPSTREAM_ERRORS.labels(upstream.name, "broken").inc()
                    logger.warning(
                        "upstream %s failed mid-response: %s", upstream.name, exc.__class__.__name__
                    )
                    raise
                if _replica_down(exc):
                    upstream.eject(replica)
                if len(tried) < attempts and _retryable(exc, method, forward):
                    UPSTREAM_ERRORS.labels(upstream.name, "retried").inc()
                    logger.info(
                        "upstream %s: retrying on another replica",
                        upstream.name,
                        extra={"upstream": upstream.name, "error": exc.__class__.__name__},
                    )
                    continue
                return await self._upstream_failure(send, exc, upstream, rid, cors)

    async def _send_upstream(
        self,
        pool: ConnectionPool,
        method: str,
        target: str,
        forward: list[tuple[str, str]],
        data: bytes | AsyncIterator[bytes] | None,
        length: int | None,
    ) -> UpstreamResponse:
        """One upstream request; tracing on, inside a client span whose ``traceparent`` replaces
        the client's (the span ends when the response head is in)."""
        if self._tracer is None:
            return await pool.request(method, target, forward, data, content_length=length)
        from opentelemetry import propagate
        from opentelemetry.trace import SpanKind

        attributes: dict[str, str | int] = {
            "http.request.method": method,
            "server.address": pool.host,
            "server.port": pool.port,
        }
        with self._tracer.start_as_current_span(method, kind=SpanKind.CLIENT, attributes=attributes) as span:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            sent = [(name, value) for name, value in forward if name.lower() not in carrier]
            sent.extend(carrier.items())
            response = await pool.request(method, target, sent, data, content_length=length)
            span.set_attribute("http.response.status_code", response.status)
            return response

    async def _export(
        self,
        send: Send,
        receive: Receive,
        exporter: Exporter,
        rid: bytes,
        headers: Headers,
        forward: list[tuple[str, str]],
        caller: str,
    ) -> int:
        """The account export (:mod:`daybook_gateway.export`): the account part decides the status."""
        with exporter.slot() as free:
            if not free:
                busy = [*headers, (b"retry-after", str(RETRY_BUSY_SECONDS).encode())]
                detail = "Too many exports in progress, try again shortly"
                return await self.problem(send, 503, detail, rid, busy)
            sent = part_headers(forward)
            return await self._export_in_slot(send, receive, exporter, rid, headers, sent, caller)

    async def _export_in_slot(
        self,
        send: Send,
        receive: Receive,
        exporter: Exporter,
        rid: bytes,
        headers: Headers,
        sent: dict[str, str],
        caller: str,
    ) -> int:
        users = self.upstreams["users"]
        try:
            first = await exporter.open_part(PARTS[0], sent)
        except Exception as exc:
            return await self._upstream_failure(send, exc, users, rid, headers)
        if first.status != 200:
            status = first.status
            first.close()
            if status == 401:
                return await self._unauthorized(send, rid, headers, "account not active (export)")
            logger.warning("export refused by users", extra={"upstream": "users", "status": status})
            return await self.problem(send, 502, "The users service sent an invalid response", rid, headers)
        out = [(b"x-request-id", rid), SERVER_HEADER, NOSNIFF, *headers]
        try:
            finished = await exporter.stream(send, receive, first, sent, caller, out)
        except Exception as exc:
            # The status line is out: the only honest signal left is to break the connection.
            logger.warning("export failed mid-response: %s", exc, extra={"error": exc.__class__.__name__})
            raise
        if not finished:
            logger.info("export stopped: the client left")
            return 499
        return 200

    async def _stream_body(self, first: bytes, receive: Receive, state: _BodyState) -> AsyncIterator[bytes]:
        total = len(first)
        if total > self.max_body:
            state.too_large = True
            raise BodyTooLarge
        if first:
            yield first
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                state.gone = True
                state.pending = False
                raise ClientGone
            chunk: bytes = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body:
                state.too_large = True
                raise BodyTooLarge
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                state.pending = False
                return

    async def _drain(self, receive: Receive) -> None:
        budget = self.drain_bytes
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                while budget > 0:
                    message = await receive()
                    if message["type"] != "http.request":
                        return
                    budget -= len(message.get("body", b""))
                    if not message.get("more_body", False):
                        return
        except TimeoutError:
            return

    async def _upstream_failure(
        self, send: Send, exc: BaseException, upstream: Upstream, rid: bytes, cors: Headers
    ) -> int:
        name = upstream.name
        if isinstance(exc, TimeoutError):  # connect, read and total timeouts all land here
            status, detail, kind = 504, f"The {name} service did not answer in time", "timeout"
        elif isinstance(exc, ConnectError | aiohttp.ClientConnectorError):  # aiohttp: export parts
            status, detail, kind = 503, f"The {name} service is unavailable", "unavailable"
        else:
            status, detail, kind = 502, f"The {name} service sent an invalid response", "invalid"
        UPSTREAM_ERRORS.labels(name, kind).inc()
        logger.warning(
            "upstream %s failed",
            name,
            extra={"upstream": name, "status": status, "error": exc.__class__.__name__},
        )
        return await self.problem(send, status, detail, rid, cors, service=name)

    @staticmethod
    def _oversized(scope: Scope, header_bytes: int) -> int | None:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        if len(raw_path) + len(scope.get("query_string", b"")) > MAX_TARGET_BYTES:
            return 414
        if header_bytes > MAX_HEADER_BYTES:
            return 431
        return None

    async def _refuse_oversized(
        self,
        send: Send,
        status: int,
        rid: bytes,
        cors: Headers,
        content_length: bytes | None,
        chunked: bool,
        receive: Receive,
    ) -> int:
        if status == 414:
            detail = f"The request target is longer than {MAX_TARGET_BYTES} bytes"
        else:
            detail = f"The request's header fields are larger than {MAX_HEADER_BYTES} bytes"
        logger.info("request refused: %s", detail, extra={"status": status})
        status = await self.problem(send, status, detail, rid, [*cors, (b"connection", b"close")])
        if content_length is not None or chunked:
            await self._drain(receive)
        return status

    async def _broken_body(self, send: Send, rid: bytes, cors: Headers) -> int:
        """The body ended early: a malformed chunked encoding (Granian reports it as a disconnect)
        or a client that left.  Answer 400 — if nobody reads it, nothing is lost — instead of
        returning without a response, which Granian turns into a bare ``500 text/plain``."""
        logger.warning("request body malformed or cut short", extra={"status": 400})
        try:
            return await self.problem(
                send,
                400,
                "The request body is malformed or incomplete",
                rid,
                [*cors, (b"connection", b"close")],
            )
        except Exception:  # the client is really gone: there is nobody to answer
            return 499

    async def _unauthorized(self, send: Send, rid: bytes, cors: Headers, reason: str) -> int:
        """The one generic 401 (``ACCESS_TOKEN_REFUSED``); the reason goes to the log only."""
        logger.info("access token refused: %s", reason, extra={"reason": reason})
        headers = [*cors, (b"www-authenticate", b'Bearer realm="daybook"')]
        return await self.problem(send, 401, ACCESS_TOKEN_REFUSED, rid, headers)

    async def _body_timeout(self, send: Send, rid: bytes, cors: Headers) -> int:
        logger.info("request body not received within %.0f s", self.body_timeout, extra={"status": 408})
        detail = f"The request body was not received within {self.body_timeout:g} s"
        return await self.problem(send, 408, detail, rid, [*cors, (b"connection", b"close")])

    async def _too_large(self, send: Send, rid: bytes, cors: Headers) -> int:
        detail = f"The request body is larger than {self.max_body} bytes"
        return await self.problem(send, 413, detail, rid, cors)
