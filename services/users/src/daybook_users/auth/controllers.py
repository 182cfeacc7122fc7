"""Auth endpoints: register, login, refresh, logout, JWKS."""

from __future__ import annotations

from litestar import Controller, Response, get, post

from daybook_users.auth import schemas as s
from daybook_users.auth.clients import ClientInfo
from daybook_users.auth.services import AuthService
from daybook_users.auth.tokens import IssuedTokens
from daybook_users.runtime import UsersRuntime
from daybook_users.users import schemas as us
from daybook_users.users.services import etag_of, to_schema

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _pair(tokens: IssuedTokens) -> Response[s.TokenPair]:
    body = s.TokenPair(
        access_token=tokens.access_token, refresh_token=tokens.refresh_token, expires_in=tokens.expires_in
    )
    return Response(body, status_code=200, headers=NO_STORE)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/register", operation_id="Register", status_code=201, summary="Create an account")
    async def register(self, data: s.UserCreate, auth_service: AuthService) -> Response[us.User]:
        user = await auth_service.register(data.email, data.password, data.full_name)
        return Response(
            to_schema(user),
            status_code=201,
            headers={"Location": "/api/v1/users/me", "ETag": etag_of(user)},
        )

    @post("/login", operation_id="Login", status_code=200, summary="Exchange credentials for tokens")
    async def login(
        self, data: s.Login, auth_service: AuthService, client: ClientInfo
    ) -> Response[s.TokenPair]:
        return _pair(await auth_service.login(data.email, data.password, client))

    @post("/refresh", operation_id="RefreshTokens", status_code=200, summary="Rotate the refresh token")
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
