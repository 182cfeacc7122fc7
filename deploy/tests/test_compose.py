"""compose.yaml and the launcher's table (daybook_deploy.services.SERVICES) describe the same stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from daybook_deploy.services import HTTP_SERVICES, METRICS_LISTENERS, MIGRATING, SERVICES, ServiceSpec

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
COMPOSE_SERVICES: dict[str, Any] = COMPOSE["services"]
OBSERVABILITY = {"prometheus", "grafana", "node-exporter"}
INFRASTRUCTURE = {"postgres", "nats", "nats-init", "tests", *OBSERVABILITY}


def _env(name: str) -> dict[str, str]:
    """What compose sets: a pass-through (``NAME: ${NAME:-}``, empty = the service's default unless
    whoever runs compose sets it, as ``daybook images test`` does) is not a setting of compose's."""
    environment = COMPOSE_SERVICES[name].get("environment", {})
    assert isinstance(environment, dict), f"{name}: write environment as a mapping"
    return {str(k): str(v) for k, v in environment.items() if str(v) != f"${{{k}:-}}"}


def test_same_processes() -> None:
    migrate = {f"{spec.name}-migrate" for spec in MIGRATING}
    assert set(COMPOSE_SERVICES) - INFRASTRUCTURE == {s.name for s in SERVICES} | migrate


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_same_variable_names(spec: ServiceSpec) -> None:
    assert sorted(_env(spec.name)) == spec.env_names()


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_same_command(spec: ServiceSpec) -> None:
    command = COMPOSE_SERVICES[spec.name]["command"]
    assert command[0] == spec.script
    assert tuple(command[1 : 1 + len(spec.args)]) == spec.args


@pytest.mark.parametrize("spec", HTTP_SERVICES, ids=lambda s: s.name)
def test_same_ports_and_health(spec: ServiceSpec) -> None:
    env = _env(spec.name)
    assert env[f"{spec.prefix}_PORT"] == str(spec.port)
    assert env[f"{spec.prefix}_HOST"] == "0.0.0.0"
    health = " ".join(COMPOSE_SERVICES[spec.name]["healthcheck"]["test"])
    assert f"127.0.0.1:{spec.port}/health" in health


@pytest.mark.parametrize("spec", METRICS_LISTENERS, ids=lambda s: s.name)
def test_same_metrics_listeners(spec: ServiceSpec) -> None:
    """The gateway's admin port and the scheduler's listener: same port, reachable in the network only."""
    env = _env(spec.name)
    assert env[spec.metrics_port_variable] == str(spec.metrics_port)
    assert env[f"{spec.metrics_prefix}_HOST"] == "0.0.0.0"
    assert str(spec.metrics_port) in COMPOSE_SERVICES[spec.name]["expose"]
    assert all(
        not str(p).endswith(f":{spec.metrics_port}") for p in COMPOSE_SERVICES[spec.name].get("ports", [])
    )


def test_upstream_urls_point_at_the_services() -> None:
    for spec in SERVICES:
        env = _env(spec.name)
        for upstream in spec.upstreams:
            port = next(s.port for s in HTTP_SERVICES if s.name == upstream)
            assert env[f"{spec.prefix}_{upstream.upper()}_URL"] == f"http://{upstream}:{port}"
        if spec.jwks:
            assert env[f"{spec.prefix}_JWKS_URL"] == "http://users:8001/api/v1/auth/jwks"


def test_database_urls_use_each_service_role() -> None:
    for spec in SERVICES:
        if spec.schema is None:
            continue
        url = _env(spec.name)[f"{spec.prefix}_DATABASE_URL"]
        assert url.startswith(f"postgresql://{spec.schema}:"), spec.name
        assert url.endswith("@postgres:5432/daybook"), spec.name
        # The same password variable as the launcher's and the bootstrap script's.
        variable = f"DAYBOOK_{spec.schema.upper()}_DB_PASSWORD"
        assert f"${{{variable}:-" in url, spec.name
        assert variable in _env("postgres")


def test_one_shot_migrations_gate_their_service() -> None:
    for spec in MIGRATING:
        job = COMPOSE_SERVICES[f"{spec.name}-migrate"]
        assert job["command"] == [spec.script, "migrate"]
        assert set(_env(f"{spec.name}-migrate")) == {f"{spec.prefix}_DATABASE_URL"}
        assert job["depends_on"]["postgres"]["condition"] == "service_healthy"
        gate = COMPOSE_SERVICES[spec.name]["depends_on"][f"{spec.name}-migrate"]
        assert gate["condition"] == "service_completed_successfully"


def test_dependencies_match_the_launcher_order() -> None:
    for spec in SERVICES:
        depends = COMPOSE_SERVICES[spec.name]["depends_on"]
        for dep in spec.depends_on:
            assert depends[dep]["condition"] == "service_healthy", (spec.name, dep)


def test_only_the_gateway_publishes_a_port() -> None:
    published = {
        name for name, svc in COMPOSE_SERVICES.items() if svc.get("ports") and name not in OBSERVABILITY
    }
    assert published == {"gateway"}
    (mapping,) = COMPOSE_SERVICES["gateway"]["ports"]
    assert str(mapping).endswith(":8000")


def test_every_long_running_service_has_a_healthcheck() -> None:
    for spec in SERVICES:
        check = COMPOSE_SERVICES[spec.name]["healthcheck"]
        assert not check.get("disable"), spec.name
        assert check["test"][0] in {"CMD", "CMD-SHELL"}
    for name in ("postgres", "nats"):
        assert COMPOSE_SERVICES[name]["healthcheck"]["test"]


def test_images_are_built_from_the_one_dockerfile_for_their_package() -> None:
    """Every process (the scheduler too) runs the image of the package it comes from."""
    for spec in SERVICES:
        build = COMPOSE_SERVICES[spec.name]["build"]
        service = spec.package.removeprefix("daybook_")
        http = next(s for s in HTTP_SERVICES if s.package == spec.package)
        assert build == {
            "context": ".",
            "dockerfile": "Dockerfile",
            "args": {
                "BASE_IMAGE": "${DAYBOOK_BASE_IMAGE:-python:3.11-slim-bookworm}",
                "SERVICE": service,
                "PORT": str(http.port),
            },
        }
        assert COMPOSE_SERVICES[spec.name]["image"] == f"daybook/{service}:local"
        assert (ROOT / build["dockerfile"]).is_file()


def test_tests_profile_runs_the_root_tests_against_the_gateway() -> None:
    tests = COMPOSE_SERVICES["tests"]
    assert tests["profiles"] == ["tests"]
    assert tests["command"][:2] == ["pytest", "tests"]
    assert _env("tests")["GATEWAY_URL"] == "http://gateway:8000"
    assert tests["depends_on"]["gateway"]["condition"] == "service_healthy"


def test_observability_profile_scrapes_every_process() -> None:
    """Prometheus and Grafana only under their profile, on loopback; every process is a scrape target."""
    for name in OBSERVABILITY:
        assert COMPOSE_SERVICES[name]["profiles"] == ["observability"]
        assert all(str(p).startswith("127.0.0.1:") for p in COMPOSE_SERVICES[name].get("ports", []))
    config = yaml.safe_load((ROOT / "deploy/observability/prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    for spec in SERVICES:
        port = spec.metrics_port or spec.port
        assert targets[f"daybook-{spec.name}"] == [f"{spec.name}:{port}"], spec.name
