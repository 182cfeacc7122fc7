"""Every process's ``/metrics`` after real traffic through the gateway, parsed with prometheus_client.

The services serve it on their own port, the gateway on its admin port (never the public one),
the scheduler on its own listener; each is scraped here as Prometheus would.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from daybook_common.metrics import UNMATCHED

PASSWORD = "correct horse battery staple"
Samples = list[Sample]


def scrape(url: str) -> Samples:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return [sample for family in text_string_to_metric_families(response.text) for sample in family.samples]


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples named ``name`` whose labels include ``labels``."""
    return sum(
        s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def names(samples: Samples) -> set[str]:
    return {s.name for s in samples}


def wait_for(url: str, check: Callable[[Samples], bool], timeout: float = 20) -> Samples:
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(url)
        if check(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.25)


@pytest.fixture(scope="module")
def traffic(http: httpx.Client) -> None:
    """An account that writes, reads, fails a login, makes a task (an event) and erases itself."""
    email = f"metrics-{uuid.uuid4().hex[:10]}@example.com"
    assert http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    wrong = http.post("/api/v1/auth/login", json={"email": email, "password": "not the password at all"})
    assert wrong.status_code == 401
    login = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    for n in range(3):
        r = http.post(
            "/api/v1/journal/entries",
            json={"content": f"day {n}", "entry_date": "2026-01-22T10:00:00Z"},
            headers=auth,
        )
        assert r.status_code == 201, r.text
    for _ in range(5):
        assert http.get("/api/v1/journal/entries?limit=20", headers=auth).status_code == 200
    # An empty parameter is dropped before routing; the request still counts under its route.
    assert http.get("/api/v1/journal/entries?limit=&cursor=", headers=auth).status_code == 200
    assert http.post("/api/v1/tasks", json={"title": "metrics"}, headers=auth).status_code == 201
    assert http.get(f"/api/v1/journal/entries/{uuid.uuid4()}", headers=auth).status_code == 404
    assert http.delete("/api/v1/users/me", headers=auth).status_code == 204


def test_services_count_requests_by_route_template_with_latency(
    traffic: None, stack_metrics_urls: dict[str, str]
) -> None:
    samples = scrape(stack_metrics_urls["journal"])
    route = "/api/v1/journal/entries"
    listed = value(
        samples, "daybook_http_requests_total", service="journal", route=route, method="GET", status="200"
    )
    assert listed >= 6
    # Only a request no route matched is <unmatched>: never one a handler answered 200.
    assert (
        value(samples, "daybook_http_requests_total", service="journal", route=UNMATCHED, status="200") == 0
    )
    assert value(samples, "daybook_http_requests_total", route=route, method="POST", status="201") >= 3
    # A path parameter stays a template: one series for every entry id, never the id itself.
    templated = [s for s in samples if s.labels.get("route", "").startswith(route + "/{entry_id")]
    assert any(s.labels["status"] == "404" for s in templated if s.name == "daybook_http_requests_total")
    assert not any(str(s.labels.get("route", "")).count("-") >= 4 for s in samples)
    count = value(samples, "daybook_http_request_duration_seconds_count", route=route, method="GET")
    total = value(samples, "daybook_http_request_duration_seconds_sum", route=route, method="GET")
    assert count >= 5 and 0 < total / count < 5
    inf = value(samples, "daybook_http_request_duration_seconds_bucket", route=route, method="GET", le="+Inf")
    assert inf == count
    assert value(samples, "daybook_db_pool_capacity", service="journal") >= 1
    assert "daybook_db_pool_connections_in_use" in names(samples)
    assert "daybook_db_pool_waiting" in names(samples)


def test_users_count_failed_logins_and_the_outbox(traffic: None, stack_metrics_urls: dict[str, str]) -> None:
    url = stack_metrics_urls["users"]
    samples = wait_for(url, lambda s: value(s, "daybook_outbox_published_total", service="users") >= 1)
    assert value(samples, "daybook_login_failures_total", service="users") >= 1
    assert value(samples, "daybook_outbox_published_total", service="users") >= 1
    samples = wait_for(url, lambda s: value(s, "daybook_outbox_backlog", service="users") == 0)
    assert value(samples, "daybook_outbox_backlog", service="users") == 0
    assert value(samples, "daybook_outbox_oldest_age_seconds", service="users") == 0


@pytest.mark.parametrize("service", ["journal", "reminders", "users"])
def test_consumers_count_the_erasure_event(
    traffic: None, stack_metrics_urls: dict[str, str], service: str
) -> None:
    consumer = f"{service}-users-user-deleted"
    samples = wait_for(
        stack_metrics_urls[service],
        lambda s: value(s, "daybook_consumer_handled_total", consumer=consumer) >= 1,
    )
    assert value(samples, "daybook_consumer_handled_total", service=service, consumer=consumer) >= 1
    lag_count = value(samples, "daybook_consumer_lag_seconds_count", consumer=consumer)
    lag_sum = value(samples, "daybook_consumer_lag_seconds_sum", consumer=consumer)
    assert lag_count >= 1 and 0 <= lag_sum / lag_count < 60
    assert value(samples, "daybook_consumer_pending_messages", consumer=consumer) >= 0
    assert value(samples, "daybook_consumer_dead_lettered_total", consumer=consumer) == 0


def test_reminders_consume_task_events(traffic: None, stack_metrics_urls: dict[str, str]) -> None:
    consumer = "reminders-journal-task-all"
    samples = wait_for(
        stack_metrics_urls["reminders"],
        lambda s: value(s, "daybook_consumer_handled_total", consumer=consumer) >= 1,
    )
    assert value(samples, "daybook_consumer_handled_total", consumer=consumer) >= 1


def test_gateway_metrics_are_on_the_admin_port_only(
    traffic: None, http: httpx.Client, stack_metrics_urls: dict[str, str]
) -> None:
    samples = scrape(stack_metrics_urls["gateway"])
    proxied = value(samples, "daybook_http_requests_total", service="gateway", route="/api/v1/journal")
    assert proxied >= 9
    assert (
        value(samples, "daybook_http_requests_total", service="gateway", route="/api/v1/auth", status="401")
        >= 1
    )
    latency = value(samples, "daybook_gateway_upstream_duration_seconds_count", upstream="journal")
    assert latency >= 9
    public = http.get("/metrics")
    assert public.status_code == 404
    assert "daybook_" not in public.text


def test_the_scheduler_reports_its_passes_and_is_healthy(stack_metrics_urls: dict[str, str]) -> None:
    url = stack_metrics_urls["reminders-scheduler"]
    samples = wait_for(url, lambda s: value(s, "daybook_scheduler_passes_total") >= 2)
    assert value(samples, "daybook_scheduler_passes_total") >= 2
    assert abs(value(samples, "daybook_scheduler_last_pass_timestamp_seconds") - time.time()) < 30
    assert value(samples, "daybook_scheduler_due_backlog") == 0
    assert "daybook_scheduler_lag_seconds_count" in names(samples)
    assert "daybook_scheduler_fired_total" in names(samples)
    health = httpx.get(url.removesuffix("/metrics") + "/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_users_count_the_emails_it_sends(http: httpx.Client, stack_metrics_urls: dict[str, str]) -> None:
    email = f"mailed-{uuid.uuid4().hex[:10]}@example.com"
    assert http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    before = value(scrape(stack_metrics_urls["users"]), "daybook_emails_sent_total", service="users")
    assert http.post("/api/v1/auth/password-reset", json={"email": email}).status_code == 202
    samples = wait_for(
        stack_metrics_urls["users"], lambda s: value(s, "daybook_emails_sent_total", service="users") > before
    )
    assert value(samples, "daybook_emails_sent_total", service="users") >= before + 1
    assert value(samples, "daybook_emails_dead_total", service="users") == 0
    samples = wait_for(
        stack_metrics_urls["users"], lambda s: value(s, "daybook_emails_queued", service="users") == 0
    )
    assert value(samples, "daybook_emails_queued", service="users") == 0
