"""Reusable field constraints for request schemas (one place, shared by every aggregate)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from daybook_common.text import shaped_line, single_line
from daybook_users.db.models import AVATAR_URL_MAX_LENGTH, EMAIL_MAX_LENGTH, FULL_NAME_MAX_LENGTH

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128

Email = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=EMAIL_MAX_LENGTH,
        description="Email address; trimmed and compared case-insensitively",
        examples=["ada@example.com"],
        extra_json_schema={"extra": {"format": "email"}},
    ),
]
NewPassword = Annotated[
    str,
    msgspec.Meta(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        description=f"{PASSWORD_MIN_LENGTH}..{PASSWORD_MAX_LENGTH} characters",
    ),
]
# Any password a user could have set; only bounded so a huge body cannot cost hashing time.
GivenPassword = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
FullName = Annotated[
    str,
    single_line(
        max_length=FULL_NAME_MAX_LENGTH,
        description="Display name: one line without control or bidirectional formatting characters",
    ),
]
AvatarUrl = Annotated[
    str,
    shaped_line(
        r"https?://[^\s/$.?#][^\s]*$",
        "an http(s) URL",
        max_length=AVATAR_URL_MAX_LENGTH,
        description="http(s) URL of the avatar image, without control or bidirectional formatting characters",
    ),
]
RefreshTokenValue = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
