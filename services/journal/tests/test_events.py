"""``users.user.deleted`` on JetStream erases the user's journal data (once, even if redelivered)."""

from __future__ import annotations

import asyncio
import json
import uuid

import nats
from litestar.testing import AsyncTestClient

from daybook_common.events import USER_DELETED
from daybook_common.events.stream import ensure_stream
from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_journal import SCHEMA
from daybook_journal.app import create_app
from daybook_journal.settings import Settings
from daybook_journal.testing import make_entry, make_tag, make_task


async def _rows(db: TestDatabase, user_id: uuid.UUID) -> int:
    admin = await db.admin_connect()
    try:
        total = 0
        for table in ("journal_entries", "tags", "tasks", "journal_entry_tags", "task_tags"):
            total += await admin.fetchval(
                f"SELECT count(*) FROM {SCHEMA}.{table} WHERE user_id = $1", user_id
            )
        return int(total)
    finally:
        await admin.close()


async def test_user_deleted_event_erases_that_user_only(
    migrated: TestDatabase, signer: TestSigner, nats_url: str, new_user
) -> None:
    settings = Settings.from_env(
        {
            "JOURNAL_DATABASE_URL": migrated.url(SCHEMA),
            "JOURNAL_JWKS_JSON": signer.jwks_json,
            "JOURNAL_NATS_URL": nats_url,
            "JOURNAL_ACCESS_LOG": "false",
        }
    )
    gone, stays = new_user(), new_user()
    async with AsyncTestClient(create_app(settings)) as api:
        for user in (gone, stays):
            tag = await make_tag(api, user, "t")
            await make_entry(api, user, tag_ids=[tag["id"]])
            await make_task(api, user, tag_ids=[tag["id"]])
        kept = await _rows(migrated, stays.id)
        assert await _rows(migrated, gone.id) > 0
        await ensure_stream(nats_url)
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            event_id = str(uuid.uuid4())
            payload = json.dumps({"event_id": event_id, "user_id": str(gone.id)}).encode()
            for _ in range(2):  # a duplicate publish is harmless
                await js.publish(USER_DELETED, payload, headers={"Nats-Msg-Id": event_id})
        finally:
            await nc.close()
        for _ in range(150):  # bounded wait for the consumer (not a timing assertion)
            if await _rows(migrated, gone.id) == 0:
                break
            await asyncio.sleep(0.1)
        assert await _rows(migrated, gone.id) == 0
        assert await _rows(migrated, stays.id) == kept
        admin = await migrated.admin_connect()
        try:
            for _ in range(50):
                if await admin.fetchval(
                    f"SELECT count(*) FROM {SCHEMA}.inbox WHERE event_id = $1", uuid.UUID(event_id)
                ):
                    break
                await asyncio.sleep(0.1)
            assert (
                await admin.fetchval(
                    f"SELECT subject FROM {SCHEMA}.inbox WHERE event_id = $1", uuid.UUID(event_id)
                )
                == USER_DELETED
            )
        finally:
            await admin.close()
