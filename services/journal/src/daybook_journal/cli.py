"""`daybook-journal serve|migrate|downgrade|purge-trash|backfill-session-snapshots|seed`."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Sequence
from pathlib import Path

from daybook_common.cli import common_database, service_main
from daybook_journal.settings import Settings


def _purge_trash(args: argparse.Namespace) -> None:
    from daybook_common.db import plain_url
    from daybook_journal.retention import purge_trash

    settings = Settings.from_env()
    days = args.days if args.days is not None else settings.journal.trash_retention_days

    async def run() -> dict[str, int]:
        import asyncpg

        pool = await asyncpg.create_pool(plain_url(settings.common.database.url), min_size=1, max_size=1)
        try:
            return await purge_trash(pool, days, settings.journal.idempotency_ttl_hours, args.batch_size)
        finally:
            await pool.close()

    counts = asyncio.run(run())
    print(
        f"purged trash older than {days} days: "
        + ", ".join(f"{table} {count}" for table, count in counts.items())
    )


def _backfill_session_snapshots(args: argparse.Namespace) -> None:
    from daybook_common.db import plain_url
    from daybook_journal.sessions.snapshots import backfill

    settings = Settings.from_env()

    async def run() -> int:
        import asyncpg

        pool = await asyncpg.create_pool(
            plain_url(settings.common.database.url), min_size=args.workers, max_size=args.workers
        )
        try:
            return await backfill(pool, args.batch_size, args.workers)
        finally:
            await pool.close()

    print(f"wrote {asyncio.run(run())} session activity snapshots")


def _seed(args: argparse.Namespace) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from daybook_journal.seed import seed

    user_ids: list[uuid.UUID] | None = None
    if args.user_ids_file:
        lines = Path(args.user_ids_file).read_text().split()
        user_ids = [uuid.UUID(line) for line in lines if line.strip()]
    users = args.users if args.users is not None else len(user_ids or [])
    if users < 1:
        raise SystemExit("give --users N (or --user-ids-file)")
    url = args.database_url or Settings.from_env().common.database.url
    total = users * (args.entries_per_user + args.tasks_per_user)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        "[progress.percentage]{task.percentage:>3.0f}%",
        TimeRemainingColumn(),
    ) as progress:
        bar = progress.add_task("seeding entries and tasks", total=total)
        result = asyncio.run(
            seed(
                url,
                users,
                args.entries_per_user,
                tasks_per_user=args.tasks_per_user,
                tags_per_user=args.tags_per_user,
                user_ids=user_ids,
                random_seed=args.random_seed,
                on_progress=lambda n: progress.advance(bar, n),
            )
        )
    if args.write_user_ids:
        Path(args.write_user_ids).write_text("".join(f"{u}\n" for u in result.user_ids))
    print(
        f"seeded {result.users} users: {result.entries} entries, {result.tags} tags, "
        f"{result.tasks} tasks, {result.links} tag links"
    )
    print(f"{result.rows} rows in {result.seconds:.1f} s ({result.rows_per_second:,.0f} rows/s)")


def _extra(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    purge = sub.add_parser("purge-trash", help="hard-delete trash older than JOURNAL_TRASH_RETENTION_DAYS")
    purge.add_argument("--days", type=int, default=None, help="override JOURNAL_TRASH_RETENTION_DAYS")
    purge.add_argument("--batch-size", type=int, default=5000)
    purge.set_defaults(handler=_purge_trash)

    snapshots = sub.add_parser(
        "backfill-session-snapshots",
        help="store the activities snapshot of every session without one (journal_0018; rerunnable, online)",
    )
    snapshots.add_argument("--batch-size", type=int, default=2000)
    snapshots.add_argument("--workers", type=int, default=1, help="connections at once, each a range of ids")
    snapshots.set_defaults(handler=_backfill_session_snapshots)

    seed = sub.add_parser("seed", help="bulk-insert demo/benchmark data with COPY")
    seed.add_argument("--users", type=int, default=None, help="number of users (default: ids in the file)")
    seed.add_argument("--entries-per-user", type=int, required=True)
    seed.add_argument("--tasks-per-user", type=int, default=0)
    seed.add_argument("--tags-per-user", type=int, default=5)
    seed.add_argument("--user-ids-file", help="one user id per line (default: random UUIDv7s)")
    seed.add_argument("--write-user-ids", help="write the seeded users' ids to this file")
    seed.add_argument("--random-seed", type=int, default=None)
    seed.add_argument("--database-url", help="default: JOURNAL_DATABASE_URL")
    seed.set_defaults(handler=_seed)


def main(argv: Sequence[str] | None = None) -> None:
    service_main("journal", Settings.from_env, argv, database=common_database, extra=_extra)


if __name__ == "__main__":
    main()
