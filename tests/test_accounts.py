"""Account lifecycle through the gateway: password reset and email verification with the mail
the users service wrote, unknown addresses indistinguishable, every refusal of a reset token."""

from __future__ import annotations

import email
import email.policy
import random
import re
import time
import uuid
from pathlib import Path

import httpx

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase"
TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_-]{43})\b")


def _client() -> dict[str, str]:
    """A client of its own (the stack trusts this test's X-Forwarded-For): a full reset budget."""
    return {"X-Forwarded-For": f"198.19.{random.randrange(256)}.{random.randrange(1, 255)}"}


def _token_mailed(mail_dir: Path, recipient: str, subject_part: str, count: int = 1) -> str:
    deadline = time.monotonic() + 20
    while True:
        found = []
        for path in sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == recipient and subject_part in str(message["Subject"]):
                found.append(message)
        if len(found) >= count:
            body = found[-1].get_body(preferencelist=("plain",))
            assert body is not None
            match = TOKEN.search(str(body.get_content()))  # type: ignore[attr-defined]
            assert match, body
            return match.group(1)
        assert time.monotonic() < deadline, f"no {subject_part!r} mail to {recipient} in {mail_dir}"
        time.sleep(0.1)


def _account(http: httpx.Client) -> tuple[str, dict[str, str]]:
    address = f"accounts-{uuid.uuid4().hex[:10]}@example.com"
    r = http.post("/api/v1/auth/register", json={"email": address, "password": PASSWORD})
    assert r.status_code == 201, r.text
    assert r.json()["email_verified_at"] is None
    r = http.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return address, dict(r.json())


def test_email_verification(http: httpx.Client, stack_mail_dir: Path) -> None:
    address, tokens = _account(http)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    first = _token_mailed(stack_mail_dir, address, "Confirm")
    assert http.post("/api/v1/users/me/verify-email", headers=auth).status_code == 202
    second = _token_mailed(stack_mail_dir, address, "Confirm", count=2)
    assert first != second
    assert http.post("/api/v1/auth/verify-email", json={"token": second}).status_code == 204
    assert http.get("/api/v1/users/me", headers=auth).json()["email_verified_at"] is not None
    r = http.post("/api/v1/auth/verify-email", json={"token": second})
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    kinds = [e["kind"] for e in http.get("/api/v1/users/me/activity", headers=auth).json()["items"]]
    assert kinds == ["email_verified", "login"]


def test_password_reset_and_its_refusals(http: httpx.Client, stack_mail_dir: Path) -> None:
    address, tokens = _account(http)
    client = _client()
    unknown = f"nobody-{uuid.uuid4().hex[:10]}@example.com"
    known_answer = http.post("/api/v1/auth/password-reset", json={"email": address}, headers=client)
    unknown_answer = http.post("/api/v1/auth/password-reset", json={"email": unknown}, headers=client)
    assert known_answer.status_code == unknown_answer.status_code == 202
    assert known_answer.content == unknown_answer.content
    assert known_answer.headers["content-type"] == unknown_answer.headers["content-type"]
    token = _token_mailed(stack_mail_dir, address, "Reset")
    assert not list(stack_mail_dir.glob("*.eml")) or all(
        unknown.encode() not in path.read_bytes() for path in stack_mail_dir.glob("*.eml")
    )

    confirm = "/api/v1/auth/password-reset/confirm"
    for bad in ("", "malformed", "A" * 43):  # malformed, malformed, unknown
        r = http.post(confirm, json={"token": bad, "new_password": NEW_PASSWORD})
        assert r.status_code == 400, (bad, r.text)
    assert http.post(confirm, json={"token": token, "new_password": NEW_PASSWORD}).status_code == 204
    assert http.post(confirm, json={"token": token, "new_password": NEW_PASSWORD}).status_code == 400  # spent
    # Every refresh token revoked; the new password works, the old one not.
    assert (
        http.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    )
    assert http.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD}).status_code == 401
    r = http.post("/api/v1/auth/login", json={"email": address, "password": NEW_PASSWORD})
    assert r.status_code == 200
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    kinds = [e["kind"] for e in http.get("/api/v1/users/me/activity", headers=auth).json()["items"]]
    assert kinds[:3] == ["login", "login_failed", "password_reset"]


def test_an_expired_reset_token_is_refused(
    http: httpx.Client, stack_mail_dir: Path, stack_admin_dsn: str
) -> None:
    import asyncio

    import asyncpg

    address, _ = _account(http)
    assert (
        http.post("/api/v1/auth/password-reset", json={"email": address}, headers=_client()).status_code
        == 202
    )
    token = _token_mailed(stack_mail_dir, address, "Reset")

    async def age() -> None:
        conn = await asyncpg.connect(stack_admin_dsn)
        try:
            await conn.execute(
                "UPDATE users.account_tokens SET created_at = now() - interval '31 minutes',"
                " expires_at = now() - interval '1 minute' WHERE purpose = 'password_reset' AND user_id ="
                " (SELECT id FROM users.users WHERE email = $1 AND deleted_at IS NULL)",
                address,
            )
        finally:
            await conn.close()

    asyncio.run(age())
    r = http.post("/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    assert r.status_code == 400
    assert http.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD}).status_code == 200
