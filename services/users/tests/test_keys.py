"""Signing keys: generated on first start, loaded from file or env, two published at once to rotate."""

from __future__ import annotations

import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey
from litestar.testing import AsyncTestClient

from daybook_common.auth import TokenVerifier, static_jwks_loader
from daybook_users.auth.keys import SigningKeyError, load_signing_keys
from daybook_users.settings import KeySettings


def pem_of(key: ECKey, private: bool = True) -> str:
    return key.as_pem(private=private).decode()


def test_generated_on_first_start_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "keys" / "signing.pem"
    first = load_signing_keys(KeySettings(signing_key_file=path))
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    again = load_signing_keys(KeySettings(signing_key_file=path))
    assert again.kid == first.kid == ECKey.import_key(path.read_bytes()).thumbprint()
    assert [k["kid"] for k in first.jwks()["keys"]] == [first.kid]
    assert "d" not in first.jwks()["keys"][0]


def test_workers_racing_on_first_start_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    with ThreadPoolExecutor(8) as pool:
        kids = set(pool.map(lambda _: load_signing_keys(KeySettings(signing_key_file=path)).kid, range(16)))
    assert len(kids) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["signing.pem"]  # no temp files left behind


def test_missing_key_without_generation_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="USERS_SIGNING_KEY_FILE"):
        load_signing_keys(KeySettings(signing_key_file=tmp_path / "absent.pem", generate=False))


def test_key_from_environment_text(tmp_path: Path) -> None:
    key = ECKey.generate_key("P-256", private=True)
    keys = load_signing_keys(
        KeySettings(signing_key_file=tmp_path / "unused.pem", signing_key_pem=pem_of(key))
    )
    assert keys.kid == key.thumbprint()
    assert not (tmp_path / "unused.pem").exists()


@pytest.mark.parametrize(
    "content",
    [
        "not a key",
        pem_of(ECKey.generate_key("P-384", private=True)),
        pem_of(ECKey.generate_key("P-256", private=True), private=False),  # public only: cannot sign
    ],
    ids=["garbage", "p384", "public"],
)
def test_unusable_signing_keys_are_refused_without_echoing_them(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.pem"
    path.write_text(content)
    with pytest.raises(SigningKeyError) as info:
        load_signing_keys(KeySettings(signing_key_file=path, generate=False))
    assert "-----BEGIN" not in str(info.value) and "not a key" not in str(info.value)


@pytest.mark.parametrize("form", ["pem-public", "pem-private", "jwks"])
def test_additional_keys_are_published_public_only(tmp_path: Path, form: str) -> None:
    old = ECKey.generate_key("P-256", private=True)
    extra = tmp_path / "previous"
    if form == "jwks":
        extra.write_text(json.dumps({"keys": [dict(old.as_dict(private=True), kid="old-key")]}))
    else:
        extra.write_text(pem_of(old, private=form == "pem-private"))
    keys = load_signing_keys(
        KeySettings(signing_key_file=tmp_path / "current.pem", additional_public_keys_file=extra)
    )
    published = keys.jwks()["keys"]
    assert len(published) == 2 and published[0]["kid"] == keys.kid
    assert all("d" not in k for k in published)
    assert published[1]["kid"] == ("old-key" if form == "jwks" else old.thumbprint())


async def test_rotation_tokens_of_the_previous_key_stay_valid(
    harness: Any, make_harness: Any, tmp_path: Path
) -> None:
    """Rotate: the new key signs, the old one is still published until its tokens expire."""
    user, old_tokens = await harness.account()
    old_key_file = Path(harness.settings.keys.signing_key_file)
    new_key_file = tmp_path / "new.pem"
    app, _, _ = make_harness(
        USERS_SIGNING_KEY_FILE=str(new_key_file), USERS_ADDITIONAL_PUBLIC_KEYS_FILE=str(old_key_file)
    )
    async with AsyncTestClient(app) as rotated:
        jwks = (await rotated.get("/api/v1/auth/jwks")).json()
        assert len(jwks["keys"]) == 2
        assert jwks["keys"][1]["kid"] == ECKey.import_key(old_key_file.read_bytes()).thumbprint()
        # the old token still works on the rotated service ...
        r = await rotated.get("/api/v1/users/me", headers=harness.bearer(old_tokens))
        assert r.status_code == 200
        # ... and a new login there is signed with the new key, which other services accept via the JWKS
        r = await rotated.post(
            "/api/v1/auth/login", json={"email": user["email"], "password": harness.password}
        )
        new_tokens = r.json()
    verifier = TokenVerifier("daybook-users", "daybook-api", static_jwks_loader(jwks))
    for tokens in (old_tokens, new_tokens):
        assert str((await verifier.verify(tokens["access_token"])).user_id) == user["id"]
    # The old-key-only service does not know the new key.
    r = await harness.client.get("/api/v1/users/me", headers=harness.bearer(new_tokens))
    assert r.status_code == 401


def test_key_file_is_not_world_readable_when_generated_under_a_loose_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        path = tmp_path / "k.pem"
        load_signing_keys(KeySettings(signing_key_file=path))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(previous)
