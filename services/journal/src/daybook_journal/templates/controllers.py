"""HTTP for session templates."""

from __future__ import annotations

from litestar import Controller

from daybook_common import resource_routes as routes
from daybook_journal.goals.controllers import GOALS
from daybook_journal.templates import schemas as s
from daybook_journal.templates.services import TemplateService

TEMPLATES = "/api/v1/templates"


TEMPLATE = routes.Resource(
    "template", "template_service", TemplateService, s.Template, s.TemplateCreate, s.TemplateUpdate
)


class TreeTemplateController(Controller):
    path = GOALS + "/{root_id:uuid}/templates"
    tags = ["templates"]

    create_template = routes.create_route(TEMPLATE, TEMPLATES + "/{id}", parent="root_id")
    list_templates = routes.page_route(
        TEMPLATE,
        "list_templates",
        "/",
        TemplateService.page,
        parent="root_id",
        operation_id="ListTemplates",
        summary="A tree's session templates by name",
    )


class TemplateController(Controller):
    path = TEMPLATES
    tags = ["templates"]

    get_template, update_template, delete_template = routes.lifecycle_routes(
        TEMPLATE, delete="Delete a template for good", restore=False
    )
