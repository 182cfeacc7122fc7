"""The per-request access line: the fast writer prints exactly what ``JsonFormatter`` prints for the
same record, batches it, flushes at shutdown, and steps aside (plain ``logging``) for any other set-up.
Also the scope-level helpers the list fast path uses for auth."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from daybook_common import logs
from daybook_common.auth import (
    TokenVerifier,
    authorization_header,
    bearer_token,
    static_jwks_loader,
    verified_caller,
)
from daybook_common.logs import NO_UPSTREAM, AccessLog, JsonFormatter, configure_logging, request_id_var
from daybook_common.observability import RequestIdMiddleware, new_request_id
from daybook_common.service import wrap_outermost
from daybook_devtools.testing.tokens import TestSigner


class DaybookLogging:
    """Logging as a served process has it: the daybook JSON handler alone on the root logger.

    pytest adds its capture handlers to the root logger for each test phase, so a test
    calls :meth:`alone` in its body (the fast writer steps aside while they are there).
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        configure_logging("svc", "INFO")
        root = logging.getLogger()
        self.handler = next(h for h in root.handlers if getattr(h, "_daybook", False))
        self.stream = io.StringIO()
        self.handler.setStream(self.stream)  # type: ignore[attr-defined]

    def alone(self) -> None:
        self.monkeypatch.setattr(logging.getLogger(), "handlers", [self.handler])
        assert logs._sole_daybook_handler() is self.handler


@pytest.fixture
def daybook_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[DaybookLogging]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield DaybookLogging(monkeypatch)
    root.handlers = saved[0]
    root.setLevel(saved[1])


@pytest.mark.parametrize(
    ("method", "path", "status", "duration_ms", "request_id", "upstream"),
    [
        ("GET", "/api/v1/journal/entries", 200, 1.23, "0123456789abcdef0123456789abcdef", NO_UPSTREAM),
        ("POST", '/we"ird\\päth\n', 404, 0.0, 'rid"with\\quotes', NO_UPSTREAM),
        ("DELETE", None, 500, 12345.67, None, NO_UPSTREAM),
        ("GET", "/x", 200, 1e-05, "", NO_UPSTREAM),
        # the gateway's lines: the service the request went to, or null
        ("GET", "/api/v1/journal", 200, 0.5, "0123456789abcdef0123456789abcdef", "journal"),
        ("GET", '/we"ird\\path', 404, 1.5, "rid-1", None),
    ],
)
async def test_the_fast_line_is_the_formatters_line(
    daybook_logging: DaybookLogging,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str | None,
    status: int,
    duration_ms: float,
    request_id: str | None,
    upstream: object,
) -> None:
    created = 1_795_000_000.125
    monkeypatch.setattr(logs.time, "time", lambda: created)
    daybook_logging.alone()
    log = AccessLog()
    made_here = request_id if request_id and request_id.isalnum() else None  # known to need no escaping
    token = request_id_var.set(request_id)
    try:
        log.record(method, path, status, duration_ms, made_here, upstream=upstream)
    finally:
        request_id_var.reset(token)
    assert daybook_logging.stream.getvalue() == ""  # not through logging: waiting for the flush
    log.flush()
    line = daybook_logging.stream.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1
    expected = JsonFormatter("svc")
    record = logging.LogRecord("daybook.access", logging.INFO, __file__, 1, "request", None, None)
    record.created, record.msecs = created, 125.0
    fields = {"method": method, "path": path, "status": status}
    if upstream is not NO_UPSTREAM:
        fields["upstream"] = upstream
    fields["duration_ms"] = duration_ms
    for key, value in fields.items():
        setattr(record, key, value)
    token = request_id_var.set(request_id)
    try:
        assert line == expected.format(record) + "\n"  # byte for byte, key order included
    finally:
        request_id_var.reset(token)


def test_lines_wait_for_the_batch_or_are_written_at_once_without_a_loop(
    daybook_logging: DaybookLogging,
) -> None:
    daybook_logging.alone()
    log = AccessLog(interval=3600, batch=2)
    log.record("GET", "/a", 200, 1.0)  # no running loop here: written at once
    assert daybook_logging.stream.getvalue().count("\n") == 1


