"""Auth endpoints: register, login, refresh, logout, JWKS."""

from __future__ import annotations

from typing import cast

import msgspec
from litestar import Controller, Response, get, post

from daybook_common.http import CREATED, IdempotencyKey, etag, stored_response
from daybook_common.idempotency import IdempotencyKeys
from daybook_common.openapi import problems
from daybook_common.rls import trusted_lookup
from daybook_users.auth import schemas as s
from daybook_users.auth.clients import ClientInfo
from daybook_users.auth.services import AuthService, clean_full_name, register_fingerprint
from daybook_users.auth.tokens import IssuedTokens
from daybook_users.db import models as m
from daybook_users.runtime import UsersRuntime
from daybook_users.users import schemas as us
from daybook_users.users.services import normalize_email, to_schema

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _pair(tokens: IssuedTokens) -> Response[s.TokenPair]:
    body = s.TokenPair(
        access_token=tokens.access_token, refresh_token=tokens.refresh_token, expires_in=tokens.expires_in
    )
    return Response(body, status_code=200, headers=NO_STORE)


def _json(status: int, body: bytes, headers: dict[str, str]) -> Response[us.User]:
    return cast(Response[us.User], stored_response(status, body, headers))


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/register",
        operation_id="Register",
        status_code=201,
        summary="Create an account",
        opt=problems({409: "An account with this email already exists", 429: "Too many attempts"}),
        response_headers=CREATED,
    )
    async def register(
        self,
        data: s.UserCreate,
        auth_service: AuthService,
        client: ClientInfo,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[us.User]:
        # The key is claimed and the account looked up by email before anyone is signed in.
        await trusted_lookup(auth_service.session, "register")
        ttl = auth_service.runtime.settings.idempotency_ttl
        keys = IdempotencyKeys(auth_service.session, m.idempotency_keys, ttl=ttl)
        if idempotency_key is not None:
            email = normalize_email(data.email)
            request_hash = register_fingerprint(email, clean_full_name(data.full_name))
            stored = await keys.claim(idempotency_key, request_hash)
            if stored is not None:
                await auth_service.check_retry(stored, email, data.password, client)
                return _json(stored.status_code, stored.body, stored.headers)
        user = await auth_service.register(data.email, data.password, data.full_name)
        # Encoded once here, so a replay of the stored bytes is byte-identical.
        body = msgspec.json.encode(to_schema(user))
        headers = {"Location": "/api/v1/users/me", "ETag": etag(user.version)}
        if idempotency_key is not None:
            await keys.record(idempotency_key, 201, body, headers, user_id=user.id)
        return _json(201, body, headers)

    @post(
        "/login",
        operation_id="Login",
        status_code=200,
        summary="Exchange credentials for tokens",
        opt=problems({401: "Unknown email or wrong password", 429: "Too many failed logins"}),
    )
    async def login(
        self, data: s.Login, auth_service: AuthService, client: ClientInfo
    ) -> Response[s.TokenPair]:
        return _pair(await auth_service.login(data.email, data.password, client))

    @post(
        "/refresh",
        operation_id="RefreshTokens",
        status_code=200,
        summary="Rotate the refresh token",
        opt=problems({401: "Unknown, expired or spent refresh token"}),
    )
    async def refresh(
        self, data: s.RefreshRequest, auth_service: AuthService, client: ClientInfo
    ) -> Response[s.TokenPair]:
        return _pair(await auth_service.refresh(data.refresh_token, client))

    @post("/logout", operation_id="Logout", status_code=204, summary="End the refresh token's session")
    async def logout(self, data: s.LogoutRequest, auth_service: AuthService) -> None:
        await auth_service.logout(data.refresh_token)

    @get(
        "/jwks", operation_id="GetJwks", summary="Public keys that verify access tokens", sync_to_thread=False
    )
    def jwks(self, runtime: UsersRuntime) -> Response[s.Jwks]:
        keys = [
            s.Jwk(kty=k["kty"], crv=k["crv"], x=k["x"], y=k["y"], kid=k["kid"], use=k["use"], alg=k["alg"])
            for k in runtime.keys.jwks()["keys"]
        ]
        document = s.Jwks(keys=keys)
        return Response(document, headers={"Cache-Control": "public, max-age=300"})
