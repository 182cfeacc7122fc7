"""The stack under test: started like ``daybook up`` (``daybook_deploy.launcher.Stack``).

Every process binds a free port, so a running ``daybook up`` is not disturbed.  PostgreSQL and
NATS are embedded (data in the bench's data dir) unless ``DATABASE_URL`` / ``NATS_URL`` are set;
then a database of its own (``daybook_bench_<hex>``) is used and dropped afterwards.  The stack's
scheduler is not started: case 4 runs its own scheduler processes (1, then 2).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from daybook_deploy.config import DEFAULT_DATA_DIR, StackConfig
from daybook_deploy.launcher import Stack, admin_database_url
from daybook_deploy.services import HTTP_SERVICES, SCHEMAS
from daybook_devtools.embedded import free_port

# Everything but the scheduler (the gateway depends on users, journal and reminders).
SERVICES = ("gateway",)
TOKEN_TTL_SECONDS = 4 * 3600


def _given_passwords(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """Role passwords for a given (shared) cluster: from the environment, else ``daybook up``'s own.

    Roles are cluster-wide: provisioning with new random passwords would change the ones a
    running ``daybook up`` uses on the same server.
    """
    passwords = StackConfig.from_env(environ).passwords
    secrets_dir = Path(environ.get("DAYBOOK_DATA_DIR") or DEFAULT_DATA_DIR) / "secrets"
    for schema in SCHEMAS:
        stored = secrets_dir / f"{schema}-db-password"
        if schema not in passwords and stored.exists():
            passwords[schema] = stored.read_text().strip()
    return passwords


@dataclass
class BenchStack:
    data_dir: Path
    report: Callable[[str], None] = print
    extra_env: dict[str, str] = field(default_factory=dict)
    stack: Stack | None = field(default=None, init=False)
    config: StackConfig | None = field(default=None, init=False)
    external_database: str | None = field(default=None, init=False)

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> float:
        environ = os.environ
        database_url = environ.get("DATABASE_URL") or None
        nats_url = environ.get("NATS_URL") or None
        database = "daybook"
        passwords: dict[str, str] = {}
        if database_url is not None:
            database = f"daybook_bench_{uuid.uuid4().hex[:10]}"
            self.external_database = database
            passwords = _given_passwords(environ)
        self.config = StackConfig(
            data_dir=self.data_dir,
            database_url=database_url,
            nats_url=nats_url,
            pg_port=free_port(),
            nats_port=free_port(),
            ports={spec.name: free_port() for spec in HTTP_SERVICES},
            database=database,
            passwords=passwords,
            log_dir=self.data_dir / "logs",
            pg_fsync=True,
            ready_timeout=180,
            services=SERVICES,
            extra_env=self.extra_env,
        )
        self.stack = Stack(self.config, report=self.report)
        self.stack.start()
        return self.stack.wait_ready()

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop()
        if self.external_database is not None and self.config is not None:
            try:
                asyncio.run(self._drop_database())
            except (OSError, asyncpg.PostgresError) as exc:
                self.report(f"could not drop the bench database {self.external_database}: {exc}")

    async def _drop_database(self) -> None:
        assert self.config is not None and self.config.database_url is not None
        conn = await asyncpg.connect(admin_database_url(self.config.database_url, "postgres"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.external_database}" WITH (FORCE)')
        finally:
            await conn.close()

    def logs(self, lines: int = 20) -> str:
        log_dir = self.data_dir / "logs"
        parts = []
        for path in sorted(log_dir.glob("*.log")) if log_dir.exists() else []:
            tail = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            parts.append(f"--- {path.name}\n{tail}")
        return "\n".join(parts)

    # --- where things are ---------------------------------------------------------------------
    def _stack(self) -> Stack:
        if self.stack is None:
            raise RuntimeError("the stack is not started")
        return self.stack

    @property
    def gateway_url(self) -> str:
        return self._stack().gateway_url

    def service_url(self, name: str) -> str:
        return self._stack().service_urls[name]

    @property
    def admin_dsn(self) -> str:
        """Superuser URL of the stack's database (seeding, polling; bypasses row-level security)."""
        stack = self._stack()
        assert stack.admin_url is not None and self.config is not None
        return admin_database_url(stack.admin_url, self.config.database)

    def role_url(self, schema: str) -> str:
        """The service role's own URL (what the service itself connects with)."""
        return self._stack().endpoints().database_urls[schema]

    @property
    def signing_key_file(self) -> Path:
        assert self.config is not None
        return self.config.signing_key_file

    def process_roots(self) -> dict[str, int]:
        """Root pid of each part of the stack (each owns its process tree), for CPU accounting."""
        stack = self._stack()
        roots = {child.name: child.proc.pid for child in stack.children if child.proc.poll() is None}
        if stack.postgres is not None and stack.postgres.proc is not None:
            roots["postgres"] = stack.postgres.proc.pid
        if stack.nats is not None and stack.nats.proc is not None:
            roots["nats"] = stack.nats.proc.pid
        return roots

    def mint_tokens(self, user_ids: Sequence[uuid.UUID], ttl_seconds: int = TOKEN_TTL_SECONDS) -> list[str]:
        """Access tokens exactly as the users service issues them, signed with the stack's key."""
        from daybook_common.auth import AuthSettings
        from daybook_users.auth.keys import load_signing_keys
        from daybook_users.auth.tokens import AccessTokenIssuer
        from daybook_users.settings import KeySettings

        keys = load_signing_keys(KeySettings(signing_key_file=self.signing_key_file, generate=False))
        issuer = AccessTokenIssuer(keys=keys, auth=AuthSettings(), ttl_seconds=ttl_seconds)
        return [issuer.issue(user_id) for user_id in user_ids]


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
