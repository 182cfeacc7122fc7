"""``daybook``: run the whole stack locally, migrate, show status, or run one service's command.

daybook up                     start everything, wait for /ready, print URLs; Ctrl-C stops
daybook up --scale journal=2   several processes of a service (the gateway balances them)
daybook migrate [service …]    provision roles/schemas and migrate (all or the named services);
                               a backup first when revisions are pending on data (--no-backup)
daybook migrate --dry-run [service …]   try the pending revisions in a transaction, roll back
daybook status                 which parts answer, ports, metric endpoints, migration revisions vs heads
daybook db report [--check]    statements, indexes, scans, cache, bloat per schema; --check: exit 1 on defects
daybook audit --user ID [--since WHEN]   one user's audit trail across every service
daybook backup [service …] [--to DIR]                 one consistent snapshot of the schemas
daybook restore DIR [service …] [--data-dir D | --database-url URL]   into an empty database
daybook users|journal|reminders|gateway ARGS…   that service's own command line
daybook images build [--local-base] | test      container images; compose with the root tests
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from daybook_deploy.config import ConfigError, StackConfig, parse_scale
from daybook_deploy.launcher import Stack, StackError, describe_urls
from daybook_deploy.services import BY_NAME, MIGRATING, SCHEMAS, SERVICES, selection
from daybook_devtools.embedded import PortInUseError

FORWARDED = ("users", "journal", "reminders", "gateway")


def _say(message: str) -> None:
    print(f"daybook: {message}", flush=True)


def _fail(message: str) -> None:
    print(f"daybook: {message}", file=sys.stderr, flush=True)


class _Terminate(Exception):
    """SIGTERM/SIGHUP: stop like Ctrl-C."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Terminate(signal.Signals(signum).name)


def cmd_up(config: StackConfig) -> int:
    sys.dont_write_bytecode = False  # see Stack.child_env: cached bytecode makes later starts fast
    stack = Stack(config, report=_say)
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    # Ctrl-C, even when started from a shell that ignores SIGINT for background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    began = time.monotonic()
    code = 0
    try:
        stack.start()
        stack.wait_ready()
        elapsed = time.monotonic() - began
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in stack.timings.items())
        width = max(len(label) for label, _ in describe_urls(stack))
        print(f"\nDaybook is ready in {elapsed:.1f}s ({steps})", flush=True)
        for label, url in describe_urls(stack):
            print(f"  {label:<{width}}  {url}", flush=True)
        print(f"  {'data':<{width}}  {config.data_dir}", flush=True)
        if not os.environ.get("USERS_SMTP_URL"):
            print(f"  {'mail':<{width}}  {config.mail_dir} (each email as an .eml file)", flush=True)
        if stack.skipped:
            print(f"  {'skipped':<{width}}  {', '.join(stack.skipped)}", flush=True)
        print("Press Ctrl-C to stop.\n", flush=True)
        stack.supervise()  # returns only by raising: GaveUp (a StackError) or Ctrl-C/SIGTERM
    except PortInUseError as exc:
        _fail(str(exc))
        return 2
    except StackError as exc:
        _fail(str(exc))
        code = 1
    except (KeyboardInterrupt, _Terminate):
        _say("stopping…")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        try:
            stack.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            signal.signal(signal.SIGINT, signal.default_int_handler)
    _say("stopped")
    return code


def cmd_migrate(config: StackConfig, names: list[str], dry_run: bool = False, backup: bool = True) -> int:
    from daybook_deploy.manifest import BackupError
    from daybook_deploy.operations import migrate

    try:
        if dry_run:
            from daybook_deploy.dry_run import migrate_dry_run

            results = migrate_dry_run(config, names, _say)
            return 1 if any(t.error for _, result in results for t in result.trials) else 0
        migrate(config, names, _say, backup=backup)
    except PortInUseError as exc:
        _fail(str(exc))
        return 2
    except (StackError, BackupError) as exc:
        _fail(str(exc))
        return 1
    return 0


def cmd_db_report(config: StackConfig, check: bool) -> int:
    import asyncpg

    from daybook_deploy.dbreport import collect, render
    from daybook_deploy.launcher import admin_database_url, run_in_thread
    from daybook_deploy.operations import admin_database

    try:
        with admin_database(config, _say) as admin:
            dsn = admin_database_url(admin, config.database)
            report = run_in_thread(lambda: asyncio.run(collect(dsn, list(SCHEMAS))))
    except (StackError, OSError, asyncpg.PostgresError) as exc:
        _fail(f"cannot read the database: {exc}")
        return 2
    for line in render(report):
        print(line)
    return 1 if check and report.defects else 0


