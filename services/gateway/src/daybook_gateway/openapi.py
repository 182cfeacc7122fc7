"""One OpenAPI 3.1 document for the whole public API, merged from the services' own schemas.

Each service publishes ``/schema/openapi.json``.  Only the paths under the prefixes the gateway
routes to that service are kept (a service's ``/health``, ``/ready`` and internal paths are not
public).  Component names are prefixed with the service name (``journal_Entry``) so two services
may both define ``Tag`` or ``Page``; every ``$ref`` and security requirement is rewritten to match.
A service that cannot be reached is listed in ``x-daybook-unavailable`` and fetched again soon.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from daybook_common.openapi import (
    PROBLEM_REF,
    PROBLEM_SCHEMA,
    VALIDATION_PROBLEM_SCHEMA,
    add_problem,
)
from daybook_gateway.export import EXPORT_PATH, PARTS
from daybook_gateway.links import add_links
from daybook_gateway.routing import PUBLIC_PREFIXES, Upstream, prefixes_of

logger = logging.getLogger("daybook.gateway.openapi")

SCHEMA_PATH = "/schema/openapi.json"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
GATEWAY_SECURITY_SCHEME = "gateway_BearerToken"
RETRY_INCOMPLETE_AFTER = 5.0

_PROBLEM = {
    "content": {
        "application/problem+json": {"schema": {"$ref": PROBLEM_REF}},
    }
}
#: Components every service takes from ``daybook_common.openapi``: merged once, under their own name.
SHARED_COMPONENTS = frozenset({"Problem", "ValidationProblem"})
#: What the gateway itself answers for every proxied operation, before or instead of the service.
GATEWAY_STATUSES: dict[int, str] = {
    400: "Malformed request (dot segments in the path, invalid Content-Length)",
    403: "Origin not allowed (CORS)",
    413: "Request body too large",
    429: "Rate limited (see Retry-After)",
    502: "The upstream service failed",
    503: "The upstream service or its database is unavailable, or too busy to answer in time",
    504: "The upstream service timed out",
}


def export_operation() -> dict[str, Any]:
    """``GET /api/v1/users/me/export``, which the gateway assembles itself (:mod:`daybook_gateway.export`)."""
    files = ", ".join(part.filename for part in PARTS)
    operation: dict[str, Any] = {
        "operationId": "ExportMe",
        "tags": ["users"],
        "summary": "All the caller's data in every service, as one zip (streamed)",
        "description": (
            f"One JSON file per kind at the zip's root: {files}, and manifest.json "
            "(`api_version`, `exported_at`, `user_id`, `counts` per file). Lists hold one item per line; "
            "entries carry client-side encrypted fields as base64 of the stored bytes; soft-deleted "
            "rows are included with their `deleted_at`. A few exports per hour per user (429 beyond)."
        ),
        "security": [{GATEWAY_SECURITY_SCHEME: []}],
        "responses": {
            "200": {
                "description": "The zip, streamed (no Content-Length); a failure half-way breaks the connection",
                "headers": {
                    "Content-Disposition": {
                        "description": 'attachment; filename="daybook-export-YYYY-MM-DD.zip"',
                        "schema": {"type": "string"},
                    }
                },
                "content": {
                    "application/zip": {"schema": {"type": "string", "contentMediaType": "application/zip"}}
                },
            }
        },
    }
    add_problem(operation, 401)
    add_problem(operation, 429, "Too many exports this hour (see Retry-After)")
    for status, description in GATEWAY_STATUSES.items():
        add_problem(operation, status, description)
    operation["responses"]["503"]["description"] += "; or too many exports in progress (see Retry-After)"
    return operation


def gateway_document() -> dict[str, Any]:
    """The gateway's own public paths and the components every merged document carries."""
    ready_response = {
        "description": "Every upstream is ready",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    return {
        "paths": {
            "/health": {
                "get": {
                    "operationId": "GatewayHealth",
                    "tags": ["gateway"],
                    "summary": "The gateway process is alive",
                    "responses": {
                        "200": {
                            "description": "Alive",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"status": {"type": "string", "const": "ok"}},
                                        "required": ["status"],
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/ready": {
                "get": {
                    "operationId": "GatewayReady",
                    "tags": ["gateway"],
                    "summary": "Every upstream service is ready",
                    "responses": {
                        "200": ready_response,
                        "503": {
                            "description": "Some upstreams are not ready (listed in not_ready)",
                            **_PROBLEM,
                        },
                    },
                }
            },
            "/docs": {
                "get": {
                    "operationId": "GatewayDocs",
                    "tags": ["gateway"],
                    "summary": "Interactive API docs (Swagger UI, served without internet access)",
                    "responses": {"200": {"description": "HTML page", "content": {"text/html": {}}}},
                }
            },
            EXPORT_PATH: {"get": export_operation()},
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "GatewayOpenAPI",
                    "tags": ["gateway"],
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1 document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Problem": copy.deepcopy(PROBLEM_SCHEMA),
                "ValidationProblem": copy.deepcopy(VALIDATION_PROBLEM_SCHEMA),
            },
            "securitySchemes": {
                GATEWAY_SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Access token from POST /api/v1/auth/login",
                }
            },
        },
    }


def _under(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _Renamer:
    def __init__(self, service: str, components: Mapping[str, Any]) -> None:
        self.service = service
        self.names: dict[tuple[str, str], str] = {}
        for section, items in components.items():
            if isinstance(items, Mapping):
                for name in items:
                    shared = section == "schemas" and name in SHARED_COMPONENTS
                    self.names[(section, name)] = name if shared else f"{service}_{name}"

    def name(self, section: str, name: str) -> str:
        return self.names.get((section, name), f"{self.service}_{name}")

    def ref(self, ref: str) -> str:
        if not ref.startswith("#/components/"):
            return ref
        parts = ref[len("#/components/") :].split("/")
        if len(parts) < 2:
            return ref
        section, name = parts[0], _unescape(parts[1])
        rest = "/".join(parts[2:])
        new = f"#/components/{section}/{_escape(self.name(section, name))}"
        return f"{new}/{rest}" if rest else new

    def rewrite(self, node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    out[key] = self.ref(value)
                else:
                    out[key] = self.rewrite(value)
            return out
        if isinstance(node, list):
            return [self.rewrite(item) for item in node]
        return node

    def security(self, requirements: Any) -> list[dict[str, Any]]:
        if not isinstance(requirements, list):
            return []
        return [
            {self.name("securitySchemes", k): v for k, v in req.items()}
            for req in requirements
            if isinstance(req, dict)
        ]


def merge_documents(
    documents: Mapping[str, Mapping[str, Any] | None],
    prefixes: Mapping[str, Sequence[str]],
    *,
    title: str = "Daybook API",
    version: str = "1.0.0",
) -> dict[str, Any]:
    """Merge the services' documents (``None`` for one that could not be fetched) into one."""
    own = gateway_document()
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "The public Daybook API, served by the gateway. Authenticated paths take "
                "`Authorization: Bearer <access_token>`; errors are RFC 9457 problem+json."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": dict(own["paths"]),
        "components": copy.deepcopy(own["components"]),
        "tags": [{"name": "gateway", "description": "The gateway's own endpoints"}],
    }
    tag_names = {"gateway"}
    operation_ids = {op["operationId"] for item in own["paths"].values() for op in item.values()}
    unavailable: list[str] = []
    components: dict[str, dict[str, Any]] = merged["components"]
    for service, document in documents.items():
        if not isinstance(document, Mapping):
            unavailable.append(service)
            continue
        service_components = document.get("components") or {}
        renamer = _Renamer(service, service_components)
        default_security = renamer.security(document.get("security"))
        kept = 0
        for path, item in (document.get("paths") or {}).items():
            if not isinstance(item, Mapping) or not _under(path, prefixes.get(service, ())):
                continue
            public = _under(path, tuple(PUBLIC_PREFIXES))
            new_item = renamer.rewrite(dict(item))
            for method, operation in new_item.items():
                if method not in HTTP_METHODS or not isinstance(operation, dict):
                    continue
                for status, description in GATEWAY_STATUSES.items():
                    add_problem(operation, status, description)
                if not public:  # the gateway verifies the access token before forwarding
                    add_problem(operation, 401)
                if "security" in operation:
                    operation["security"] = renamer.security(operation["security"])
                elif default_security:
                    operation["security"] = default_security
                elif not public:
                    operation["security"] = [{GATEWAY_SECURITY_SCHEME: []}]
                op_id = operation.get("operationId")
                if isinstance(op_id, str):
                    if op_id in operation_ids:
                        op_id = operation["operationId"] = f"{service}_{op_id}"
                    operation_ids.add(op_id)
                for tag in operation.get("tags") or ():
                    if isinstance(tag, str) and tag not in tag_names:
                        tag_names.add(tag)
                        merged["tags"].append({"name": tag})
            merged["paths"][path] = new_item
            kept += 1
        for section, items in service_components.items():
            if not isinstance(items, Mapping):
                continue
            target = components.setdefault(section, {})
            for name, value in items.items():
                target[renamer.name(section, name)] = renamer.rewrite(value)
        for tag in document.get("tags") or ():
            if isinstance(tag, Mapping) and tag.get("name") in tag_names:
                for existing in merged["tags"]:
                    if existing["name"] == tag["name"] and len(existing) == 1:
                        existing.update(renamer.rewrite(dict(tag)))
        logger.debug("merged %d public paths of %s", kept, service)
    add_links(merged)
    if unavailable:
        merged["x-daybook-unavailable"] = sorted(unavailable)
        merged["info"]["description"] += (
            " Not included because the service could not be reached: " + ", ".join(sorted(unavailable)) + "."
        )
    return merged


class OpenAPIAggregator:
    """Fetches and merges the services' schemas on demand, cached for ``ttl`` seconds."""

    def __init__(self, upstreams: Mapping[str, Upstream], ttl: float, timeout: float) -> None:
        self.upstreams = upstreams
        self.ttl = ttl
        self.timeout = timeout
        self._document: bytes | None = None
        self._fetched_at = 0.0
        self._complete = False
        self._lock = asyncio.Lock()

    async def fetch(self, upstream: Upstream) -> dict[str, Any] | None:
        """The service's schema from the first replica that gives it (they all serve the same)."""
        for replica in upstream.replicas:
            document = await self._fetch_from(upstream, replica.url)
            if document is not None:
                return document
        return None

    async def _fetch_from(self, upstream: Upstream, base_url: str) -> dict[str, Any] | None:
        try:
            async with upstream.client().get(
                base_url + SCHEMA_PATH,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"Accept": "application/json"},
            ) as response:
                if response.status != 200:
                    logger.warning("schema of %s: HTTP %s", upstream.name, response.status)
                    return None
                document = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            logger.warning("schema of %s unavailable: %s", upstream.name, exc.__class__.__name__)
            return None
        return document if isinstance(document, dict) else None

    def _fresh(self) -> bool:
        age = time.monotonic() - self._fetched_at
        return self._document is not None and age < (self.ttl if self._complete else RETRY_INCOMPLETE_AFTER)

    async def document(self) -> bytes:
        if self._fresh():
            assert self._document is not None
            return self._document
        async with self._lock:
            if self._fresh():
                assert self._document is not None
                return self._document
            names = list(self.upstreams)
            fetched = await asyncio.gather(*(self.fetch(self.upstreams[n]) for n in names))
            documents = dict(zip(names, fetched, strict=True))
            merged = merge_documents(documents, {n: prefixes_of(n) for n in names})
            self._document = json.dumps(merged, separators=(",", ":")).encode()
            self._fetched_at = time.monotonic()
            self._complete = all(d is not None for d in fetched)
            return self._document
