"""Structured JSON log lines and the cheap per-request access line.

Kept free of the web framework so that processes that serve no HTTP (the reminders scheduler)
log in the same shape without paying for importing it; the ASGI side is in
:mod:`daybook_common.observability`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import json
import logging
import math
import sys
import time
from typing import Any, TextIO, cast

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
access_logger = logging.getLogger("daybook.access")

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id and any extras."""

    converter = staticmethod(time.gmtime)

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            payload["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class _DaybookHandler(logging.StreamHandler[TextIO]):
    """The stdout handler :func:`configure_logging` installs, recognised by its ``_daybook`` marker."""

    _daybook = True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route the root logger to stdout as JSON lines; idempotent."""
    handler = _DaybookHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_daybook", False):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("sqlalchemy.engine", "aiohttp.access", "granian.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class DropEmbeddedNotice(logging.Filter):
    """Drops Granian's "Embedded server is experimental!" warning, logged at every start of a
    one-worker service (:func:`daybook_common.cli.serve_in_process`): that mode is chosen on
    purpose and measured (issue 23), so the warning would only teach operators to ignore warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Embedded server is experimental!"


def log_dictconfig(service: str) -> dict[str, Any]:
    """Granian's ``log_dictconfig``: its own lines (``_granian``: starting, listening, workers,
    shutdown; ``granian.access``, which the services leave off) as the same JSON lines as the
    service's, so a served process writes nothing else to stdout."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter", "service": service}},
        "filters": {"embedded_notice": {"()": f"{__name__}.DropEmbeddedNotice"}},
        "handlers": {
            "json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
        },
        "loggers": {
            "_granian": {
                "handlers": ["json"],
                "level": "INFO",
                "propagate": False,
                "filters": ["embedded_notice"],
            },
            "granian.access": {"handlers": ["json"], "level": "INFO", "propagate": False},
        },
    }


#: ``AccessLog.record``'s default for ``upstream``: the line has no such field.
NO_UPSTREAM: Any = object()


class AccessLog:
    """The one ``daybook.access`` line per request, kept cheap.

    Going through ``logging`` (a LogRecord with caller lookup, :class:`JsonFormatter`'s
    generic ``json.dumps``, a flushed write per line) cost ~150k instructions a request,
    more than half of what Litestar spends on a whole ``/health``; this costs ~15k.  When logging is set up the
    way :func:`configure_logging` does it (the daybook JSON handler is the only one that
    would see the record), the line is built here directly — exactly the text
    :class:`JsonFormatter` gives such a record — and written to that handler's stream in
    batches: at most ``interval`` seconds or ``batch`` lines late, and at shutdown
    (:class:`~daybook_common.service.ServiceApp` flushes in its ``on_shutdown``) or at
    process exit.  With any other set-up (extra handlers or filters, pytest's capture,
    a level that drops INFO) it logs through ``logging`` as before, so the record behaves
    like any other.
    """

    def __init__(self, interval: float = 0.05, batch: int = 256) -> None:
        self.interval = interval
        self.batch = batch
        self._lines: list[str] = []
        self._handler: logging.Handler | None = None
        self._timer: Any = None
        self._second = -1
        self._stamp = ""
        self._paths: dict[Any, str] = {}
        atexit.register(self.flush)

    def record(
        self,
        method: Any,
        path: Any,
        status: Any,
        duration_ms: float,
        safe_request_id: str | None = None,
        upstream: Any = NO_UPSTREAM,
    ) -> None:
        """Log one request; ``safe_request_id`` is an id known to need no JSON escaping (one
        :mod:`~daybook_common.observability` made or accepted), used as is when it is still
        the current ``request_id_var``.  ``upstream``: the service a gateway request went to
        (``None`` when none), a field only the gateway's lines carry."""
        handler = _sole_daybook_handler()
        if handler is None:
            extra = {"method": method, "path": path, "status": status}
            if upstream is not NO_UPSTREAM:
                extra["upstream"] = upstream
            extra["duration_ms"] = duration_ms
            access_logger.info("request", extra=extra)
            return
        if handler is not self._handler:
            self.flush()
            self._handler = handler
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        formatter = cast(JsonFormatter, handler.formatter)
        request_id = request_id_var.get()
        self._lines.append(
            f'{{"ts": "{self._stamp}.{int((now - second) * 1000):03d}Z", "level": "info", '
            f'"service": {self._json(formatter.service)}, "logger": "daybook.access", "msg": "request", '
            + (
                (
                    f'"request_id": "{request_id}", '
                    if request_id is safe_request_id
                    else f'"request_id": {self._json(request_id)}, '
                )
                if request_id
                else ""
            )
            + f'"method": {self._json(method)}, "path": {self._json(path)}, '
            f'"status": {_number(status)}, '
            + ("" if upstream is NO_UPSTREAM else f'"upstream": {self._json(upstream)}, ')
            + f'"duration_ms": {_number(duration_ms)}}}\n'
        )
        if len(self._lines) >= self.batch or self.interval <= 0:
            self.flush()
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(self.interval, self.flush)
            except RuntimeError:  # not on an event loop: write at once
                self.flush()

    def _json(self, value: Any) -> str:
        """``json.dumps(value)``, remembered for the few method and route strings a service has."""
        if type(value) is not str:
            return json.dumps(value, default=str)
        text = self._paths.get(value)
        if text is None:
            text = json.dumps(value)
            if len(self._paths) < 512 and len(value) <= 256:
                self._paths[value] = text
        return text

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines or self._handler is None:
            return
        lines, self._lines = self._lines, []
        handler = self._handler
        handler.acquire()
        try:
            stream = cast("logging.StreamHandler[TextIO]", handler).stream
            stream.write("".join(lines))
            stream.flush()
        except (OSError, ValueError):  # stdout gone (closed pipe at shutdown): nothing better to do
            pass
        finally:
            handler.release()


def _number(value: Any) -> str:
    """``json.dumps(value, default=str)`` without building an encoder for the usual int or float."""
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return repr(value)
    return json.dumps(value, default=str)


def _sole_daybook_handler() -> logging.Handler | None:
    """The handler :func:`configure_logging` installed, when it alone would emit a ``daybook.access`` INFO record."""
    if not access_logger.isEnabledFor(logging.INFO) or access_logger.filters:
        return None
    logger: logging.Logger = access_logger
    while logger.parent is not None:
        if logger.handlers or not logger.propagate:
            return None
        logger = logger.parent
    handlers = logger.handlers
    if len(handlers) != 1:
        return None
    handler = handlers[0]
    if (
        not getattr(handler, "_daybook", False)
        or handler.filters
        or handler.level > logging.INFO
        or type(handler.formatter) is not JsonFormatter
    ):
        return None
    return handler


access_log = AccessLog()
