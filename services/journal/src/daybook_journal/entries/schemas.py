"""Journal entries as the API shows and accepts them."""

from __future__ import annotations

import datetime
import uuid
from typing import Any, ClassVar

import msgspec

from daybook_journal import constraints as c


class Encrypted(msgspec.Struct, forbid_unknown_fields=True):
    """A client-side encrypted body: the server stores the bytes and returns them unchanged."""

    ciphertext: c.Ciphertext
    wrapped_key: c.WrappedKey
    iv: c.Nonce
    wrap_iv: c.Nonce
    secret_tag_id: c.SecretTagId | None = None


class EntryTag(msgspec.Struct):
    id: uuid.UUID
    name: str
    color: str


class Entry(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    title: str | None
    content: str | None
    entry_date: datetime.datetime
    tags: list[EntryTag]
    encrypted: Encrypted | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    #: Set while the entry is in the trash.
    deleted_at: datetime.datetime | None = None


class EntryCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Exactly one of ``content`` (plain text) or ``encrypted``."""

    __openapi__: ClassVar[dict[str, Any]] = {
        "oneOf": [
            {
                "title": "PlainEntry",
                "required": ["content"],
                "properties": {"content": {"type": "string"}, "encrypted": {"type": "null"}},
            },
            {
                "title": "EncryptedEntry",
                "required": ["encrypted"],
                # The component itself, so generated clients type the branch (a bare object became
                # TypeScript's Record<string, never>, which no encrypted body can satisfy).
                "properties": {
                    "content": {"type": "null"},
                    "encrypted": {"$ref": "#/components/schemas/Encrypted"},
                },
            },
        ]
    }

    entry_date: c.AwareDatetime
    title: c.EntryTitle | None = None
    content: c.EntryContent | None = None
    encrypted: Encrypted | None = None
    tag_ids: c.TagIds = msgspec.field(default_factory=list)


class EntryUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields present change; after the change exactly one of content/encrypted is set.

    To switch an entry to encrypted send ``{"content": null, "encrypted": {…}}`` (and back).
    """

    #: Whatever the entry holds now, both set or both cleared is never a valid change.
    __openapi__: ClassVar[dict[str, Any]] = {
        "not": {
            "anyOf": [
                {
                    "required": ["content", "encrypted"],
                    "properties": {"content": {"type": "string"}, "encrypted": {"type": "object"}},
                },
                {
                    "required": ["content", "encrypted"],
                    "properties": {"content": {"type": "null"}, "encrypted": {"type": "null"}},
                },
            ]
        }
    }

    entry_date: c.AwareDatetime | msgspec.UnsetType = msgspec.UNSET
    title: c.EntryTitle | msgspec.UnsetType | None = msgspec.UNSET
    content: c.EntryContent | msgspec.UnsetType | None = msgspec.UNSET
    encrypted: Encrypted | msgspec.UnsetType | None = msgspec.UNSET
    tag_ids: c.TagIds | msgspec.UnsetType = msgspec.UNSET


class Revision(msgspec.Struct):
    """An earlier version of an entry: ``revision`` is the version (ETag) it had."""

    revision: int
    title: str | None
    content: str | None
    encrypted: Encrypted | None
    tags: list[EntryTag]
    entry_date: datetime.datetime
    #: When this version was written.
    saved_at: datetime.datetime
