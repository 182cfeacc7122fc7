"""HTTP for tags."""

from __future__ import annotations

import uuid
from typing import Any, cast

from litestar import Controller, Request, Response, delete, get, patch, post

from daybook_common.http import (
    IdempotencyKey,
    IfMatchHeader,
    IfNoneMatchHeader,
    etag,
    expected_version,
    idempotent_create,
    json_response,
    read_response,
)
from daybook_common.idempotency import IdempotencyKeys
from daybook_common.openapi import problems
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_journal.tags import schemas as s
from daybook_journal.tags.services import TagQueries, TagService


class TagController(Controller):
    path = "/api/v1/journal/tags"
    tags = ["journal"]

    @get("/", operation_id="ListTags", summary="The caller's tags by name")
    async def list_tags(
        self, tag_queries: TagQueries, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> Page[s.Tag]:
        items, next_cursor = await tag_queries.page(cursor, limit)
        return Page(items=items, next_cursor=next_cursor)

    @post(
        "/",
        operation_id="CreateTag",
        summary="Create a tag (409 if the name is taken, any case)",
        opt=problems({409: "You already have a tag with this name"}),
    )
    async def create_tag(
        self,
        request: Request[Any, Any, Any],
        data: s.TagCreate,
        tag_service: TagService,
        idempotency: IdempotencyKeys,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Tag]:
        async def create() -> tuple[int, s.Tag, dict[str, str]]:
            tag, version = await tag_service.create(data)
            return 201, tag, {"Location": f"{self.path}/{tag.id}", "ETag": etag(version)}

        response = await idempotent_create(
            idempotency, idempotency_key, "POST", request.url.path, data, create
        )
        return cast(Response[s.Tag], response)

    @get("/{tag_id:uuid}", operation_id="GetTag")
    async def get_tag(
        self, tag_id: uuid.UUID, tag_service: TagService, if_none_match: IfNoneMatchHeader = None
    ) -> Response[s.Tag]:
        tag, version = await tag_service.get(tag_id)
        return cast(Response[s.Tag], read_response(tag, version, if_none_match))

    @patch(
        "/{tag_id:uuid}",
        operation_id="UpdateTag",
        opt=problems({409: "You already have a tag with this name"}),
    )
    async def update_tag(
        self, tag_id: uuid.UUID, data: s.TagUpdate, tag_service: TagService, if_match: IfMatchHeader = None
    ) -> Response[s.Tag]:
        tag, version = await tag_service.update(tag_id, data, expected_version(if_match))
        return cast(Response[s.Tag], json_response(tag, version=version))

    @delete("/{tag_id:uuid}", operation_id="DeleteTag", summary="Delete a tag; entries and tasks lose it")
    async def delete_tag(
        self, tag_id: uuid.UUID, tag_service: TagService, if_match: IfMatchHeader = None
    ) -> None:
        await tag_service.delete(tag_id, expected_version(if_match))
