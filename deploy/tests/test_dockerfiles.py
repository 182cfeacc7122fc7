"""The one Dockerfile builds every service image (build argument SERVICE) and the tests image
(target ``tests``) by the same recipe; hadolint checks the rest in CI."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
SERVICES = ("users", "journal", "reminders", "gateway")
PORTS = {"gateway": 8000, "users": 8001, "journal": 8002, "reminders": 8003}
COMPOSE_SERVICES = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
#: The Dockerfile's default, overridable (``daybook images build --local-base`` sets it).
BASE_IMAGE_VARIABLE = "${DAYBOOK_BASE_IMAGE:-python:3.11-slim-bookworm}"


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


def _stages() -> dict[str, list[str]]:
    """Each stage's instructions by name, FROM line first, in file order."""
    stages: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in _instructions(DOCKERFILE):
        if line.startswith("FROM "):
            current = stages.setdefault(line.split(" AS ")[-1], [])
        if current is not None:
            current.append(line)
    return stages


def test_one_dockerfile_for_every_image() -> None:
    found = {
        p.relative_to(ROOT).as_posix()
        for p in ROOT.rglob("Dockerfile")
        if not {".venv", ".git", "node_modules"} & set(p.relative_to(ROOT).parts)
    }
    assert found == {"Dockerfile"}


def test_stages_and_base_image() -> None:
    stages = _stages()
    assert list(stages) == ["workspace", "build", "tests", "runtime"]  # runtime last: the default target
    assert stages["workspace"][0] == "FROM ${BASE_IMAGE} AS workspace"
    assert stages["build"][0] == "FROM workspace AS build"
    assert stages["tests"][0] == "FROM workspace AS tests"
    assert stages["runtime"][0] == "FROM ${BASE_IMAGE} AS runtime"
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in _instructions(DOCKERFILE)


def test_workspace_stage_copies_only_the_lock_and_every_pyproject() -> None:
    copies = [line for line in _stages()["workspace"] if line.startswith("COPY ")]
    assert copies[0] == "COPY uv.lock pyproject.toml ./"
    assert sorted(copies[1:]) == sorted(f"COPY {m}/pyproject.toml {m}/" for m in _members())


def test_service_build_installs_only_the_service_and_common() -> None:
    lines = _stages()["build"]
    assert "ARG SERVICE" in lines
    syncs = [i for i, line in enumerate(lines) if "uv sync" in line]
    assert len(syncs) == 2
    first, second = (lines[i] for i in syncs)
    assert '--locked --no-dev --no-install-workspace --package "daybook-${SERVICE}"' in first
    assert '--locked --no-dev --no-editable --package "daybook-${SERVICE}"' in second
    assert not any(line.startswith("COPY") for line in lines[: syncs[0]])
    code = [line for line in lines[syncs[0] : syncs[1]] if line.startswith("COPY ")]
    assert code == ["COPY shared/common/ shared/common/", "COPY services/${SERVICE}/ services/${SERVICE}/"]
    assert 'ln -s "daybook-${SERVICE}" /app/.venv/bin/daybook-service' in second
    # The web app built on the host (web/dist); only the gateway's /app keeps it.
    web = lines[syncs[1] + 1 :]
    assert web == [
        "COPY web/dist/ /tmp/web-dist/",
        'RUN if [ "${SERVICE}" = gateway ]; then cp -r /tmp/web-dist /app/web; fi',
    ]
    assert "web/dist" not in (ROOT / ".dockerignore").read_text().split()


def test_runtime_stage() -> None:
    runtime = _stages()["runtime"]
    assert "COPY --from=build /app/ /app/" in runtime  # the virtualenv, and the gateway's web app
    assert "GATEWAY_WEB_DIR=/app/web" in " ".join(runtime)
    assert not any(line.startswith("COPY") and "--from=build" not in line for line in runtime)
    users = [line for line in runtime if line.startswith("USER ")]
    assert users and not any(line.startswith(("USER root", "USER 0")) for line in users)
    assert any(line.startswith("HEALTHCHECK ") and "/health" in line and "urllib" in line for line in runtime)
    assert "DAYBOOK_SERVICE=${SERVICE}" in " ".join(runtime) and "DAYBOOK_SERVICE_PORT=${PORT}" in " ".join(
        runtime
    )
    assert "EXPOSE ${PORT}" in runtime
    assert runtime[-1] == 'CMD ["daybook-service", "serve", "--host", "0.0.0.0"]'


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_builds_with_its_name_and_default_port(service: str) -> None:
    package = tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())["project"]
    assert f"daybook-{service}" in package["scripts"]  # what daybook-service links to
    assert PORTS[service] == importlib.import_module(f"daybook_{service}").DEFAULT_PORT
    build = COMPOSE_SERVICES[service]["build"]
    assert build == {
        "context": ".",
        "dockerfile": "Dockerfile",
        "args": {"BASE_IMAGE": BASE_IMAGE_VARIABLE, "SERVICE": service, "PORT": str(PORTS[service])},
    }


def test_tests_image_is_the_workspace_with_dev_tools() -> None:
    lines = _stages()["tests"]
    syncs = [line for line in lines if "uv sync" in line]
    assert len(syncs) == 2 and all("--locked" in s and "--no-dev" not in s for s in syncs)
    assert "COPY . ." in lines
    users = [line for line in lines if line.startswith("USER ")]
    assert users and not any(line.startswith(("USER root", "USER 0")) for line in users)
    assert lines[-1] == 'CMD ["pytest", "tests", "-p", "no:cacheprovider"]'
    assert COMPOSE_SERVICES["tests"]["build"] == {
        "context": ".",
        "dockerfile": "Dockerfile",
        "target": "tests",
        "args": {"BASE_IMAGE": BASE_IMAGE_VARIABLE},
    }
    assert COMPOSE_SERVICES["tests"]["image"] == "daybook/tests:local"  # what `daybook images build` tags


def test_compose_takes_the_postgres_and_nats_images_as_variables() -> None:
    assert COMPOSE_SERVICES["postgres"]["image"] == "${DAYBOOK_POSTGRES_IMAGE:-postgres:18}"
    assert COMPOSE_SERVICES["nats"]["image"] == "${DAYBOOK_NATS_IMAGE:-nats:2-alpine}"


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".daybook", "**/__pycache__", ".env"):
        assert entry in ignored
