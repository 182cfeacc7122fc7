"""Reading settings from the environment.

Settings are read when an app is created (``create_app``), never at import time,
so tests and the launcher can set variables first.  Each service uses its own
prefix (``USERS_``, ``JOURNAL_`` …) so several services can share one environment.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping


class SettingsError(ValueError):
    """A variable is set to a value that cannot be used."""


class Env:
    """Typed access to environment variables under one prefix (``JOURNAL_`` …)."""

    def __init__(
        self, prefix: builtins.str, environ: Mapping[builtins.str, builtins.str] | None = None
    ) -> None:
        self.prefix = prefix
        self.environ = os.environ if environ is None else environ

    def name(self, key: builtins.str) -> builtins.str:
        return f"{self.prefix}{key}"

    def raw(self, key: builtins.str) -> builtins.str | None:
        value = self.environ.get(self.name(key))
        return None if value is None or value == "" else value

    def str(self, key: builtins.str, default: builtins.str) -> builtins.str:
        value = self.raw(key)
        return default if value is None else value

    def optional(self, key: builtins.str) -> builtins.str | None:
        return self.raw(key)

    def int(self, key: builtins.str, default: builtins.int) -> builtins.int:
        value = self.raw(key)
        if value is None:
            return default
        try:
            return builtins.int(value)
        except ValueError as exc:
            raise SettingsError(f"{self.name(key)} must be an integer, got {value!r}") from exc

    def float(self, key: builtins.str, default: builtins.float) -> builtins.float:
        value = self.raw(key)
        if value is None:
            return default
        try:
            return builtins.float(value)
        except ValueError as exc:
            raise SettingsError(f"{self.name(key)} must be a number, got {value!r}") from exc

    def bool(self, key: builtins.str, default: builtins.bool) -> builtins.bool:
        value = self.raw(key)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{self.name(key)} must be true or false, got {value!r}")

    def list(
        self, key: builtins.str, default: builtins.list[builtins.str] | None = None
    ) -> builtins.list[builtins.str]:
        value = self.raw(key)
        if value is None:
            return list(default or [])
        return [part.strip() for part in value.split(",") if part.strip()]
