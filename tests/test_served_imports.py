"""What a served process of each service has imported once it has started and answered requests
(memory, bench case 14): none of the migration and CLI machinery it never runs.

Alembic (with Mako and Pygments), advanced-alchemy's Litestar extension and Litestar's CLI (with
rich and rich-click) are ~13 MiB of every process that imports them.  The stack is started as
``daybook up`` starts it; a ``sitecustomize`` on the children's ``PYTHONPATH`` writes each
process's ``sys.modules`` when it exits, after the requests below and a graceful stop.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from .conftest import StartStack

PASSWORD = "correct horse battery staple"
#: Never imported by a served users, journal, reminders or gateway process.
UNUSED = ("alembic", "mako", "pygments", "advanced_alchemy.extensions.litestar", "litestar.cli", "rich")
SERVED = ("daybook_users.cli", "daybook_journal.cli", "daybook_reminders.cli", "daybook_gateway.cli")

SITECUSTOMIZE = """
import atexit, json, os, sys

def _write():
    path = os.path.join({out!r}, f"{{os.getpid()}}.json")
    with open(path, "w") as f:
        json.dump({{"argv": sys.argv, "modules": sorted(sys.modules)}}, f)

atexit.register(_write)
"""


def _use_every_service(http: httpx.Client) -> None:
    email = f"imports-{uuid.uuid4().hex[:10]}@example.com"
    assert http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    r = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    entry = {"title": "t", "content": "c", "entry_date": "2026-01-22T10:00:00Z"}
    for path, body in (
        ("/api/v1/journal/entries", entry),
        ("/api/v1/tasks", {"title": "t"}),
        (
            "/api/v1/reminders",
            {"title": "r", "message": "m", "frequency": "daily", "time": "09:00", "timezone": "UTC"},
        ),
    ):
        r = http.post(path, json=body, headers=auth)
        assert r.status_code == 201, r.text
        assert http.get(path, headers=auth).status_code == 200
    assert http.get("/api/v1/users/me", headers=auth).status_code == 200
    # A refused write: the session's rollback path.
    assert http.post("/api/v1/tasks", json={"title": ""}, headers=auth).status_code == 422


def test_served_processes_import_no_migration_or_cli_machinery(
    start_stack: StartStack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("served-imports")
    site, out = root / "site", root / "modules"
    site.mkdir()
    out.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE.format(out=str(out)))
    with (
        start_stack(root / "stack", {"PYTHONPATH": str(site)}) as stack,
        httpx.Client(base_url=stack.gateway_url, timeout=30) as http,
    ):
        for name in ("users", "journal", "reminders"):
            ready = httpx.get(stack.config.url_for(name) + "/ready", timeout=10)
            assert ready.status_code == 200, ready.text
        _use_every_service(http)
    found: dict[str, list[str]] = {}
    for path in out.glob("*.json"):
        record = json.loads(Path(path).read_text())
        target = record["argv"][0].partition(":")[0] if record["argv"] else ""
        if target in SERVED and "serve" in record["argv"]:
            found[target] = [m for m in UNUSED if m in record["modules"]]
    assert sorted(found) == sorted(SERVED), f"no module list of a served process: {sorted(found)}"
    assert found == {target: [] for target in SERVED}, f"imported: {found}"
