"""Row-level security: the one place a request's transaction is bound to its caller.

Every user-owned table has a policy comparing ``user_id`` with ``app.user_id``; a request's
session sets that (``SET LOCAL``, so it ends with the transaction) before any query, through
the ``user_db`` dependency. Queries still filter on ``user_id`` themselves so indexes are
used; the policy is the second wall.

Work that cannot know the user first (a login by email, a token spent by its hash, a worker
across users) uses the one bypass the policies honour, ``app.rls_bypass``, through
:func:`trusted_lookup` (ORM sessions) or ``daybook_common.retention.BYPASS`` (asyncpg): set
LOCAL, so it ends with the transaction, and each call names its reason in the log.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.auth import AccessClaims
from daybook_common.db import set_rls_user

logger = logging.getLogger("daybook.rls")


@dataclass(slots=True)
class UserDb:
    """The request's session, with ``app.user_id`` already set for this transaction."""

    session: AsyncSession
    user_id: uuid.UUID


async def provide_user_db(db_session: AsyncSession, current_user: AccessClaims) -> UserDb:
    """Litestar dependency ``user_db``: the caller's session, bound for row-level security."""
    await set_rls_user(db_session, current_user.user_id)
    return UserDb(session=db_session, user_id=current_user.user_id)


async def trusted_lookup(session: AsyncSession, reason: str) -> None:
    """Let this transaction see every user's rows (``SET LOCAL app.rls_bypass = on``).

    Only for a lookup made before the user is known, or an operator's action on another
    account; ``reason`` names the call site in the ``daybook.rls`` log (DEBUG) and in
    ``app.rls_reason`` for the rest of the transaction.
    """
    logger.debug("row-level security bypassed", extra={"reason": reason})
    await session.execute(
        text("SELECT set_config('app.rls_bypass', 'on', true), set_config('app.rls_reason', :reason, true)"),
        {"reason": reason},
    )


__all__ = ["UserDb", "provide_user_db", "trusted_lookup"]
