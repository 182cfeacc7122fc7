"""Reminders settings: environment variables with the `REMINDERS_` prefix, read in create_app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from daybook_common.service import CommonSettings
from daybook_common.settings import Env
from daybook_reminders import SCHEMA

PREFIX = "REMINDERS_"
DEFAULT_DATABASE_URL = "postgresql://reminders:reminders@127.0.0.1:15432/daybook"


@dataclass(frozen=True)
class Settings:
    common: CommonSettings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(PREFIX, environ)
        return cls(common=CommonSettings.from_env(env, "reminders", SCHEMA, DEFAULT_DATABASE_URL))
