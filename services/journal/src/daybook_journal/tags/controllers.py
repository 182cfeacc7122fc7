"""HTTP for tags."""

from __future__ import annotations

from litestar import Controller

from daybook_common import resource_routes as routes
from daybook_common.openapi import problems
from daybook_journal.tags import schemas as s
from daybook_journal.tags.services import TagQueries, TagService

TAG = routes.Resource("tag", "tag_service", TagService, s.Tag, s.TagCreate, s.TagUpdate)
TAG_READS = routes.Resource("tag", "tag_queries", TagQueries, s.Tag)


class TagController(Controller):
    path = "/api/v1/journal/tags"
    tags = ["journal"]

    list_tags = routes.page_route(
        TAG_READS,
        "list_tags",
        "/",
        TagQueries.page,
        operation_id="ListTags",
        summary="The caller's tags by name",
    )

    create_tag = routes.create_route(
        TAG,
        "/api/v1/journal/tags/{id}",
        summary="Create a tag (409 if the name is taken, any case)",
        opt=problems({409: "You already have a tag with this name"}),
    )
    get_tag = routes.get_route(TAG)
    update_tag = routes.update_route(TAG, opt=problems({409: "You already have a tag with this name"}))
    delete_tag = routes.delete_route(TAG, summary="Delete a tag; entries and tasks lose it")
