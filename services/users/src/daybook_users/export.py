"""What users contributes to the account export (:mod:`daybook_common.export`) besides the account
itself (``ExportController``): the sign-in sessions and the security activity."""

from __future__ import annotations

from daybook_common.export import ExportKind, kinds_by_name
from daybook_users.activity.services import EXPORT as ACTIVITY
from daybook_users.sessions.services import EXPORT as SESSIONS

KINDS: dict[str, ExportKind] = kinds_by_name(SESSIONS, ACTIVITY)

__all__ = ["KINDS"]
