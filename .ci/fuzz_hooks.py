"""Schemathesis hooks for ``.ci/fuzz.py``: how a real client authenticates and what it cannot invent.

- Every request carries the fuzz account's access token (``DAYBOOK_FUZZ_TOKEN``), except
  ``DELETE /api/v1/users/me``: that one gets a fresh throwaway account's token (registered on the
  users service directly), so deleting "me" never ends the run's own account.
- A schema-valid request built from values only the server can issue is not a valid request:
  ``cursor`` is opaque (the previous page's ``next_cursor``), and ``tag_ids``, ``task_id``,
  ``goal_id``, ``parent_id`` … must name the caller's own live resources (API.md: else ``422``),
  as must the ``metric_id`` of a session's metric values.  In the positive parts of a generated
  case they are left out (lists emptied); negative cases keep them untouched.
- An item's path parameters name real rows of the fuzz account in the positive cases
  (``fuzz_fixtures``: a goal tree with activities, metrics, splits, templates, sessions and
  their activity instances, entries with a revision, tags, tasks, reminders, a notification,
  and trashed ones for restore and purge); negative cases keep the generated values.
- A client makes a new ``Idempotency-Key`` for each new request: reusing one with another body is
  a 422 by design, so positive cases get a fresh key.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import schemathesis
from fuzz_fixtures import OPERATIONS, SPENDS, Fixtures
from schemathesis import GenerationMode

DELETE_ME = ("DELETE", "/api/v1/users/me")
SERVER_ISSUED_QUERY = ("cursor",)
#: Optional body fields naming other resources of the caller (API.md: unknown or another tree's is 422).
SERVER_ISSUED_BODY = (
    "tag_ids",
    "task_id",
    "goal_id",
    "goal_ids",
    "parent_id",
    "group_id",
    "template_id",
    "activity_ids",
)


def _throwaway_token() -> str:
    users = os.environ["DAYBOOK_FUZZ_USERS_URL"]
    email = f"fuzz-{uuid.uuid4().hex}@example.com"
    password = uuid.uuid4().hex
    with httpx.Client(base_url=users, timeout=30) as client:
        client.post("/api/v1/auth/register", json={"email": email, "password": password}).raise_for_status()
        login = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        login.raise_for_status()
        return str(login.json()["access_token"])


@schemathesis.auth(refresh_interval=None, retry_on=[])
class DaybookToken:
    def get(self, case: Any, context: Any) -> str:
        return os.environ["DAYBOOK_FUZZ_TOKEN"]

    def set(self, case: Any, data: str, context: Any) -> None:
        token = _throwaway_token() if (case.method.upper(), case.path) == DELETE_ME else data
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


def _positive(case: Any, location: str) -> bool:
    meta = case.meta
    if meta is None:
        return True
    component = next((info for loc, info in meta.components.items() if loc.value == location), None)
    mode = component.mode if component is not None else meta.generation.mode
    return bool(mode == GenerationMode.POSITIVE)


_fixtures: Fixtures | None = None


def fixtures() -> Fixtures:
    global _fixtures
    if _fixtures is None:
        _fixtures = Fixtures.from_env()
        # The second login now, before the first request: generated wrong current passwords on
        # POST /users/me/password count as failed logins of the fuzz account, and five of them
        # lock its email (429) for 15 min, which failed this fixture later in a run.
        _fixtures.get("session")
    return _fixtures


def _operation_id(case: Any) -> str | None:
    return case.operation.definition.raw.get("operationId")  # type: ignore[no-any-return]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    made = fixtures()  # the first call, before the run's first request, logs the second session in
    fixture = OPERATIONS.get(_operation_id(case) or "")
    if fixture is not None and isinstance(case.path_parameters, dict) and _positive(case, "path"):
        ids = made.get(fixture) or {}
        for name in case.path_parameters:
            if ids.get(name) is not None:
                case.path_parameters[name] = ids[name]
    if isinstance(case.headers, dict) and "Idempotency-Key" in case.headers and _positive(case, "header"):
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    if isinstance(case.query, dict) and _positive(case, "query"):
        for name in SERVER_ISSUED_QUERY:
            case.query.pop(name, None)
    if isinstance(case.body, dict) and _positive(case, "body"):
        for name in SERVER_ISSUED_BODY:
            if isinstance(case.body.get(name), list):
                case.body[name] = []  # may be required (a template's activity_ids): keep it, empty
            else:
                case.body.pop(name, None)
        metrics = case.body.get("metrics")
        if isinstance(metrics, list) and any(isinstance(m, dict) and "metric_id" in m for m in metrics):
            del case.body["metrics"]


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    if 200 <= response.status_code < 300:
        for fixture in SPENDS.get(_operation_id(case) or "", ()):
            fixtures().spend(fixture)
