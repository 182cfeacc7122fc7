"""Row-level security: the one place a request's transaction is bound to its caller.

Every user-owned table has a policy comparing ``user_id`` with ``app.user_id``; a request's
session sets that (``SET LOCAL``, so it ends with the transaction) before any query, through
the ``user_db`` dependency. Queries still filter on ``user_id`` themselves so indexes are
used; the policy is the second wall.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.auth import AccessClaims
from daybook_common.db import set_rls_user


@dataclass(slots=True)
class UserDb:
    """The request's session, with ``app.user_id`` already set for this transaction."""

    session: AsyncSession
    user_id: uuid.UUID


async def provide_user_db(db_session: AsyncSession, current_user: AccessClaims) -> UserDb:
    """Litestar dependency ``user_db``: the caller's session, bound for row-level security."""
    await set_rls_user(db_session, current_user.user_id)
    return UserDb(session=db_session, user_id=current_user.user_id)


__all__ = ["UserDb", "provide_user_db"]
