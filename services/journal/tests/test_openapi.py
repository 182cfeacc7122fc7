"""The OpenAPI document (merged by the gateway) lists every journal path with its operation ids."""

from __future__ import annotations

from litestar.testing import AsyncTestClient


async def test_openapi_covers_the_contract(api: AsyncTestClient) -> None:
    r = await api.get("/schema/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    operations = {
        (path, method): op["operationId"]
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }
    expected = {
        ("/api/v1/journal/entries", "get"): "ListEntries",
        ("/api/v1/journal/entries", "post"): "CreateEntry",
        ("/api/v1/journal/entries/{entry_id}", "get"): "GetEntry",
        ("/api/v1/journal/entries/{entry_id}", "patch"): "UpdateEntry",
        ("/api/v1/journal/entries/{entry_id}", "delete"): "DeleteEntry",
        ("/api/v1/journal/entries/{entry_id}/restore", "post"): "RestoreEntry",
        ("/api/v1/journal/trash", "get"): "ListTrash",
        ("/api/v1/journal/tags", "get"): "ListTags",
        ("/api/v1/journal/tags", "post"): "CreateTag",
        ("/api/v1/journal/tags/{tag_id}", "get"): "GetTag",
        ("/api/v1/journal/tags/{tag_id}", "patch"): "UpdateTag",
        ("/api/v1/journal/tags/{tag_id}", "delete"): "DeleteTag",
        ("/api/v1/tasks", "get"): "ListTasks",
        ("/api/v1/tasks", "post"): "CreateTask",
        ("/api/v1/tasks/{task_id}", "get"): "GetTask",
        ("/api/v1/tasks/{task_id}", "patch"): "UpdateTask",
        ("/api/v1/tasks/{task_id}", "delete"): "DeleteTask",
        ("/api/v1/tasks/{task_id}/restore", "post"): "RestoreTask",
    }
    for key, operation_id in expected.items():
        assert operations.get(key) == operation_id, key
    params = {p["name"] for p in doc["paths"]["/api/v1/journal/entries"]["get"]["parameters"]}
    assert {"limit", "cursor", "from", "to", "tag", "q"} <= params
    schemas = doc["components"]["schemas"]
    assert any("Entry" in name for name in schemas)
