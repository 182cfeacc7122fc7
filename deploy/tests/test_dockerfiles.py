"""Each service's Dockerfile follows the same recipe (hadolint checks the rest in CI)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("users", "journal", "reminders", "gateway")
PORTS = {"gateway": 8000, "users": 8001, "journal": 8002, "reminders": 8003}


def _members() -> list[str]:
    """Every workspace member's directory (uv needs all their pyproject.toml to check the lock)."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    found = {
        p.parent.relative_to(ROOT).as_posix() for pat in patterns for p in ROOT.glob(f"{pat}/pyproject.toml")
    }
    return sorted(found)


def _instructions(path: Path) -> list[str]:
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("service", SERVICES)
def test_service_dockerfile(service: str) -> None:
    lines = _instructions(ROOT / "services" / service / "Dockerfile")
    froms = [line for line in lines if line.startswith("FROM ")]
    assert len(froms) == 2 and froms[0].endswith(" AS build") and froms[1].endswith(" AS runtime")
    syncs = [i for i, line in enumerate(lines) if "uv sync" in line]
    assert len(syncs) == 2
    first, second = (lines[i] for i in syncs)
    assert f"--locked --no-dev --no-install-workspace --package daybook-{service}" in first
    assert f"--locked --no-dev --no-editable --package daybook-{service}" in second
    copies_before = [line for line in lines[: syncs[0]] if line.startswith("COPY ")]
    for member in _members():
        assert f"COPY {member}/pyproject.toml {member}/" in copies_before, member
    assert not any(line.startswith("COPY") and "/src" in line for line in lines[: syncs[0]])
    code = [line for line in lines[syncs[0] : syncs[1]] if line.startswith("COPY ")]
    assert code == ["COPY shared/common/ shared/common/", f"COPY services/{service}/ services/{service}/"]
    runtime = lines[lines.index(froms[1]) :]
    assert any(line.startswith("USER ") and not line.startswith(("USER root", "USER 0")) for line in runtime)
    assert any(line.startswith("HEALTHCHECK ") and "/health" in line and "urllib" in line for line in runtime)
    assert f"EXPOSE {PORTS[service]}" in runtime
    assert runtime[-1] == f'CMD ["daybook-{service}", "serve", "--host", "0.0.0.0"]'


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".daybook", "**/__pycache__", ".env"):
        assert entry in ignored
