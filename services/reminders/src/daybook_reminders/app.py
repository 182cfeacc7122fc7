"""The reminders service's composition root."""

from __future__ import annotations

from litestar import Litestar

from daybook_common.service import ServiceApp
from daybook_reminders import SCRIPT_LOCATION
from daybook_reminders.db.models import Base
from daybook_reminders.settings import Settings


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    return ServiceApp(
        settings=settings.common,
        metadata=Base.metadata,
        script_location=SCRIPT_LOCATION,
        route_handlers=[],
        title="Daybook reminders",
    ).build()
