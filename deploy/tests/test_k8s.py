"""The Kubernetes manifests (deploy/k8s): each overlay renders with ``kubectl kustomize``, is valid
for a current Kubernetes (kubernetes-validate, strict), and keeps the rules the README promises —
checked on the rendered objects, and against the launcher's table so the three ways to run
Daybook (``daybook up``, compose, Kubernetes) agree on names, ports and variables.
"""

from __future__ import annotations

import copy
import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from daybook_deploy.services import HTTP_SERVICES, MIGRATING, SERVICES, ServiceSpec

K8S = Path(__file__).resolve().parents[1] / "k8s"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.37.0"
GATEWAY_TOTAL_TIMEOUT = 60  # GATEWAY_TIMEOUT's default: the longest a request can be in flight


@functools.cache
def render(overlay: str) -> list[dict[str, Any]]:
    """The overlay's objects (cached: callers must not change them)."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed to render deploy/k8s (Debian: apt-get install kubernetes-client)"
    out = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def objects(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


def named(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_valid_for_a_current_kubernetes(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_a_misspelt_field_is_refused() -> None:
    """The validation above can fail: strict mode refuses an unknown property."""
    deployment = copy.deepcopy(named(render("dev"), "Deployment")["journal"])
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = (
        True
    )
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_one_deployment_per_process_and_a_service_per_port(objects: list[dict[str, Any]]) -> None:
    deployments, services = named(objects, "Deployment"), named(objects, "Service")
    assert set(deployments) == {spec.name for spec in SERVICES}
    assert {name: s["spec"]["ports"][0]["port"] for name, s in services.items()} == {
        spec.name: spec.port for spec in HTTP_SERVICES
    }
    assert deployments["reminders-scheduler"]["spec"]["replicas"] == 2


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_same_command_and_variables_as_the_launcher(spec: ServiceSpec) -> None:
    for overlay in OVERLAYS:
        container = named(render(overlay), "Deployment")[spec.name]["spec"]["template"]["spec"]["containers"][
            0
        ]
        assert container["command"][0] == spec.script
        assert tuple(container["command"][1 : 1 + len(spec.args)]) == spec.args
        names = {e["name"] for e in container.get("env", [])}
        if "USERS_SIGNING_KEY" in names:  # the key's PEM from a Secret stands for the launcher's key file
            names.add("USERS_SIGNING_KEY_FILE")
        if "USERS_SMTP_URL" in names:  # an SMTP server stands for the launcher's .eml directory
            names.add("USERS_MAIL_DIR")
        assert set(spec.env_names()) <= names


def test_pods_are_locked_down(objects: list[dict[str, Any]]) -> None:
    for kind in ("Deployment", "Job"):
        for name, obj in named(objects, kind).items():
            pod = obj["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, name
            assert pod["automountServiceAccountToken"] is False, name
            for container in pod["containers"]:
                security = container["securityContext"]
                assert security["readOnlyRootFilesystem"] is True, name
                assert security["allowPrivilegeEscalation"] is False, name
                assert security["capabilities"]["drop"] == ["ALL"], name
                assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
                assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name


def test_http_services_are_probed_and_drained(objects: list[dict[str, Any]]) -> None:
    deployments = named(objects, "Deployment")
    for spec in HTTP_SERVICES:
        pod = deployments[spec.name]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        assert pod["terminationGracePeriodSeconds"] > pre_stop + GATEWAY_TOTAL_TIMEOUT, spec.name


def test_a_migration_job_per_history_with_its_own_role(objects: list[dict[str, Any]]) -> None:
    jobs = named(objects, "Job")
    assert set(jobs) == {f"{spec.name}-migrate" for spec in MIGRATING}
    for spec in MIGRATING:
        container = jobs[f"{spec.name}-migrate"]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == [spec.script, "migrate"]
        # Its own role's URL, and (optional) the direct one behind a pooler: nothing else.
        assert [e["name"] for e in container["env"]] == [
            f"{spec.prefix}_DATABASE_URL",
            f"{spec.prefix}_DIRECT_DATABASE_URL",
        ]
        url, direct = (e["valueFrom"]["secretKeyRef"] for e in container["env"])
        assert url["key"] == f"{spec.name}-url" and "optional" not in url
        assert direct == {"name": "daybook-database", "key": f"{spec.name}-direct-url", "optional": True}


def test_secrets_are_referenced_never_inlined(objects: list[dict[str, Any]]) -> None:
    assert not named(objects, "Secret")
    text = yaml.safe_dump_all(objects)
    assert "postgresql://" not in text and "PRIVATE KEY" not in text


def test_autoscaling_budgets_and_only_the_gateway_outside(objects: list[dict[str, Any]]) -> None:
    api = {spec.name for spec in HTTP_SERVICES}
    assert set(named(objects, "HorizontalPodAutoscaler")) == api
    assert set(named(objects, "PodDisruptionBudget")) == api | {"reminders-scheduler"}
    ingress = next(iter(named(objects, "Ingress").values()))
    backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert backends == {"gateway"}
    policies = named(objects, "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    # Whatever a policy admits from another namespace is the ingress controller (gateway only) or Prometheus.
    for name, policy in policies.items():
        for rule in policy["spec"].get("ingress", []):
            for peer in rule["from"]:
                namespace = peer.get("namespaceSelector", {}).get("matchLabels", {})
                if namespace.get("kubernetes.io/metadata.name") == "ingress-nginx":
                    assert policy["spec"]["podSelector"] == {
                        "matchLabels": {"app.kubernetes.io/name": "gateway"}
                    }
                elif namespace:
                    assert namespace == {"kubernetes.io/metadata.name": "monitoring"}, name
