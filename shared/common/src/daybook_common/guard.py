"""The input guard every service's app runs before Litestar sees a request.

PostgreSQL cannot store NUL, msgspec's JSON decoder recurses once per nesting level, and
Litestar parses any body as JSON whatever its ``Content-Type``: left alone, each of these
ends in a 500 with a traceback (the NUL ones with SQL and parameters).  The guard answers
them first, as problem+json:

- NUL in the path, in a query parameter or in any string (or key) of a JSON body → 422
  naming the field;
- a JSON body nested deeper than :data:`MAX_DEPTH` → 422;
- a JSON object with the same key twice → 422 naming the key (parsers disagree on which one
  counts — the first, the last, an error — and RFC 7493 forbids it; left alone the last won);
- a body that is not UTF-8 → 400, and so is one whose JSON escapes hold an unpaired UTF-16
  surrogate (``"\\ud800"``): it names no character, so the text is not Unicode (RFC 8259 §8.2;
  left alone msgspec answered it "Input data was truncated");
- a body whose ``Content-Type`` is not JSON (``application/json`` or ``application/*+json``)
  → 415, and so is one with a ``Content-Encoding`` (gzip …: no service decodes one, RFC 9110
  §15.5.16) — it would otherwise be parsed as if it were plain JSON;
- a body larger than ``max_body`` → 413;
- a body that ends early (malformed chunked encoding) → 400.

Requests without these problems reach the app unchanged (a buffered body is replayed).  So do
requests the app does not route (an unknown path, a method the path does not have, asked through
``routed``): their answer is the app's 404 or 405, whatever their query or body holds, and the app
reads neither for them.
The cheap checks (byte searches and counts in C) run on every request; the exact ones
(a full parse to name the field, a bracket walk) only when a cheap one matched — except the
duplicate-key check, one parse of every JSON body (see :func:`duplicate_key`).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from daybook_common.problems import PROBLEM_JSON, problem_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Deepest JSON nesting a body may have; Daybook's own bodies need fewer than 5 levels.
MAX_DEPTH = 32
#: Largest body the guard buffers (Litestar's own default limit).
MAX_BODY = 10 * 1024 * 1024
NUL_MESSAGE = "must not contain the NUL character"
_JSON_TYPE = re.compile(rb"\s*application/(?:[a-z0-9.+-]*\+)?json\s*(?:;.*)?", re.IGNORECASE | re.DOTALL)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
DUPLICATE_MESSAGE = "duplicate key in a JSON object"
SURROGATE_MESSAGE = (
    "The request body is not valid JSON text: it holds an unpaired surrogate escape (such as \\ud800), "
    "which is no Unicode character and has no UTF-8 form"
)
#: A JSON escape of a UTF-16 surrogate (paired or not: the exact check decides).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Refusal(Exception):
    """A request the guard answers itself."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors


def is_json_content_type(value: bytes | None) -> bool:
    return value is not None and _JSON_TYPE.fullmatch(value) is not None


def check_target(path: str, query: bytes) -> None:
    """Raise :class:`Refusal` (422) when the path or a query parameter holds NUL."""
    if "\x00" in path:
        raise Refusal(422, "Validation failed", [{"field": "path", "message": NUL_MESSAGE}])
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                field = name.replace("\x00", "") or "query"
                raise Refusal(422, "Validation failed", [{"field": field, "message": NUL_MESSAGE}])