def cmd_backup(config: StackConfig, names: list[str], to: Path | None) -> int:
    from daybook_deploy.backup import backup
    from daybook_deploy.manifest import BackupError

    try:
        backup(config, names, to, _say)
    except PortInUseError as exc:
        _fail(str(exc))
        return 2
    except (BackupError, StackError) as exc:
        _fail(str(exc))
        return 1
    return 0


def cmd_restore(config: StackConfig, source: Path, names: list[str]) -> int:
    from daybook_deploy.manifest import BackupError
    from daybook_deploy.restore import restore

    try:
        restore(config, source, names, _say)
    except PortInUseError as exc:
        _fail(str(exc))
        return 2
    except (BackupError, StackError) as exc:
        _fail(str(exc))
        return 1
    _say(
        f"done; start it with: DAYBOOK_DATA_DIR={config.data_dir} daybook up"
        if config.embedded_pg
        else "done"
    )
    return 0


def cmd_status(config: StackConfig) -> int:
    from daybook_deploy.operations import status

    lines = status(config)
    part_w = max(len(line.part) for line in lines)
    where_w = max(len(line.where) for line in lines)
    for line in lines:
        mark = "ok " if line.ok else "-- "
        print(f"{mark}{line.part:<{part_w}}  {line.where:<{where_w}}  {line.state}")
    return 0 if all(line.ok for line in lines) else 1


def forward(name: str, argv: Sequence[str]) -> int:
    """Run ``daybook_<name>.cli.main(argv)`` with the launcher's settings as defaults."""
    from daybook_deploy.operations import forwarded_env

    spec = BY_NAME[name]
    config = StackConfig.from_env()
    for key, value in forwarded_env(config, spec).items():
        os.environ.setdefault(key, value)
    try:
        module = importlib.import_module(f"{spec.package}.cli")
    except ModuleNotFoundError:
        _fail(f"{spec.package}.cli is not installed")
        return 1
    result = module.main(list(argv))
    return int(result) if isinstance(result, int) else 0


