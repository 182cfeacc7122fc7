"""Reusable field constraints for request bodies (one place, shared by every schema)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from daybook_common import instants
from daybook_common.text import multi_line, single_line

#: An RFC 3339 timestamp with an offset, within the instants Python can represent in UTC.
AwareDatetime = instants.AwareDatetime

# Names and titles are one line with nothing invisible that changes how they read; multi-line
# texts keep tabs and line breaks but no other control character (daybook_common.text).
EntryTitle = Annotated[str, single_line(max_length=200)]
EntryContent = Annotated[str, multi_line(max_length=100_000)]

TagName = Annotated[str, single_line(min_length=1, max_length=50, not_blank=True)]
Color = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$", examples=["#3366ff"])]
DEFAULT_COLOR = "#808080"

#: Tag ids attached to an entry or a task (the caller's own tags only).
TagIds = Annotated[list[uuid.UUID], msgspec.Meta(max_length=20)]
MAX_TAG_FILTER = 10

TaskTitle = Annotated[str, single_line(min_length=1, max_length=200)]
TaskDescription = Annotated[str, multi_line(max_length=10_000)]
TaskStatus = Literal["todo", "in_progress", "done"]
TaskPriority = Literal["low", "medium", "high"]
TaskSort = Literal["due_at", "-due_at", "created_at", "-created_at", "priority", "-priority"]

# Client-side encrypted entries: base64 strings in JSON, bytes in the database.
#: Standard base64 with padding, as msgspec decodes it into ``bytes``.
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$"


def _base64_meta(max_bytes: int) -> msgspec.Meta:
    """1..max_bytes bytes, documented as the base64 string the client really sends."""
    return msgspec.Meta(
        min_length=1,
        max_length=max_bytes,
        description=f"base64 of 1..{max_bytes} bytes",
        extra_json_schema={
            "extra": {
                "pattern": BASE64_PATTERN,
                "content_encoding": "base64",
                "min_length": 4,
                "max_length": 4 * -(-max_bytes // 3),
            }
        },
    )


Ciphertext = Annotated[bytes, _base64_meta(262_144)]
WrappedKey = Annotated[bytes, _base64_meta(1024)]
Nonce = Annotated[bytes, _base64_meta(64)]
SecretTagId = Annotated[bytes, _base64_meta(256)]

# Goals and practice.
GoalTitle = Annotated[str, single_line(min_length=1, max_length=200)]
GoalDescription = Annotated[str, multi_line(max_length=10_000)]
GoalStatus = Literal["active", "done", "archived"]
#: Siblings are listed by ``sort_order`` (then ``created_at``); any 32-bit integer.
SortOrder = Annotated[int, msgspec.Meta(ge=-2_147_483_648, le=2_147_483_647)]
#: Activity, group, metric, split and template names.
PracticeName = Annotated[str, single_line(min_length=1, max_length=100, not_blank=True)]
ActivityDescription = Annotated[str, multi_line(max_length=2000)]
MetricUnit = Annotated[str, single_line(min_length=1, max_length=30, not_blank=True)]
SessionTitle = Annotated[str, single_line(max_length=200)]
SessionNotes = Annotated[str, multi_line(max_length=10_000)]
DurationSeconds = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
MetricNumber = Annotated[float, msgspec.Meta(ge=0, lt=1e300, description="a JSON number >= 0")]
StatsBucket = Literal["day", "week", "month"]