async def test_a_full_batch_is_written_without_waiting(daybook_logging: DaybookLogging) -> None:
    daybook_logging.alone()
    log = AccessLog(interval=3600, batch=2)
    log.record("GET", "/a", 200, 1.0)
    assert daybook_logging.stream.getvalue() == ""
    log.record("GET", "/b", 200, 1.0)
    assert daybook_logging.stream.getvalue().count("\n") == 2


async def test_served_lines_are_batched_and_flushed_at_shutdown(
    daybook_logging: DaybookLogging, monkeypatch: pytest.MonkeyPatch
) -> None:
    daybook_logging.alone()
    monkeypatch.setattr(logs.access_log, "interval", 3600)  # only the shutdown writes them

    @get("/ping", sync_to_thread=False)
    def ping() -> str:
        return "pong"

    app = Litestar([ping], logging_config=None, on_shutdown=[logs.access_log.flush])  # as ServiceApp
    wrap_outermost(app, RequestIdMiddleware, access_log=True)
    async with AsyncTestClient(app) as client:
        for n in range(3):
            r = await client.get("/ping", headers={"X-Request-ID": f"req-{n}"})
            assert r.status_code == 200
        assert "daybook.access" not in daybook_logging.stream.getvalue()  # still batched
    lines = [json.loads(line) for line in daybook_logging.stream.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "daybook.access"]
    assert [line["request_id"] for line in access] == ["req-0", "req-1", "req-2"]  # flushed by the shutdown
    assert all(
        line["path"] == "/ping" and line["status"] == 200 and line["service"] == "svc" for line in access
    )


def test_any_other_logging_set_up_gets_a_plain_record(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="daybook.access")
    AccessLog().record("GET", "/p", 201, 2.5)
    records = [r for r in caplog.records if r.name == "daybook.access"]
    assert len(records) == 1
    assert (records[0].method, records[0].path, records[0].status, records[0].duration_ms) == (  # type: ignore[attr-defined]
        "GET",
        "/p",
        201,
        2.5,
    )


def test_a_level_above_info_drops_the_line(daybook_logging: DaybookLogging) -> None:
    daybook_logging.alone()
    logging.getLogger().setLevel(logging.WARNING)
    log = AccessLog(interval=0)
    log.record("GET", "/p", 200, 1.0)
    log.flush()
    assert daybook_logging.stream.getvalue() == ""


def test_new_request_ids_look_like_uuid4_hex() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    for rid in ids:
        parsed = uuid.UUID(rid)
        assert rid == parsed.hex and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_authorization_header_is_the_first_one_like_request_headers() -> None:
    scope = {
        "headers": [(b"accept", b"*/*"), (b"authorization", b"Bearer a\xe9"), (b"Authorization", b"Bearer b")]
    }
    assert authorization_header(scope) == "Bearer a\xe9"  # latin-1, as Litestar decodes headers
    assert authorization_header({"headers": [(b"AUTHORIZATION", b"x")]}) == "x"
    assert authorization_header({"headers": []}) is None
    assert bearer_token(authorization_header(scope)) == "a\xe9"


async def test_verified_caller_gives_the_user_or_the_401() -> None:
    signer = TestSigner()
    verifier = TokenVerifier("daybook-users", "daybook-api", static_jwks_loader(signer.jwks))
    user = uuid.uuid4()
    scope = {"headers": [(b"authorization", f"Bearer {signer.token(user)}".encode())]}
    assert (await verified_caller(scope, verifier)).user_id == user
    for headers in ([], [(b"authorization", b"Basic x")], [(b"authorization", b"Bearer nope")]):
        with pytest.raises(Exception) as caught:
            await verified_caller({"headers": headers}, verifier)
        assert getattr(caught.value, "status_code", None) == 401
        assert caught.value.headers == {"WWW-Authenticate": 'Bearer realm="daybook"'}  # type: ignore[attr-defined]
