"""The service documents every public path it serves (the gateway merges these documents)."""

from __future__ import annotations

from typing import Any

PATHS = {
    ("post", "/api/v1/auth/register"): "Register",
    ("post", "/api/v1/auth/login"): "Login",
    ("post", "/api/v1/auth/refresh"): "RefreshTokens",
    ("post", "/api/v1/auth/logout"): "Logout",
    ("get", "/api/v1/auth/jwks"): "GetJwks",
    ("get", "/api/v1/users/me"): "GetMe",
    ("patch", "/api/v1/users/me"): "UpdateMe",
    ("delete", "/api/v1/users/me"): "DeleteMe",
    ("post", "/api/v1/users/me/password"): "ChangePassword",
    ("get", "/api/v1/admin/users"): "ListUsers",
}


async def test_openapi_lists_every_endpoint(harness: Any) -> None:
    r = await harness.client.get("/schema/openapi.json")
    assert r.status_code == 200, r.text
    doc = r.json()
    for (method, path), operation_id in PATHS.items():
        assert doc["paths"][path][method]["operationId"] == operation_id
    user = doc["components"]["schemas"]["User"]
    assert "hashed_password" not in user["properties"]
