"""USERS_* variables: defaults that work on a laptop, clear errors for unusable values."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from daybook_common.settings import SettingsError
from daybook_users.settings import Settings


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s.keys.signing_key_file == Path(".daybook/keys/users-signing-key.pem") and s.keys.generate
    assert (s.passwords.memory_kib, s.passwords.time_cost, s.passwords.parallelism) == (19_456, 2, 1)
    assert s.tokens.access_ttl_seconds == 900
    assert ipaddress.ip_address("127.0.0.1") in s.throttle.trusted_proxies[0]
    assert s.hash_concurrency >= 1
    assert s.idempotency_ttl_hours == 24


def test_overrides() -> None:
    s = Settings.from_env(
        {
            "USERS_TRUSTED_PROXIES": "10.0.0.0/8, fd00::/8",
            "USERS_GENERATE_SIGNING_KEY": "false",
            "USERS_ACCESS_TOKEN_TTL_SECONDS": "300",
            "USERS_PASSWORD_HASH_CONCURRENCY": "3",
            "USERS_IDEMPOTENCY_TTL_HOURS": "48",
        }
    )
    assert [str(n) for n in s.throttle.trusted_proxies] == ["10.0.0.0/8", "fd00::/8"]
    assert not s.keys.generate and s.tokens.access_ttl_seconds == 300 and s.hash_concurrency == 3
    assert s.idempotency_ttl.total_seconds() == 48 * 3600


def test_signing_key_text_is_not_in_the_repr() -> None:
    s = Settings.from_env({"USERS_SIGNING_KEY": "-----BEGIN PRIVATE KEY-----secret"})
    assert "secret" not in repr(s)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("USERS_TRUSTED_PROXIES", "gateway.local"),
        ("USERS_ACCESS_TOKEN_TTL_SECONDS", "0"),
        ("USERS_ARGON2_MEMORY_KIB", "lots"),
        ("USERS_LOGIN_MAX_FAILURES_PER_EMAIL", "-1"),
        ("USERS_GENERATE_SIGNING_KEY", "maybe"),
        ("USERS_IDEMPOTENCY_TTL_HOURS", "0"),
    ],
)
def test_unusable_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
