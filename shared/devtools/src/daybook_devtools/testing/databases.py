"""One PostgreSQL server per test run; a fresh database per test module, built by the real migrations."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg

from daybook_common.migrations import downgrade, upgrade
from daybook_devtools.provision import ServiceRole, provision, role_url

SERVICE_SCHEMAS = ("users", "journal", "reminders")
TEST_PASSWORD = "daybook-test-password"
T = TypeVar("T")


def test_roles() -> list[ServiceRole]:
    return [ServiceRole(schema=s, role=s, password=f"{TEST_PASSWORD}-{s}") for s in SERVICE_SCHEMAS]


def run_in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking code (Alembic's env.py uses asyncio.run) off the test's event loop thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


@dataclass
class TestDatabase:
    admin_url: str = field(repr=False)  # holds the server's admin password
    name: str
    roles: dict[str, ServiceRole] = field(default_factory=dict)

    __test__ = False

    def url(self, schema: str) -> str:
        """The service role's own URL (plain ``postgresql://``)."""
        return role_url(self.admin_url, self.name, self.roles[schema])

    def admin_dsn(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.admin_url).set(database=self.name).render_as_string(hide_password=False)

    def migrate(self, schema: str, script_location: str, revision: str = "head") -> None:
        run_in_thread(upgrade, script_location, self.url(schema), schema, revision)

    def downgrade(self, schema: str, script_location: str, revision: str = "base") -> None:
        run_in_thread(downgrade, script_location, self.url(schema), schema, revision)

    async def admin_connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.admin_dsn())

    async def connect_as(self, schema: str) -> asyncpg.Connection:
        return await asyncpg.connect(self.url(schema))


def create_test_database(admin_url: str, prefix: str = "t") -> TestDatabase:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    roles = test_roles()
    run_in_thread(lambda: asyncio.run(provision(admin_url, name, roles)))
    return TestDatabase(admin_url=admin_url, name=name, roles={r.schema: r for r in roles})


def drop_test_database(db: TestDatabase) -> None:
    async def drop() -> None:
        for attempt in range(3):  # on a loaded machine the server may drop a fresh connection
            try:
                conn = await asyncpg.connect(db.admin_url, timeout=30)
                try:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
                    return
                finally:
                    await conn.close()
            except (OSError, asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.InterfaceError):
                if attempt == 2:
                    raise
                await asyncio.sleep(1)

    run_in_thread(lambda: asyncio.run(drop()))
