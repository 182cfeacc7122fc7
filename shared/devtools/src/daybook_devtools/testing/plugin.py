"""pytest plugin (loaded with ``-p daybook_devtools.testing.plugin``).

Starts one embedded PostgreSQL and one NATS server per test run, or uses
``TEST_DATABASE_URL`` (a superuser URL) / ``TEST_NATS_URL`` when given.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from daybook_devtools.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from daybook_devtools.testing.databases import TestDatabase, create_test_database, drop_test_database
from daybook_devtools.testing.tokens import TestSigner


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    os.environ.setdefault("DAYBOOK_PG_FSYNC_OFF", "1")
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", free_port())
    server.start()
    try:
        yield server.admin_url()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server of the test module's own, for tests that stop, hang or kill it."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("own-pg") / "data", free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("TEST_NATS_URL")
    if given:
        yield given
        return
    server = EmbeddedNats(tmp_path_factory.mktemp("nats") / "store", free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fresh_database(pg_admin_url: str) -> Iterator[TestDatabase]:
    """A new database for this test module with every service's schema and role provisioned."""
    db = create_test_database(pg_admin_url)
    try:
        yield db
    finally:
        drop_test_database(db)


@pytest.fixture(scope="session")
def signer() -> TestSigner:
    return TestSigner()
