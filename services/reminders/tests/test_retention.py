"""Retention in the running API process: notifications past REMINDERS_NOTIFICATION_RETENTION_DAYS
and old handled inbox ids are deleted by the app's own job; newer ones are kept."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import asyncpg
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_reminders import SCHEMA
from daybook_reminders.app import create_app
from daybook_reminders.settings import Settings

from .test_notifications_api import URL, fire_until, make_reminder


async def test_the_running_service_purges_old_notifications_and_inbox_ids(
    db: TestDatabase, signer: TestSigner, conn: asyncpg.Connection
) -> None:
    settings = Settings.from_env(
        {
            "REMINDERS_DATABASE_URL": db.url(SCHEMA),
            "REMINDERS_JWKS_JSON": signer.jwks_json,
            "REMINDERS_ACCESS_LOG": "false",
            "REMINDERS_EVENTS_ENABLED": "false",
            "REMINDERS_RETENTION_INTERVAL_SECONDS": "0.2",
        }
    )
    assert settings.notification_retention_days == 365
    user = uuid.uuid4()
    async with AsyncTestClient(create_app(settings)) as client:
        reminder = await make_reminder(client, signer, user)
        first = dt.datetime.fromisoformat(reminder["next_fire_at"])
        await fire_until(conn, first + dt.timedelta(days=1, minutes=1))
        fired = (await client.get(URL, headers=signer.headers(user))).json()["items"]
        assert len(fired) == 2
        old, kept = fired
        old_event, new_event = uuid.uuid4(), uuid.uuid4()
        admin = await db.admin_connect()
        try:
            async with admin.transaction():  # one snapshot for the runner: all aged at once
                for item, days in ((old, 366), (kept, 364)):
                    await admin.execute(
                        f"UPDATE {SCHEMA}.notifications SET occurrence_at = now() - make_interval(days => $2) "
                        "WHERE id = $1",
                        uuid.UUID(item["id"]),
                        days,
                    )
                await admin.execute(
                    f"INSERT INTO {SCHEMA}.inbox (event_id, subject, processed_at) "
                    "VALUES ($1, 's', now() - interval '8 days'), ($2, 's', now() - interval '1 day')",
                    old_event,
                    new_event,
                )
            for _ in range(100):  # bounded wait for the background job (not a timing assertion)
                left = [
                    i["id"] for i in (await client.get(URL, headers=signer.headers(user))).json()["items"]
                ]
                inbox = await admin.fetch(
                    f"SELECT event_id FROM {SCHEMA}.inbox WHERE event_id = ANY($1)", [old_event, new_event]
                )
                if len(left) < 2 and len(inbox) < 2:
                    break
                await asyncio.sleep(0.1)
        finally:
            await admin.close()
        assert left == [kept["id"]]  # past the window: gone; within it: kept
        assert [r["event_id"] for r in inbox] == [new_event]


def test_retention_runs_by_default_and_refuses_nonsense() -> None:
    settings = Settings.from_env({})
    assert (settings.notification_retention_days, settings.retention_interval_seconds) == (365, 3600)
    for name, value in (("NOTIFICATION_RETENTION_DAYS", "0"), ("RETENTION_INTERVAL_SECONDS", "-1")):
        try:
            Settings.from_env({f"REMINDERS_{name}": value})
        except Exception as exc:
            assert f"REMINDERS_{name}" in str(exc)
        else:
            raise AssertionError(f"REMINDERS_{name}={value} accepted")
