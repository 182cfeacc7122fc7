"""Route factories build the handler a hand-written method would be: same OpenAPI, same answers."""

from __future__ import annotations

import uuid
from typing import Any, cast

import msgspec
from litestar import Controller, Litestar, Response, delete, get, patch, post
from litestar.di import Provide
from litestar.testing import TestClient

from daybook_common import resource_routes as routes
from daybook_common.errors import ExpectedVersion, check_version
from daybook_common.http import (
    VERSIONED,
    IfMatchHeader,
    IfNoneMatchHeader,
    expected_version,
    json_response,
    read_response,
)
from daybook_common.problems import exception_handlers


class Note(msgspec.Struct):
    id: uuid.UUID
    text: str


class NoteUpdate(msgspec.Struct, forbid_unknown_fields=True):
    text: str


class Notes:
    """One note at version 1 (a stand-in for a service: the HTTP layer is what is tested here)."""

    def __init__(self) -> None:
        self.note, self.version = Note(uuid.UUID(int=1), "first"), 1

    async def get(self, note_id: uuid.UUID) -> tuple[Note, int]:
        return self.note, self.version

    async def update(
        self, note_id: uuid.UUID, data: NoteUpdate, expected: ExpectedVersion
    ) -> tuple[Note, int]:
        check_version(self.version, expected)
        self.note, self.version = Note(note_id, data.text), self.version + 1
        return self.note, self.version

    async def delete(self, note_id: uuid.UUID, expected: ExpectedVersion) -> None:
        check_version(self.version, expected)

    async def restore(self, note_id: uuid.UUID) -> tuple[Note, int]:
        return self.note, self.version


NOTE = routes.Resource("note", "notes", Notes, Note, update_schema=NoteUpdate)


class HandWritten(Controller):
    path = "/notes"

    @get("/{note_id:uuid}", operation_id="GetNote", response_headers=VERSIONED)
    async def get_note(
        self, note_id: uuid.UUID, notes: Notes, if_none_match: IfNoneMatchHeader = None
    ) -> Response[Note]:
        note, version = await notes.get(note_id)
        return cast(Response[Note], read_response(note, version, if_none_match))

    @patch("/{note_id:uuid}", operation_id="UpdateNote", response_headers=VERSIONED)
    async def update_note(
        self, note_id: uuid.UUID, data: NoteUpdate, notes: Notes, if_match: IfMatchHeader = None
    ) -> Response[Note]:
        note, version = await notes.update(note_id, data, expected_version(if_match))
        return cast(Response[Note], json_response(note, version=version))

    @delete("/{note_id:uuid}", operation_id="DeleteNote", summary="Soft-delete a note")
    async def delete_note(self, note_id: uuid.UUID, notes: Notes, if_match: IfMatchHeader = None) -> None:
        await notes.delete(note_id, expected_version(if_match))

    @post("/{note_id:uuid}/restore", operation_id="RestoreNote", status_code=200, response_headers=VERSIONED)
    async def restore_note(self, note_id: uuid.UUID, notes: Notes) -> Response[Note]:
        note, version = await notes.restore(note_id)
        return cast(Response[Note], json_response(note, version=version))


class Built(Controller):
    path = "/notes"

    get_note, update_note, delete_note, restore_note = routes.lifecycle_routes(
        NOTE, delete="Soft-delete a note"
    )


def app_of(controller: type[Controller]) -> Litestar:
    notes = Notes()
    return Litestar(
        [controller],
        dependencies={"notes": Provide(lambda: notes, sync_to_thread=False)},
        exception_handlers=exception_handlers,
    )


def test_built_handlers_take_the_name_a_method_in_that_class_body_would_have() -> None:
    # Litestar orders a controller's handlers by module and qualified name.
    assert str(Built.get_note) == f"{__name__}.Built.get_note"


def test_the_openapi_document_is_the_hand_written_one() -> None:
    def document(controller: type[Controller]) -> dict[str, Any]:
        return app_of(controller).openapi_schema.to_schema()

    assert document(Built) == document(HandWritten)


def test_the_answers_are_the_hand_written_ones() -> None:
    def answers(controller: type[Controller]) -> list[tuple[int, str | None, bytes]]:
        url = f"/notes/{uuid.UUID(int=1)}"
        with TestClient(app_of(controller)) as client:
            responses = [
                client.get(url),
                client.get(url, headers={"If-None-Match": '"1"'}),
                client.patch(url, json={"text": "second"}, headers={"If-Match": '"2"'}),
                client.patch(url, json={"text": "second"}, headers={"If-Match": '"1"'}),
                client.delete(url, headers={"If-Match": '"1"'}),
                client.delete(url, headers={"If-Match": '"2"'}),
                client.post(url + "/restore"),
            ]
        return [(r.status_code, r.headers.get("etag"), r.content) for r in responses]

    built = answers(Built)
    assert built == answers(HandWritten)
    assert [status for status, _, _ in built] == [200, 304, 412, 200, 412, 204, 200]
