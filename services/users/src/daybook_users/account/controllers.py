"""Password reset and email verification endpoints."""

from __future__ import annotations

from litestar import Controller, Response, post

from daybook_common.openapi import problems
from daybook_users.account import schemas as s
from daybook_users.account.services import AccountService
from daybook_users.auth.clients import ClientInfo
from daybook_users.db import models as m

RESET_ACCEPTED = s.Accepted(detail="If the address has an account, a reset link is on its way")
VERIFICATION_ACCEPTED = s.Accepted(detail="If the address still needs verifying, a link is on its way")
INVALID_TOKEN = {400: "The token is spent, expired, unknown or malformed"}


class RecoveryController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/password-reset",
        operation_id="RequestPasswordReset",
        status_code=202,
        summary="Mail a password-reset link (the same answer whether or not the address has an account)",
        opt=problems({429: "Too many reset requests"}),
    )
    async def request_reset(
        self, data: s.PasswordResetRequest, account_service: AccountService
    ) -> s.Accepted:
        await account_service.request_password_reset(data.email)
        return RESET_ACCEPTED

    @post(
        "/password-reset/confirm",
        operation_id="ConfirmPasswordReset",
        status_code=204,
        summary="Set a new password with a reset token; every refresh token is revoked",
        opt=problems(INVALID_TOKEN),
    )
    async def confirm_reset(
        self, data: s.PasswordResetConfirm, account_service: AccountService, client: ClientInfo
    ) -> None:
        await account_service.confirm_password_reset(data.token, data.new_password, client)

    @post(
        "/verify-email",
        operation_id="VerifyEmail",
        status_code=204,
        summary="Confirm the account's email address with the mailed token",
        opt=problems(INVALID_TOKEN),
    )
    async def verify_email(
        self, data: s.EmailVerification, account_service: AccountService, client: ClientInfo
    ) -> None:
        await account_service.verify_email(data.token, client)


class VerificationController(Controller):
    path = "/api/v1/users/me/verify-email"
    tags = ["users"]

    @post(
        "/",
        operation_id="ResendVerificationEmail",
        status_code=202,
        summary="Mail the verification link again (nothing is sent for a verified address)",
    )
    async def resend(self, account: m.User, account_service: AccountService) -> Response[s.Accepted]:
        await account_service.send_verification(account)
        return Response(VERIFICATION_ACCEPTED, status_code=202)
