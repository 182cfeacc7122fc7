"""The emails the users service sends: a plain-text and an HTML body, links from ``USERS_PUBLIC_URL``."""

from __future__ import annotations

import html
import urllib.parse

from daybook_users.mail.outbox import Mail


def link(public_url: str, path: str, token: str) -> str:
    return f"{public_url}{path}?{urllib.parse.urlencode({'token': token})}"


def _html(paragraphs: list[str], url: str, action: str) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    button = f'<p><a href="{html.escape(url, quote=True)}">{html.escape(action)}</a></p>'
    return f'<!doctype html><html><body style="font-family:sans-serif">{body}{button}</body></html>'


def password_reset(recipient: str, public_url: str, token: str) -> Mail:
    url = link(public_url, "/reset-password", token)
    lines = [
        "Someone asked to reset the password of your Daybook account.",
        "If it was you, choose a new password within 30 minutes; the link works once.",
        "If it was not you, ignore this email: your password stays as it is.",
    ]
    return Mail(
        kind="password_reset",
        recipient=recipient,
        subject="Reset your Daybook password",
        text="\n\n".join([*lines[:2], url, lines[2]]) + "\n",
        html=_html(lines, url, "Choose a new password"),
    )


def email_verification(recipient: str, public_url: str, token: str, ttl_hours: int) -> Mail:
    url = link(public_url, "/verify-email", token)
    lines = [
        "Please confirm that this is your email address for Daybook.",
        f"The link works once, for {ttl_hours} hours.",
    ]
    return Mail(
        kind="email_verification",
        recipient=recipient,
        subject="Confirm your email address for Daybook",
        text="\n\n".join([*lines, url]) + "\n",
        html=_html(lines, url, "Confirm my address"),
    )
