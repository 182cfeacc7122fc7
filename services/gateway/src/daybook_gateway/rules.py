"""What the gateway rate-limits: one rule per route, counting what abuse looks like.

A rule counts either every **attempt** (registrations, reset requests: each one costs the service
real work or sends mail) or only **failures** (a login answered 401: guessing passwords; a
successful login never counts).  Counts are per client address (or, for ``per="user"``, per
account: the verified token's subject), in fixed windows shared by every gateway replica and
worker (:mod:`daybook_gateway.limits`).  ``/auth/refresh`` and
``/auth/logout`` have no rule: a valid token must always work, and guessing a 256-bit refresh
token is no threat a counter would stop.

Adding a limited route is one line in :data:`RULES`; ``GATEWAY_RATE_LIMIT_<NAME>`` (the name in
upper case, ``-`` as ``_``) overrides its limit, e.g. ``GATEWAY_RATE_LIMIT_LOGIN=10/60`` or ``off``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from daybook_common.settings import SettingsError


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``window`` seconds per client."""

    requests: int
    window: float

    @classmethod
    def parse(cls, raw: str, name: str) -> RateLimit | None:
        value = raw.strip().lower()
        if value in {"", "0", "off", "none", "false"}:
            return None
        count, sep, window = value.partition("/")
        try:
            limit = cls(int(count), float(window) if sep else 60.0)
        except ValueError:
            raise SettingsError(
                f"{name} must look like 20/60 (requests/seconds) or off, got {raw!r}"
            ) from None
        if limit.requests <= 0 or limit.window < 1:
            raise SettingsError(f"{name} needs a positive count and a window of at least 1 s, got {raw!r}")
        return limit

    def __str__(self) -> str:
        return f"{self.requests}/{self.window:g}"


@dataclass(frozen=True)
class Rule:
    #: A NATS subject token and the suffix of its setting's name.
    name: str
    method: str
    path: str
    counts: Literal["attempts", "failures"]
    default: RateLimit
    #: For ``counts="failures"``: the upstream statuses that count.
    failures: frozenset[int] = frozenset()
    #: Whose requests one counter counts: the client address's, or the authenticated user's.
    per: Literal["client", "user"] = "client"

    @property
    def setting(self) -> str:
        return "RATE_LIMIT_" + self.name.upper().replace("-", "_")


def failures(*statuses: int) -> frozenset[int]:
    return frozenset(statuses)


RULES: tuple[Rule, ...] = (
    # Wrong credentials (401), and going on against an account the users service has locked (429).
    Rule("login", "POST", "/api/v1/auth/login", "failures", RateLimit(20, 300), failures(401, 429)),
    Rule("register", "POST", "/api/v1/auth/register", "attempts", RateLimit(30, 3600)),
    # Each request may send an email; the users service also limits mails per account.
    Rule("password-reset", "POST", "/api/v1/auth/password-reset", "attempts", RateLimit(5, 3600)),
    # Mailed single-use tokens answered 400 (spent, expired, unknown): guessing 256-bit tokens is
    # hopeless, but nothing legitimate fails often, so failures are cheap to cap.
    Rule(
        "password-reset-confirm",
        "POST",
        "/api/v1/auth/password-reset/confirm",
        "failures",
        RateLimit(20, 900),
        failures(400),
    ),
    Rule("verify-email", "POST", "/api/v1/auth/verify-email", "failures", RateLimit(20, 900), failures(400)),
    # A wrong current password (422) or the users service's own lock-out (429).
    Rule(
        "password-change",
        "POST",
        "/api/v1/users/me/password",
        "failures",
        RateLimit(10, 900),
        failures(422, 429),
    ),
    # Each export reads every row of the account in every service.
    Rule("export", "GET", "/api/v1/users/me/export", "attempts", RateLimit(5, 3600), per="user"),
)
