"""Cross-service tests: they speak HTTP to the gateway only.

Without ``GATEWAY_URL`` a session fixture starts the whole stack the way ``daybook up``
does (``daybook_deploy.launcher.Stack``), on free ports with a temporary data dir, on the
test run's PostgreSQL and NATS (embedded, or ``TEST_DATABASE_URL`` / ``TEST_NATS_URL``) in a
database of its own.  With ``GATEWAY_URL`` (compose's ``tests`` service) they run against
that stack instead.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from daybook_deploy.config import StackConfig
from daybook_deploy.launcher import Stack, StackError
from daybook_deploy.services import HTTP_SERVICES
from daybook_devtools.embedded import free_port
from daybook_devtools.testing import databases as harness
from daybook_devtools.testing.databases import TestDatabase, drop_test_database


def _logs(log_dir: Path) -> str:
    parts = []
    for path in sorted(log_dir.glob("*.log")):
        tail = "\n".join(path.read_text(errors="replace").splitlines()[-25:])
        parts.append(f"--- {path.name}\n{tail}")
    return "\n".join(parts)


def _wait_for_ready(url: str, timeout: float = 120.0) -> str:
    """A stack started by someone else (compose) may still be warming up: wait for its /ready."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url + "/ready", timeout=5)
            if response.status_code == 200:
                return url
            last = f"{response.status_code} {response.text[:500]}"
        except httpx.HTTPError as exc:
            last = exc.__class__.__name__
        time.sleep(1)
    pytest.fail(f"{url}/ready did not answer 200 within {timeout:.0f}s: {last}", pytrace=False)


_STACK_ADMIN_DSN: dict[str, str] = {}
_STACK_METRICS: dict[str, str] = {}


@pytest.fixture(scope="session")
def stack_metrics_urls(gateway_url: str) -> dict[str, str]:
    """Each process's ``/metrics`` URL by process name (``gateway``: its admin port).

    Against a given ``GATEWAY_URL`` from ``DAYBOOK_TEST_METRICS_URLS`` (``name=url,…``; compose sets it)."""
    given = os.environ.get("DAYBOOK_TEST_METRICS_URLS")
    if given:
        return dict(item.split("=", 1) for item in given.split(",") if item)
    if not _STACK_METRICS:
        pytest.fail("set DAYBOOK_TEST_METRICS_URLS to name=url pairs of the stack's /metrics", pytrace=False)
    return dict(_STACK_METRICS)


_STACK_MAIL_DIR: dict[str, str] = {}


@pytest.fixture(scope="session")
def stack_mail_dir(gateway_url: str) -> Path:
    """Where the stack's users service writes each email as an ``.eml`` file.

    Against a given ``GATEWAY_URL`` it comes from ``DAYBOOK_TEST_MAIL_DIR`` (compose mounts the
    users-mail volume there).
    """
    where = os.environ.get("DAYBOOK_TEST_MAIL_DIR") or _STACK_MAIL_DIR.get("dir")
    if not where:
        pytest.fail("set DAYBOOK_TEST_MAIL_DIR to the users service's mail directory", pytrace=False)
    return Path(where)


@pytest.fixture(scope="session")
def stack_admin_dsn(gateway_url: str) -> str:
    """Superuser DSN of the stack's database, for tests that check what is stored (erasure).

    Against a given ``GATEWAY_URL`` it comes from ``DAYBOOK_TEST_ADMIN_DSN`` (compose sets it).
    """
    dsn = os.environ.get("DAYBOOK_TEST_ADMIN_DSN") or _STACK_ADMIN_DSN.get("dsn")
    if not dsn:
        pytest.fail("set DAYBOOK_TEST_ADMIN_DSN to the stack database's superuser URL", pytrace=False)
    return dsn


