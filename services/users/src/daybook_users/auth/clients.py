"""Who is calling: the client address (resolved by :mod:`daybook_common.clients`) and user agent."""

from __future__ import annotations

from daybook_common.clients import IPAddress
from daybook_users.db.models import USER_AGENT_MAX_LENGTH


class ClientInfo:
    """The caller's address and user agent (a plain class: Litestar does not re-validate it)."""

    __slots__ = ("ip", "user_agent")

    def __init__(self, ip: IPAddress | None, user_agent: str | None) -> None:
        self.ip = ip
        self.user_agent = user_agent


def user_agent(value: str | None) -> str | None:
    if not value:
        return None
    return value[:USER_AGENT_MAX_LENGTH]
