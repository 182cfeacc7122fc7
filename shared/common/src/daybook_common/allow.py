"""``OPTIONS`` answers list every method of the path in ``Allow``.

Litestar makes the automatic ``OPTIONS`` handler of a path when it meets the path's first
controller methods, so ``/tags`` (``GET`` and ``POST`` in two handlers) answered
``Allow: OPTIONS, POST``.  :class:`AllowHeaderMiddleware` rewrites that header from the app's
final routing table (every method registered for the matched path template).
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute


class AllowHeaderMiddleware:
    def __init__(self, app: Any, litestar: Litestar) -> None:
        self.app = app
        self.litestar = litestar
        self._allow: dict[str, bytes] | None = None

    def allow_by_template(self) -> dict[str, bytes]:
        if self._allow is None:
            methods: dict[str, set[str]] = {}
            for route in self.litestar.routes:
                if isinstance(route, HTTPRoute):
                    methods.setdefault(route.path_format or "/", set()).update(route.methods)
            self._allow = {path: ", ".join(sorted(m)).encode() for path, m in methods.items()}
        return self._allow

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] == 204:
                allow = self.allow_by_template().get(scope.get("path_template") or "")
                if allow is not None:
                    headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"allow"]
                    message = {**message, "headers": [*headers, (b"allow", allow)]}
            await send(message)

        await self.app(scope, receive, send_with_allow)
