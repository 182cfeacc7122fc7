"""Settings, the rate-limit rules, client address resolution and the edge verifier's refresh guard."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from joserfc.jwk import ECKey

from daybook_common.auth import TokenError, TokenVerifier
from daybook_common.settings import SettingsError
from daybook_devtools.testing.tokens import TestSigner
from daybook_gateway.limits import ClientAddress
from daybook_gateway.rules import RULES
from daybook_gateway.settings import RateLimit, Settings


def test_defaults_match_the_documented_ports_and_limits() -> None:
    s = Settings.from_env({})
    assert s.upstream_urls == {
        "users": ("http://127.0.0.1:8001",),
        "journal": ("http://127.0.0.1:8002",),
        "reminders": ("http://127.0.0.1:8003",),
    }
    assert s.auth.jwks_url == "http://127.0.0.1:8001/api/v1/auth/jwks"
    assert (s.auth.issuer, s.auth.audience) == ("daybook-users", "daybook-api")
    assert s.max_body_bytes == 1_048_576
    assert {rule.name: limit for rule, limit in s.rate_limits} == {
        "login": RateLimit(20, 300.0),
        "register": RateLimit(30, 3600.0),
        "password-reset": RateLimit(5, 3600.0),
        "password-reset-confirm": RateLimit(20, 900.0),
        "verify-email": RateLimit(20, 900.0),
        "password-change": RateLimit(10, 900.0),
        "export": RateLimit(5, 3600.0),
    }
    assert s.export_concurrency == 2
    assert s.nats_url == "nats://127.0.0.1:14222"
    assert s.cors_origins == () and s.trusted_proxies == ()
    assert s.access_log is True
    assert (s.connect_timeout, s.stream_connect_timeout) == (2.0, 10.0)


def test_environment_overrides() -> None:
    s = Settings.from_env(
        {
            "GATEWAY_USERS_URL": "http://users:8001/",
            "GATEWAY_JOURNAL_URL": "http://journal:8002",
            "GATEWAY_CONNECT_TIMEOUT": "0.5",
            "GATEWAY_READ_TIMEOUT": "7",
            "GATEWAY_TIMEOUT": "9",
            "GATEWAY_MAX_BODY_BYTES": "2048",
            "GATEWAY_RATE_LIMIT_LOGIN": "5/10",
            "GATEWAY_RATE_LIMIT_PASSWORD_RESET": "off",
            "GATEWAY_NATS_URL": "nats://nats:4222",
            "GATEWAY_CORS_ORIGINS": "https://a.example/, http://localhost:5173",
            "GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
            "GATEWAY_ACCESS_LOG": "false",
            "GATEWAY_STREAM_CONNECT_TIMEOUT": "3",
        }
    )
    assert s.users_urls == ("http://users:8001",)
    assert s.auth.jwks_url == "http://users:8001/api/v1/auth/jwks"  # follows the users URL
    assert (s.connect_timeout, s.read_timeout, s.total_timeout) == (0.5, 7.0, 9.0)
    assert s.stream_connect_timeout == 3.0
    assert s.max_body_bytes == 2048
    limits = {rule.name: limit for rule, limit in s.rate_limits}
    assert limits["login"] == RateLimit(5, 10.0) and "password-reset" not in limits
    assert s.nats_url == "nats://nats:4222"
    assert Settings.from_env({"GATEWAY_RATE_LIMITS": "off"}).rate_limits == ()
    assert s.cors_origins == ("https://a.example", "http://localhost:5173")
    assert s.trusted_proxies == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1"))
    assert s.access_log is False
    assert Settings.from_env({"GATEWAY_JWKS_URL": "http://keys/jwks"}).auth.jwks_url == "http://keys/jwks"


@pytest.mark.parametrize(
    "env",
    [
        {"GATEWAY_RATE_LIMIT_LOGIN": "lots"},
        {"GATEWAY_RATE_LIMIT_REGISTER": "-1/60"},
        {"GATEWAY_RATE_LIMIT_REGISTER": "5/0.5"},
        {"GATEWAY_AUTH_RATE_LIMIT": "20/60"},  # replaced by the per-route settings: said, not ignored
        {"GATEWAY_TRUSTED_PROXIES": "not-an-ip"},
        {"GATEWAY_READ_TIMEOUT": "0"},
        {"GATEWAY_MAX_BODY_BYTES": "big"},
        {"GATEWAY_JOURNAL_URL": "journal:8002"},
    ],
)
def test_bad_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)


@pytest.mark.parametrize("raw", ["off", "0", "none", ""])
def test_rate_limit_can_be_switched_off(raw: str) -> None:
    assert RateLimit.parse(raw, "X") is None


def test_rule_names_are_subject_tokens_and_routes_are_unique() -> None:
    assert all(rule.name.replace("-", "").isalnum() and rule.name.islower() for rule in RULES)
    assert len({(rule.method, rule.path) for rule in RULES}) == len(RULES)
    assert all(bool(rule.failures) == (rule.counts == "failures") for rule in RULES)
    # refresh and logout are never limited: a valid token must always work
    assert not {"/api/v1/auth/refresh", "/api/v1/auth/logout"} & {rule.path for rule in RULES}


def test_client_address_trusts_only_configured_proxies() -> None:
    untrusted = ClientAddress(())
    assert untrusted.resolve("198.51.100.1", "1.2.3.4") == "198.51.100.1"
    trusted = ClientAddress((ipaddress.ip_network("10.0.0.0/8"),))
    assert trusted.resolve("10.1.1.1", "203.0.113.5") == "203.0.113.5"
    assert trusted.resolve("10.1.1.1", "6.6.6.6, 203.0.113.5, 10.2.2.2") == "203.0.113.5"
    assert trusted.resolve("10.1.1.1", "10.9.9.9") == "10.9.9.9"
    assert trusted.resolve("10.1.1.1", None) == "10.1.1.1"
    assert trusted.resolve("198.51.100.1", "203.0.113.5") == "198.51.100.1"
    assert trusted.resolve("testclient", "203.0.113.5") == "testclient"


async def test_unknown_key_ids_do_not_cause_a_jwks_request_each(signer: TestSigner) -> None:
    calls = 0

    async def loader() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return signer.jwks

    verifier = TokenVerifier("daybook-users", "daybook-api", loader)
    await verifier.refresh()
    assert calls == 1 and verifier.has_keys
    for i in range(20):
        stranger = TestSigner(key=ECKey.generate_key("P-256", parameters={"kid": f"made-up-{i}"}))
        with pytest.raises(TokenError):
            await verifier.verify(stranger.token("018f3c4e-0000-7000-8000-000000000001"))
    assert calls == 1  # an unknown kid refreshes at most once per refresh_interval (5 s)
    claims = await verifier.verify(signer.token("018f3c4e-0000-7000-8000-000000000001"))
    assert str(claims.user_id) == "018f3c4e-0000-7000-8000-000000000001"
