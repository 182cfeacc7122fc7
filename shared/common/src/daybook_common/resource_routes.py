"""Route handlers for the operations every versioned resource has, built once.

A resource's single-item operations — get (``If-None-Match`` → 304), update and delete
(``If-Match`` → 412), restore from the trash, the idempotent create, a page of a list — have
the same shape for every aggregate; only the path, the parameter and dependency names, the
schemas and the OpenAPI texts differ. Each factory here builds one Litestar handler from
those, with the same signature a hand-written method would have, so each operation's OpenAPI
(parameters, bodies, responses, summary, operation id) is exactly what that method gave::

    class EntryController(Controller):
        get_entry = get_route(ENTRY, operation_id="GetEntry")

The handler is named after the operation and the resource's noun (``get_entry``): Litestar
takes the default summary from that name. The service behind ``Resource.service`` answers
``get(id)``, ``update(id, data, expected_version)``, ``delete(id, expected_version)``,
``restore(id)`` and ``create([parent_id,] data)``, each returning ``(item, version)`` (delete
returns nothing); a factory's ``method`` names another method when one service serves several
resources (``get_group``).
"""

from __future__ import annotations

import inspect
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from litestar import Request, Response, delete, get, patch, post
from litestar.handlers import HTTPRouteHandler

from daybook_common.http import (
    CREATED,
    VERSIONED,
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
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

Run = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Resource:
    """One aggregate as its routes see it.

    ``noun`` names the handlers (``get_entry``) and the path parameter (``entry_id``);
    ``service`` is the name of the dependency serving it (``entries``) and ``service_type`` its
    class; ``schema`` is what a read returns, ``create_schema``/``update_schema`` the bodies;
    ``prefix`` is the item path's part before ``/{entry_id:uuid}`` in its controller. Each
    route's ``operation_id`` defaults to the verb and :attr:`name` (``GetEntry``).
    """

    noun: str
    service: str
    service_type: type[Any]
    schema: type[Any]
    create_schema: type[Any] | None = None
    update_schema: type[Any] | None = None
    prefix: str = ""
    title: str = ""

    @property
    def name(self) -> str:
        """The resource in operation ids (``GetEntry``): ``title``, else the capitalised noun."""
        return self.title or self.noun.capitalize()

    @property
    def id_name(self) -> str:
        return f"{self.noun}_id"

    @property
    def item_path(self) -> str:
        return f"{self.prefix}/{{{self.id_name}:uuid}}"


def param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def route_method(name: str, params: list[inspect.Parameter], returns: Any, run: Run) -> Run:
    """An async controller method ``name(self, **params) -> returns`` that awaits ``run(**kwargs)``.

    Litestar reads the signature and the annotations (real objects, so nothing to resolve). The
    method takes the module and qualified name it would have had in the class body that called
    the factory (found on the call stack, as ``namedtuple`` finds its module): Litestar orders a controller's
    handlers by them, so routes and the OpenAPI document keep the order of hand-written ones.
    """

    async def handler(self: object, **kwargs: Any) -> Any:
        return await run(**kwargs)

    class_body = _class_body()
    handler.__module__ = class_body.get("__module__", __name__)
    handler.__name__ = name
    handler.__qualname__ = f"{class_body.get('__qualname__', '<factory>')}.{name}"
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    signature = inspect.Signature([self_param, *params], return_annotation=returns)
    setattr(handler, "__signature__", signature)  # noqa: B010 (functions declare no such attribute)
    handler.__annotations__ = {p.name: p.annotation for p in params} | {"return": returns}
    return handler


def _class_body() -> dict[str, Any]:
    """The namespace of the class body being executed up the call stack (empty when none is)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if "__module__" in frame.f_locals and "__qualname__" in frame.f_locals:
            return frame.f_locals
        frame = frame.f_back
    return {}


def parametrised(generic: Any, argument: type[Any]) -> Any:
    """``generic[argument]`` for a class known only at run time (``Response[Entry]``)."""
    return generic[argument]


def _named(verb: str, resource: Resource, options: dict[str, Any]) -> dict[str, Any]:
    return {"operation_id": verb + resource.name, **options}


def _identity(resource: Resource) -> list[inspect.Parameter]:
    return [param(resource.id_name, uuid.UUID)]


def _service(resource: Resource) -> inspect.Parameter:
    return param(resource.service, resource.service_type)


def _parent(parent: str | None) -> list[inspect.Parameter]:
    return [] if parent is None else [param(parent, uuid.UUID)]


def get_route(
    resource: Resource, *, parent: str | None = None, method: str = "get", **options: Any
) -> HTTPRouteHandler:
    """``GET`` one item: its body and ETag, or 304 when ``If-None-Match`` names its version.

    An item below another one (``/activities/{activity_id}/metrics/{metric_id}``, the prefix
    holding the parent's parameter) names that path parameter as ``parent``: the service's
    ``method`` is given the parent's id before the item's.
    """

    async def run(**kwargs: Any) -> Response[bytes]:
        parents = () if parent is None else (kwargs[parent],)
        item, version = await getattr(kwargs[resource.service], method)(*parents, kwargs[resource.id_name])
        return read_response(item, version, kwargs["if_none_match"])

    params = [
        *_parent(parent),
        *_identity(resource),
        _service(resource),
        param("if_none_match", IfNoneMatchHeader, None),
    ]
    handler = route_method(f"get_{resource.noun}", params, parametrised(Response, resource.schema), run)
    return get(resource.item_path, response_headers=VERSIONED, **_named("Get", resource, options))(handler)


def update_route(
    resource: Resource, *, parent: str | None = None, method: str = "update", **options: Any
) -> HTTPRouteHandler:
    """``PATCH`` one item under ``If-Match``: the changed item with its new ETag (the service's
    ``method``; given ``parent``'s id first, as :func:`get_route`)."""

    async def run(**kwargs: Any) -> Response[bytes]:
        parents = () if parent is None else (kwargs[parent],)
        item, version = await getattr(kwargs[resource.service], method)(
            *parents, kwargs[resource.id_name], kwargs["data"], expected_version(kwargs["if_match"])
        )
        return json_response(item, version=version)

    params = [
        *_parent(parent),
        *_identity(resource),
        param("data", resource.update_schema),
        _service(resource),
        param("if_match", IfMatchHeader, None),
    ]
    handler = route_method(f"update_{resource.noun}", params, parametrised(Response, resource.schema), run)
    options = _named("Update", resource, options)
    return patch(resource.item_path, response_headers=VERSIONED, **options)(handler)


def delete_route(
    resource: Resource, *, parent: str | None = None, method: str = "delete", **options: Any
) -> HTTPRouteHandler:
    """``DELETE`` one item under ``If-Match`` (204; the service's ``method``, given ``parent``'s
    id first)."""

    async def run(**kwargs: Any) -> None:
        parents = () if parent is None else (kwargs[parent],)
        remove = getattr(kwargs[resource.service], method)
        await remove(*parents, kwargs[resource.id_name], expected_version(kwargs["if_match"]))

    params = [
        *_parent(parent),
        *_identity(resource),
        _service(resource),
        param("if_match", IfMatchHeader, None),
    ]
    options = _named("Delete", resource, options)
    return delete(resource.item_path, **options)(route_method(f"delete_{resource.noun}", params, None, run))


def restore_route(resource: Resource, **options: Any) -> HTTPRouteHandler:
    """``POST …/restore``: the item back from the trash, with its new ETag (200)."""

    async def run(**kwargs: Any) -> Response[bytes]:
        item, version = await kwargs[resource.service].restore(kwargs[resource.id_name])
        return json_response(item, version=version)

    params = [*_identity(resource), _service(resource)]
    handler = route_method(f"restore_{resource.noun}", params, parametrised(Response, resource.schema), run)
    options = _named("Restore", resource, options)
    return post(resource.item_path + "/restore", status_code=200, response_headers=VERSIONED, **options)(
        handler
    )


def lifecycle_routes(
    resource: Resource, *, restore: bool = True, **summaries: str
) -> tuple[HTTPRouteHandler, ...]:
    """The get, update, delete (and restore) routes of ``resource``; ``summaries`` by verb
    (``get=``, ``update=``, ``delete=``, ``restore=``) where the default one does not do."""

    def options(verb: str) -> dict[str, Any]:
        return {"summary": summaries[verb]} if verb in summaries else {}

    found = (
        get_route(resource, **options("get")),
        update_route(resource, **options("update")),
        delete_route(resource, **options("delete")),
    )
    return (*found, restore_route(resource, **options("restore"))) if restore else found


def create_route(
    resource: Resource,
    location: str,
    *,
    path: str = "/",
    parent: str | None = None,
    method: str = "create",
    **options: Any,
) -> HTTPRouteHandler:
    """``POST`` a new item under ``Idempotency-Key``: 201 with ``Location`` and ``ETag``.

    ``location`` is formatted with the new item's ``id`` (and ``parent``'s value, as that
    name); ``parent`` names a path parameter (e.g. ``root_id``) passed to the service's
    ``method`` before the body.
    """

    async def run(**kwargs: Any) -> Response[bytes]:
        parents = {} if parent is None else {parent: kwargs[parent]}

        async def create() -> tuple[int, Any, dict[str, str]]:
            service = getattr(kwargs[resource.service], method)
            item, version = await service(*parents.values(), kwargs["data"])
            created_at = location.format(id=item.id, **parents)
            return 201, item, {"Location": created_at, "ETag": etag(version)}

        request: Request[Any, Any, Any] = kwargs["request"]
        return await idempotent_create(
            kwargs["idempotency"], kwargs["idempotency_key"], "POST", request.url.path, kwargs["data"], create
        )

    params = [
        param("request", Request[Any, Any, Any]),
        *_parent(parent),
        param("data", resource.create_schema),
        _service(resource),
        param("idempotency", IdempotencyKeys),
        param("idempotency_key", IdempotencyKey, None),
    ]
    handler = route_method(f"create_{resource.noun}", params, parametrised(Response, resource.schema), run)
    return post(path, response_headers=CREATED, **_named("Create", resource, options))(handler)


def purge_route(resource: Resource, **options: Any) -> HTTPRouteHandler:
    """``DELETE /trash/{id}``: one trashed item for good (204)."""

    async def run(**kwargs: Any) -> None:
        await kwargs[resource.service].purge(kwargs[resource.id_name])

    params = [*_identity(resource), _service(resource)]
    path = f"/trash/{{{resource.id_name}:uuid}}"
    options = _named("PurgeTrashed", resource, options)
    return delete(path, **options)(route_method(f"purge_{resource.noun}", params, None, run))


def empty_trash_route(resource: Resource, **options: Any) -> HTTPRouteHandler:
    """``DELETE /trash``: every trashed item of the caller's for good (204)."""

    async def run(**kwargs: Any) -> None:
        await kwargs[resource.service].empty_trash()

    options = {"operation_id": f"Empty{resource.name}Trash", **options}
    return delete("/trash", **options)(route_method("empty_trash", [_service(resource)], None, run))


def page_route(
    resource: Resource,
    name: str,
    path: str,
    fetch: Callable[..., Awaitable[tuple[Any, str | None]]],
    *,
    parent: str | None = None,
    parent_type: Any = uuid.UUID,
    **options: Any,
) -> HTTPRouteHandler:
    """``GET`` a page of a list (``limit``, ``cursor``) as the handler ``name``:
    ``fetch(service, [parent,] cursor, limit)`` gives the items and the next cursor. ``parent``
    names what the list belongs to: a path parameter (``root_id``) or a dependency (``account``)
    of ``parent_type``."""

    async def run(**kwargs: Any) -> Page[Any]:
        parents = [] if parent is None else [kwargs[parent]]
        items, next_cursor = await fetch(
            kwargs[resource.service], *parents, kwargs["cursor"], kwargs["limit"]
        )
        return Page(items=items, next_cursor=next_cursor)

    params = [
        *([] if parent is None else [param(parent, parent_type)]),
        _service(resource),
        param("limit", Limit, DEFAULT_LIMIT),
        param("cursor", Cursor, None),
    ]
    return get(path, **options)(route_method(name, params, parametrised(Page, resource.schema), run))


__all__ = [
    "Resource",
    "create_route",
    "delete_route",
    "empty_trash_route",
    "get_route",
    "lifecycle_routes",
    "page_route",
    "param",
    "parametrised",
    "purge_route",
    "restore_route",
    "route_method",
    "update_route",
]
