"""Bodies of the reset and verification endpoints."""

from __future__ import annotations

from typing import Annotated

import msgspec

from daybook_users.constraints import Email, NewPassword

#: Any text: a malformed token is a 400 like a spent or unknown one, not a 422.
MailedToken = Annotated[str, msgspec.Meta(max_length=1024, description="The token from the email's link")]


class PasswordResetRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


class PasswordResetConfirm(msgspec.Struct, forbid_unknown_fields=True):
    token: MailedToken
    new_password: NewPassword


class EmailVerification(msgspec.Struct, forbid_unknown_fields=True):
    token: MailedToken


class Accepted(msgspec.Struct, forbid_unknown_fields=True):
    """The same answer whatever happened (whether the address has an account is not told)."""

    detail: str