def cmd_audit(config: StackConfig, user: str, since: str | None) -> int:
    import uuid

    from daybook_deploy.audit import parse_since, print_trail

    try:
        user_id = uuid.UUID(user)
        start = parse_since(since)
    except ValueError:
        _fail("--user takes an account id (a UUID); --since an RFC 3339 time, a date, or Nd / Nh")
        return 2
    try:
        count = print_trail(config, user_id, start, lambda line: print(line, flush=True))
    except (StackError, OSError) as exc:
        _fail(str(exc))
        return 1
    _say(f"{count} change{'' if count == 1 else 's'} of {user_id}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="daybook",
        description="Run Daybook locally: embedded PostgreSQL and NATS, every service, the gateway.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p_up = sub.add_parser("up", help="start the whole stack and wait; Ctrl-C stops it")
    p_up.add_argument(
        "services",
        nargs="*",
        metavar="SERVICE",
        help="start only these (and what they need), e.g. `daybook up journal`; default: everything",
    )
    p_up.add_argument(
        "--pgbouncer",
        action="store_true",
        default=None,
        help="the services reach PostgreSQL through a PgBouncer in transaction mode (the system's "
        "pgbouncer, on DAYBOOK_PGBOUNCER_PORT, default 16432); default: DAYBOOK_PGBOUNCER",
    )
    p_up.add_argument(
        "--scale",
        metavar="NAME=N,…",
        default=None,
        help="run N processes of a service, e.g. journal=2,reminders=2,gateway=2 (replica i listens on "
        "its port + 10·i; the gateways balance over every replica); default: DAYBOOK_SCALE, else one each",
    )
    p_migrate = sub.add_parser("migrate", help="provision roles/schemas and run migrations")
    p_migrate.add_argument(
        "services", nargs="*", metavar="SERVICE", help=f"one of {', '.join(s.name for s in MIGRATING)}"
    )
    p_migrate.add_argument(
        "--dry-run",
        action="store_true",
        help="try each pending revision in a transaction and roll back, printing its statements and times",
    )
    p_migrate.add_argument(
        "--no-backup",
        action="store_true",
        help="do not back up the schemas first (taken when revisions are pending and they hold rows)",
    )
    sub.add_parser("status", help="which parts answer, ports, migration revisions vs heads")
    p_db = sub.add_parser("db", help="the database's health: `daybook db report [--check]`")
    db_sub = p_db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    p_report = db_sub.add_parser(
        "report",
        help="per schema: top statements, unused/duplicate indexes, foreign keys without an index, "
        "sequential scans, cache hit ratio, dead tuples; long transactions",
    )
    p_report.add_argument(
        "--check",
        action="store_true",
        help="exit 1 on a defect: a foreign key without an index, a duplicate index",
    )
    p_backup = sub.add_parser(
        "backup", help="dump every service's schema (or the named ones) from one snapshot, with a manifest"
    )
    p_backup.add_argument(
        "services", nargs="*", metavar="SERVICE", help="default: every service with a schema"
    )
    p_backup.add_argument(
        "--to", type=Path, metavar="DIR", help="a new directory (default: backups/daybook-<time>)"
    )
    p_restore = sub.add_parser(
        "restore", help="check a backup (checksums, revisions) and restore it into an empty database"
    )
    p_restore.add_argument("source", type=Path, metavar="DIR", help="a directory made by daybook backup")
    p_restore.add_argument(
        "services", nargs="*", metavar="SERVICE", help="default: every schema in the backup"
    )
    target = p_restore.add_mutually_exclusive_group()
    target.add_argument(
        "--data-dir", type=Path, metavar="D", help="the embedded PostgreSQL of this data dir (made if new)"
    )
    target.add_argument("--database-url", metavar="URL", help="superuser URL of an existing PostgreSQL")
    p_audit = sub.add_parser("audit", help="one user's audit trail across every service (operators)")
    p_audit.add_argument("--user", required=True, metavar="ID", help="the account id")
    p_audit.add_argument("--database", metavar="NAME", help="the database name (default: daybook)")
    p_audit.add_argument(
        "--since",
        metavar="WHEN",
        help="RFC 3339 time, YYYY-MM-DD, or 7d / 12h ago (default: everything kept)",
    )
    for name in FORWARDED:
        sub.add_parser(name, help=f"the {name} service's own command (daybook-{name} --help)", add_help=False)
    sub.add_parser(
        "seed", help="bulk demo data: same as `daybook journal seed` (--help for options)", add_help=False
    )
    sub.add_parser(
        "bench", help="run the benchmarks and print the table (--help for options)", add_help=False
    )
    sub.add_parser(
        "images",
        help="build every container image / run compose with the root tests (--help)",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # platformdirs warns about a missing XDG_RUNTIME_DIR on servers; it is harmless here.
    warnings.filterwarnings("ignore", module="platformdirs")
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in FORWARDED:
        return forward(args_list[0], args_list[1:])
    if args_list and args_list[0] == "seed":
        return forward("journal", ["seed", *args_list[1:]])
    if args_list and args_list[0] == "images":
        from daybook_deploy.images import main as images_main

        return images_main(args_list[1:])
    if args_list and args_list[0] == "bench":
        from daybook_bench.run import main as bench_main

        result = bench_main(args_list[1:])
        return int(result) if isinstance(result, int) else 0
    args = build_parser().parse_args(args_list)
    try:
        config = StackConfig.from_env()
    except ConfigError as exc:
        _fail(str(exc))
        return 2
    if args.command == "up":
        try:
            selection(args.services)
        except KeyError as exc:
            _fail(str(exc.args[0]))
            return 2
        config.services = tuple(args.services)
        if args.pgbouncer:
            config.pgbouncer = True
        if args.scale is not None:
            try:
                config.scale = parse_scale(args.scale)
            except ConfigError as exc:
                _fail(str(exc))
                return 2
        return cmd_up(config)
    if args.command == "migrate":
        unknown = [n for n in args.services if n not in {s.name for s in MIGRATING}]
        if unknown:
            _fail(
                f"no migrations for {', '.join(unknown)}; choose from {', '.join(s.name for s in MIGRATING)}"
            )
            return 2
        return cmd_migrate(config, list(args.services), dry_run=args.dry_run, backup=not args.no_backup)
    if args.command == "status":
        return cmd_status(config)
    if args.command == "db":
        return cmd_db_report(config, args.check)
    if args.command == "backup":
        return cmd_backup(config, list(args.services), args.to)
    if args.command == "restore":
        if args.data_dir is not None:
            config.data_dir = args.data_dir.absolute()
            config.database_url = None
        if args.database_url:
            config.database_url = args.database_url
        return cmd_restore(config, args.source, list(args.services))
    if args.command == "audit":
        if args.database:
            config.database = args.database
        return cmd_audit(config, args.user, args.since)
    raise AssertionError(args.command)


def run() -> None:
    sys.exit(main())


__all__ = ["SERVICES", "main", "run"]

if __name__ == "__main__":
    run()