def nesting_depth(body: bytes, limit: int = MAX_DEPTH) -> int:
    """The JSON nesting depth of ``body`` (strings ignored), counted up to ``limit + 1``."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for char in brackets:
        if char in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def _nul_field(value: Any, path: str = "") -> str | None:
    """The path (``a.b[0]``) of the first string or key in ``value`` holding NUL."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return child.replace("\x00", "")
            found = _nul_field(item, child)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_field(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _has_surrogate(value: Any) -> bool:
    """Whether a string or key in ``value`` holds a surrogate (``json`` joins a valid pair into
    one character, so any left is unpaired)."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(key) or _has_surrogate(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(item) for item in value)
    return False


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def duplicate_key(text: str) -> str | None:
    """The first key that one object of ``text`` holds twice (None when there is none or ``text``
    is not JSON: the app's decoder answers that). No cheap pre-check beats this parse: a regex
    finding the keys costs more than the C decoder (9 vs 4 us for a 1 kB entry); with the hook
    it is 10-20 us for a create's body, a few ms for 1 MB of text."""
    try:
        json.loads(text, object_pairs_hook=_unique_pairs)
    except _DuplicateKey as found:
        return found.key
    except ValueError:
        return None
    return None


def check_json_body(body: bytes) -> None:
    """Raise :class:`Refusal` for a JSON body the services must not parse or store."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "The request body is not valid UTF-8") from None
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and nesting_depth(body) > MAX_DEPTH:
        message = f"nested deeper than {MAX_DEPTH} levels"
        raise Refusal(422, "Validation failed", [{"field": "body", "message": message}])
    twice = duplicate_key(text)
    if twice is not None:
        named = twice.replace("\x00", "") or "body"
        raise Refusal(422, "Validation failed", [{"field": named, "message": DUPLICATE_MESSAGE}])
    if b"\\u" in body and _SURROGATE_ESCAPE.search(body) is not None:
        try:
            surrogate = _has_surrogate(json.loads(text))
        except ValueError:
            return  # not JSON at all: the app's decoder answers that
        if surrogate:
            raise Refusal(400, SURROGATE_MESSAGE)
    if "\\u0000" in text:
        try:
            document = json.loads(text)
        except ValueError:
            return  # not JSON at all: the app's decoder answers that
        field = _nul_field(document)
        if field is not None:
            raise Refusal(422, "Validation failed", [{"field": field, "message": NUL_MESSAGE}])


class BodyGuard:
    """Pure ASGI middleware applying the checks above (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, *, max_body: int = MAX_BODY, routed: Callable[[str, str], bool] | None = None
    ) -> None:
        self.app = app
        self.max_body = max_body
        #: ``routed(path, method)``: whether the app has a handler for them (asked only when a
        #: check refuses, so the cheap path stays as cheap); without it every refusal is answered.
        self.routed = routed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_target(scope["path"], scope.get("query_string", b""))
            content_type = length = encoding = None
            chunked = False
            for name, value in scope["headers"]:
                if name == b"content-type":
                    content_type = value
                elif name == b"content-encoding":
                    encoding = value
                elif name == b"content-length":
                    length = value
                elif name == b"transfer-encoding":
                    chunked = True
            if not chunked and (length is None or length.strip() == b"0"):
                await self.app(scope, receive, send)
                return
            if not is_json_content_type(content_type):
                raise Refusal(415, "The request body must be JSON (Content-Type: application/json)")
            if encoding is not None and encoding.strip().lower() not in (b"", b"identity"):
                raise Refusal(415, "The request body must not be encoded (no Content-Encoding)")
            body = await self._read(receive)
            check_json_body(body)
        except Refusal as refusal:
            if self.routed is not None and not self.routed(scope["path"], scope["method"]):
                await self.app(scope, receive, send)  # the app's 404/405 (it reads no body for them)
                return
            await _answer(send, refusal)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                # A malformed chunked body reaches the app as a disconnect; without an answer the
                # server would send a bare 500.  If the client really left, nobody reads this.
                raise Refusal(400, "The request body is malformed or incomplete")
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise Refusal(413, f"The request body is larger than {self.max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _answer(send: Send, refusal: Refusal) -> None:
    extra = {"errors": refusal.errors} if refusal.errors is not None else {}
    body = json.dumps(problem_body(refusal.status, refusal.detail, **extra)).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    with contextlib.suppress(Exception):  # a client that left cannot be answered
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
