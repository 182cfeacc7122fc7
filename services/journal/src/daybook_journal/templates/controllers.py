"""HTTP for session templates."""

from __future__ import annotations

import uuid
from typing import Any, cast

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import Provide

from daybook_common.http import (
    IdempotencyKey,
    IfMatchHeader,
    IfNoneMatchHeader,
    expected_version,
    json_response,
    read_response,
)
from daybook_common.idempotency import IdempotencyKeys
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_common.rls import UserDb
from daybook_journal.goals.controllers import GOALS
from daybook_journal.practice_http import idempotent_create
from daybook_journal.templates import schemas as s
from daybook_journal.templates.services import TemplateService

TEMPLATES = "/api/v1/templates"


def provide_templates(user_db: UserDb) -> TemplateService:
    return TemplateService(user_db)


_DEPENDENCIES = {"template_service": Provide(provide_templates, sync_to_thread=False)}


class TreeTemplateController(Controller):
    path = GOALS + "/{root_id:uuid}/templates"
    tags = ["templates"]
    dependencies = _DEPENDENCIES

    @post("/", operation_id="CreateTemplate")
    async def create_template(
        self,
        request: Request[Any, Any, Any],
        root_id: uuid.UUID,
        data: s.TemplateCreate,
        template_service: TemplateService,
        idempotency: IdempotencyKeys,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Template]:
        async def create() -> tuple[s.Template, int, str]:
            template, version = await template_service.create(root_id, data)
            return template, version, f"{TEMPLATES}/{template.id}"

        return await idempotent_create(request, data, idempotency, idempotency_key, create)

    @get("/", operation_id="ListTemplates", summary="A tree's session templates by name")
    async def list_templates(
        self,
        root_id: uuid.UUID,
        template_service: TemplateService,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[s.Template]:
        items, next_cursor = await template_service.page(root_id, cursor, limit)
        return Page(items=items, next_cursor=next_cursor)


class TemplateController(Controller):
    path = TEMPLATES
    tags = ["templates"]
    dependencies = _DEPENDENCIES

    @get("/{template_id:uuid}", operation_id="GetTemplate")
    async def get_template(
        self,
        template_id: uuid.UUID,
        template_service: TemplateService,
        if_none_match: IfNoneMatchHeader = None,
    ) -> Response[s.Template]:
        template, version = await template_service.get(template_id)
        return cast(Response[s.Template], read_response(template, version, if_none_match))

    @patch("/{template_id:uuid}", operation_id="UpdateTemplate")
    async def update_template(
        self,
        template_id: uuid.UUID,
        data: s.TemplateUpdate,
        template_service: TemplateService,
        if_match: IfMatchHeader = None,
    ) -> Response[s.Template]:
        template, version = await template_service.update(template_id, data, expected_version(if_match))
        return cast(Response[s.Template], json_response(template, version=version))

    @delete("/{template_id:uuid}", operation_id="DeleteTemplate", summary="Delete a template for good")
    async def delete_template(
        self, template_id: uuid.UUID, template_service: TemplateService, if_match: IfMatchHeader = None
    ) -> None:
        await template_service.delete(template_id, expected_version(if_match))
