"""RFC 9457 problem details for every error a service returns.

Validation → 422 with ``errors: [{field, message}]``; unknown route → 404; wrong
method → 405; the domain errors of :mod:`daybook_common.errors` → their status (the one
place that maps them); the database unreachable → 503 with ``Retry-After`` (one log line
per outage, :mod:`daybook_common.outage`); a statement the database cancelled for time
(``statement_timeout``, ``lock_timeout``) → 503 with ``Retry-After`` and a detail that says so
(one log line per request, not an outage); anything unexpected → 500 with no internals
(logged with the request id).
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from advanced_alchemy.exceptions import DuplicateKeyError, NotFoundError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from daybook_common import errors, text
from daybook_common.denylist import is_denied_write
from daybook_common.outage import DETAIL as OUTAGE_DETAIL
from daybook_common.outage import (
    TIMEOUT_DETAIL,
    database_unavailable,
    log_timeout,
    outage_headers,
    outage_log,
    statement_timed_out,
)

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("daybook.errors")
_AT_PATH = re.compile(r"at `\$\.?([^`]*)`")
_NAMED_FIELD = re.compile(r"(?:required|unknown) field `([^`]+)`")
#: Litestar's words for an absent required parameter; they end with the whole path and query.
_MISSING_PARAMETER = re.compile(r"Missing required \w+ parameter '([^']*)' for path ")


def problem_body(status: int, detail: str | None = None, **extra: Any) -> dict[str, Any]:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail or title
    body.update(extra)
    return body


def problem_response(
    status: int, detail: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    return Response(
        content=problem_body(status, detail, **extra),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def validation_error(field: str, message: str, detail: str = "Validation failed") -> errors.Invalid:
    """Raise to report one bad field as a 422 problem (the same as raising ``errors.Invalid``)."""
    return errors.Invalid(field, message, detail)


def _field_errors(exc: ValidationException) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    extra = exc.extra if isinstance(exc.extra, list) else ([exc.extra] if exc.extra else [])
    for item in extra:
        if not isinstance(item, dict):
            errors.append({"field": "", "message": str(item)})
            continue
        message = str(item.get("message", "invalid value"))
        field = str(item.get("key") or "")
        if field and message == repr(field):
            # A KeyError from Litestar's signature model: nothing came for this argument (the body
            # when it is empty or JSON null).
            field, message = ("body", "a JSON body is required") if field == "data" else (field, "required")
        match = _AT_PATH.search(message)
        if match:
            field = field or match.group(1)
            message = message[: match.start()].rstrip(" -")
        message = text.MESSAGES.get(message, message)  # the character rules' own words
        if field == "data":  # Litestar's name for the whole body
            field = "body"
        named = _NAMED_FIELD.search(message)
        if named:
            # "Object missing required field `x`": the field is x, inside the object at `field`.
            parent = "" if field in {"", "data", "body"} else field
            field = f"{parent}.{named.group(1)}" if parent else named.group(1)
        errors.append({"field": str(field), "message": message})
    if not errors:
        errors.append({"field": "", "message": str(exc.detail)})
    return errors


def _validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    missing = _MISSING_PARAMETER.match(exc.detail or "")
    if missing:  # name the parameter as the field; never echo the request's path and query
        return problem_response(
            422, "Validation failed", errors=[{"field": missing.group(1), "message": "required"}]
        )
    detail = exc.detail if exc.detail and exc.detail != "Bad Request" else "Validation failed"
    if detail.startswith("Validation failed for"):
        detail = "Validation failed"
    return problem_response(422, detail, errors=_field_errors(exc))


def _http_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    headers = dict(exc.headers or {})
    extra: dict[str, Any] = {}
    if isinstance(exc.extra, dict):
        extra = {k: v for k, v in exc.extra.items() if k not in {"type", "title", "status", "detail"}}
    detail = exc.detail
    if exc.status_code == 404 and (detail == "Not Found" or "/" in detail):
        # Litestar's router and static files name the requested (or a server-side) path: never echo it.
        detail = "No resource at this path"
    if exc.status_code >= 500:
        detail = HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, detail, headers=headers or None, **extra)


def _not_found_handler(request: Request[Any, Any, Any], exc: NotFoundError) -> Response[Any]:
    return problem_response(404, "Not found")


def _conflict_handler(request: Request[Any, Any, Any], exc: DuplicateKeyError) -> Response[Any]:
    return problem_response(409, "A resource with these values already exists")


#: Each domain error's status; a subclass takes its nearest listed ancestor's.
DOMAIN_STATUS: dict[type[errors.DomainError], int] = {
    errors.Invalid: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.TooManyRequests: 429,
}
UNAUTHENTICATED_CHALLENGE = 'Bearer realm="daybook"'


def domain_problem(exc: errors.DomainError) -> Response[Any]:
    """The problem+json answer to a domain error (also usable outside an exception handler)."""
    status = next((DOMAIN_STATUS[cls] for cls in type(exc).__mro__ if cls in DOMAIN_STATUS), 400)
    if isinstance(exc, errors.Invalid):
        return problem_response(422, exc.detail, errors=[{"field": exc.field, "message": exc.message}])
    headers: dict[str, str] = {}
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = UNAUTHENTICATED_CHALLENGE
    if isinstance(exc, errors.TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    return problem_response(status, exc.detail, headers=headers or None)


def _domain_handler(request: Request[Any, Any, Any], exc: errors.DomainError) -> Response[Any]:
    return domain_problem(exc)


def _internal_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if is_denied_write(exc):  # the write guard: the caller's account was erased meanwhile
        logger.info("refused a write of a denied user on %s %s", request.method, request.url.path)
        return domain_problem(errors.Unauthenticated())
    timed_out = statement_timed_out(exc)
    if timed_out is not None:
        log_timeout(timed_out, f"{request.method} {request.url.path}")
        return problem_response(503, TIMEOUT_DETAIL, headers=outage_headers())
    if database_unavailable(exc):
        outage_log.failed(exc, f"{request.method} {request.url.path}")
        return problem_response(503, OUTAGE_DETAIL, headers=outage_headers())
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "An unexpected error occurred")


exception_handlers: dict[Any, Any] = {
    errors.DomainError: _domain_handler,
    ValidationException: _validation_handler,
    HTTPException: _http_handler,
    NotFoundError: _not_found_handler,
    DuplicateKeyError: _conflict_handler,
    Exception: _internal_handler,
}

__all__ = [
    "DOMAIN_STATUS",
    "PROBLEM_JSON",
    "MediaType",
    "domain_problem",
    "exception_handlers",
    "problem_body",
    "problem_response",
    "validation_error",
]