@contextlib.contextmanager
def started_stack(
    request: pytest.FixtureRequest,
    root: Path,
    extra_env: dict[str, str] | None = None,
    own_nats: bool = False,
) -> Iterator[Stack]:
    """The whole stack as ``daybook up`` starts it, on free ports, in a database of its own on the
    test run's PostgreSQL and NATS; stopped and dropped on leaving. ``own_nats``: an embedded NATS
    of its own instead (durable consumers are named per service, so two stacks on one NATS would
    share each other's events)."""
    admin_url: str = request.getfixturevalue("pg_admin_url")
    nats_url: str | None = None if own_nats else request.getfixturevalue("nats_url")
    database = f"e2e_{uuid.uuid4().hex[:12]}"
    config = StackConfig(
        data_dir=root / "data",
        database_url=admin_url,
        nats_url=nats_url,
        nats_port=free_port(),
        ports={spec.name: free_port() for spec in HTTP_SERVICES},
        database=database,
        # The test harness's role passwords: roles are cluster-wide, and the per-module
        # databases of other tests re-provision them with these.
        passwords={role.schema: role.password for role in harness.test_roles()},
        log_dir=root / "logs",
        ready_timeout=90,
        # Every test client shares one address: the default registration limit (30/3600) is for
        # people. 127.0.0.1 is a trusted proxy, so a test can speak for other clients (X-Forwarded-For).
        # A 1 s heartbeat of the live notification stream, so its test need not wait 15 s.
        extra_env={
            "GATEWAY_RATE_LIMIT_REGISTER": "1000/60",
            "GATEWAY_TRUSTED_PROXIES": "127.0.0.1/32",
            "REMINDERS_STREAM_HEARTBEAT_SECONDS": "1",
            **(extra_env or {}),
        },
        # DAYBOOK_PGBOUNCER=1: every service through a PgBouncer in transaction mode (.ci/run does a pass).
        pgbouncer=bool(os.environ.get("DAYBOOK_PGBOUNCER")),
        pgbouncer_port=free_port(),
    )
    stack = Stack(config)
    try:
        stack.start()
        stack.wait_ready()
    except StackError as exc:
        stack.stop()
        pytest.fail(f"the stack did not start: {exc}\n{_logs(root / 'logs')}", pytrace=False)
    try:
        yield stack
    finally:
        stack.stop()
        drop_test_database(TestDatabase(admin_url=admin_url, name=database))


StartStack = Callable[..., contextlib.AbstractContextManager[Stack]]


@pytest.fixture(scope="session")
def start_stack(request: pytest.FixtureRequest) -> StartStack:
    """:func:`started_stack` for a test module that needs a stack of its own (other settings)."""
    return functools.partial(started_stack, request)


def _web_build_stand_in(root: Path) -> Path:
    """A Vite-shaped build for the stack these tests start (``tests/test_web_app.py``), so that they
    need no Node.js; against compose's gateway the image's own build of ``web/`` answers instead."""
    (root / "assets").mkdir()
    (root / "assets" / "index-T3st0nly.js").write_text(
        'document.getElementById("root").textContent = "Daybook";\n'
    )
    (root / "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Daybook</title>\n'
        '<script type="module" crossorigin src="/assets/index-T3st0nly.js"></script></head>\n'
        '<body><div id="root"></div></body></html>\n'
    )
    return root


@pytest.fixture(scope="session")
def gateway_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("GATEWAY_URL")
    if given:
        yield _wait_for_ready(given.rstrip("/"))
        return
    web_dir = _web_build_stand_in(tmp_path_factory.mktemp("web"))
    with started_stack(request, tmp_path_factory.mktemp("stack"), {"GATEWAY_WEB_DIR": str(web_dir)}) as stack:
        config = stack.config
        _STACK_METRICS.update(config.metrics_urls())
        admin_url: str = request.getfixturevalue("pg_admin_url")
        _STACK_ADMIN_DSN["dsn"] = harness.TestDatabase(admin_url=admin_url, name=config.database).admin_dsn()
        _STACK_MAIL_DIR["dir"] = str(config.mail_dir)
        yield stack.gateway_url


@pytest.fixture(scope="session")
def http(gateway_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        yield client
