"""HTTP for journal entries and the trash: parse, call the service, shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, cast

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter

from daybook_common import resource_routes as routes
from daybook_common.errors import Invalid
from daybook_common.http import (
    CREATED,
    VERSIONED,
    IdempotencyKey,
    IfMatchHeader,
    expected_version,
    json_response,
    page_response,
    stored_response,
)
from daybook_common.idempotency import fingerprint, legacy_fingerprint
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_journal.constraints import MAX_TAG_FILTER
from daybook_journal.entries import schemas as s
from daybook_journal.entries.revisions import Revisions
from daybook_journal.entries.services import EntryFilters, EntryQueries, EntryService
from daybook_journal.entries.writes import EntryWrites, Keyed
from daybook_journal.http import DAY_OR_INSTANT, parse_instant

ENTRY = routes.Resource(
    "entry", "entries", EntryService, s.Entry, s.EntryCreate, s.EntryUpdate, prefix="/entries"
)


class EntryController(Controller):
    path = "/api/v1/journal"
    tags = ["journal"]

    @get(
        "/entries",
        operation_id="ListEntries",
        summary="The caller's entries, newest entry_date first",
    )
    async def list_entries(
        self,
        entry_queries: EntryQueries,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        date_from: Annotated[
            str | None,
            Parameter(
                query="from",
                schema_extra=DAY_OR_INSTANT,
                description="entry_date >= this (RFC 3339, or YYYY-MM-DD: from that day)",
            ),
        ] = None,
        date_to: Annotated[
            str | None,
            Parameter(
                query="to",
                schema_extra=DAY_OR_INSTANT,
                description="entry_date <= this (RFC 3339, or YYYY-MM-DD: through that day)",
            ),
        ] = None,
        tag: Annotated[
            list[uuid.UUID] | None,
            Parameter(query="tag", max_items=MAX_TAG_FILTER, description="tag id; repeat it: all must match"),
        ] = None,
        q: Annotated[
            str | None, Parameter(min_length=1, max_length=200, description="full-text search")
        ] = None,
    ) -> Response[Page[s.Entry]]:
        if tag is not None and len(tag) > MAX_TAG_FILTER:
            raise Invalid("tag", f"at most {MAX_TAG_FILTER} tags")
        filters = EntryFilters(
            date_from=parse_instant(date_from, "from"),
            date_to=parse_instant(date_to, "to", end_of_day=True),
            tag_ids=tuple(tag or ()),
            q=q,
        )
        items, next_cursor = await entry_queries.page(filters, cursor, limit)
        return page_response(items, next_cursor)

    @post(
        "/entries",
        operation_id="CreateEntry",
        summary="Write an entry (plain or client-side encrypted)",
        response_headers=CREATED,
    )
    async def create_entry(
        self,
        request: Request[Any, Any, Any],
        data: s.EntryCreate,
        entry_writes: EntryWrites,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Entry]:
        keyed = None
        if idempotency_key is not None:
            path = request.url.path
            legacy = (legacy_fingerprint("POST", path, data),)
            keyed = Keyed(idempotency_key, fingerprint("POST", path, data), legacy)
        stored = await entry_writes.create(data, keyed, f"{self.path}/entries")
        return cast(Response[s.Entry], stored_response(stored.status_code, stored.body, stored.headers))

    get_entry, update_entry, delete_entry, restore_entry = routes.lifecycle_routes(
        ENTRY, delete="Move an entry to the trash"
    )

    @get(
        "/entries/{entry_id:uuid}/revisions",
        operation_id="ListEntryRevisions",
        summary="The entry's earlier versions, newest first (kept 90 days after they were replaced)",
    )
    async def list_revisions(
        self, entry_id: uuid.UUID, revisions: Revisions, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> Response[Page[s.Revision]]:
        items, next_cursor = await revisions.page(entry_id, cursor, limit)
        return page_response(items, next_cursor)

    @post(
        "/entries/{entry_id:uuid}/revisions/{revision:int}/restore",
        operation_id="RestoreEntryRevision",
        status_code=200,
        summary="Make an earlier version current again (a new version; If-Match on the entry's ETag)",
        response_headers=VERSIONED,
    )
    async def restore_revision(
        self,
        entry_id: uuid.UUID,
        revision: int,
        entries: EntryService,
        if_match: IfMatchHeader = None,
    ) -> Response[s.Entry]:
        entry, version = await entries.restore_revision(entry_id, revision, expected_version(if_match))
        return cast(Response[s.Entry], json_response(entry, version=version))

    @get("/trash", operation_id="ListTrash", summary="The caller's soft-deleted entries, latest first")
    async def list_trash(
        self, entry_queries: EntryQueries, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> Response[Page[s.Entry]]:
        items, next_cursor = await entry_queries.trash(cursor, limit)
        return page_response(items, next_cursor)

    purge_entry = routes.purge_route(ENTRY, summary="Delete a trashed entry for good")
    empty_trash = routes.empty_trash_route(
        ENTRY, operation_id="EmptyTrash", summary="Delete every entry of the caller's trash for good"
    )
