"""Query values are read as strictly as the OpenAPI document describes them.

Litestar converts query strings with msgspec's lax rules: ``?due_before=0.5`` became a Unix
timestamp and ``?is_active=1`` a boolean, although the document says ``date-time`` and
``boolean``.  :func:`check_query_values` (a ``before_request`` hook) answers 422 for a
date-time parameter that is not RFC 3339 or outside the range of :mod:`daybook_common.instants`,
and a boolean one that is not ``true``/``false``.
"""

from __future__ import annotations

import datetime
import re
import types
import typing
from typing import Any

import msgspec
from litestar import Request
from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg

from daybook_common.instants import check_instant
from daybook_common.problems import validation_error

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
BOOLEANS = frozenset({"true", "false"})
_CHECKS: dict[int, list[tuple[str, str]]] = {}


def _leaf_types(annotation: Any) -> set[Any]:
    """The non-container types inside ``annotation`` (``list[datetime] | None`` → {datetime, None})."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, set, frozenset):
        found: set[Any] = set()
        for arg in typing.get_args(annotation):
            found |= _leaf_types(arg)
        return found
    return {annotation}


def _checks(handler: HTTPRouteHandler) -> list[tuple[str, str]]:
    """(query name, kind) of the handler's date-time and boolean query parameters, computed once."""
    key = id(handler)
    if key not in _CHECKS:
        found: list[tuple[str, str]] = []
        for name, field in handler.parsed_fn_signature.parameters.items():
            kwarg = field.kwarg_definition
            if isinstance(kwarg, ParameterKwarg) and (kwarg.header or kwarg.cookie):
                continue
            query = kwarg.query if isinstance(kwarg, ParameterKwarg) and kwarg.query else name
            leaves = _leaf_types(field.annotation)
            if datetime.datetime in leaves:
                found.append((query, "date-time"))
            elif bool in leaves:
                found.append((query, "boolean"))
        _CHECKS[key] = found
    return _CHECKS[key]


async def check_query_values(request: Request[Any, Any, Any]) -> None:
    """The hook (async though it awaits nothing: Litestar runs a sync ``before_request`` hook in a
    worker thread, a thread hop on every request of every handler)."""
    checks = _checks(request.route_handler)
    if not checks:
        return
    params = request.query_params
    for query, kind in checks:
        for value in params.getall(query, []):
            if kind == "date-time":
                if not RFC3339.match(value):
                    raise validation_error(query, "expected an RFC 3339 date-time, e.g. 2026-01-22T10:00:00Z")
                _check_range(value, query)
            if kind == "boolean" and value not in BOOLEANS:
                raise validation_error(query, "expected true or false")


def _check_range(value: str, query: str) -> None:
    try:
        instant = msgspec.convert(value, datetime.datetime)
    except msgspec.ValidationError:
        return  # not a date-time msgspec reads (e.g. hour 24): Litestar's conversion answers 422
    check_instant(instant, query)
