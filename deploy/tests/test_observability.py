"""deploy/observability: the alerts and the dashboard name only metrics the processes export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import daybook_common.metrics  # noqa: F401 - defines every Daybook metric

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exported_names() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.name.startswith("daybook_"):
            names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def used_names(text: str) -> set[str]:
    return set(re.findall(r"\bdaybook_[a-z_]+", text))


def test_alerts_use_exported_metrics() -> None:
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())
    expressions = "\n".join(rule["expr"] for group in rules["groups"] for rule in group["rules"])
    used = used_names(expressions)
    assert used, "no Daybook metric in the alerts"
    assert used <= exported_names()


def test_dashboard_uses_exported_metrics() -> None:
    dashboard = json.loads((OBSERVABILITY / "grafana" / "dashboards" / "daybook.json").read_text())
    expressions = "\n".join(t["expr"] for panel in dashboard["panels"] for t in panel["targets"])
    used = used_names(expressions)
    assert len(used) >= 15
    assert used <= exported_names()
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {"prometheus"}
    provisioned = yaml.safe_load(
        (OBSERVABILITY / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    assert provisioned["datasources"][0]["uid"] == "prometheus"


def test_the_alert_list_covers_what_an_operator_watches() -> None:
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {
        "DaybookServiceDown",
        "DaybookHigh5xxRatio",
        "DaybookGatewayP99High",
        "DaybookOutboxBacklogOld",
        "DaybookConsumerDeadLetters",
        "DaybookSchedulerLagHigh",
        "DaybookDatabaseDiskLow",
    } <= names
