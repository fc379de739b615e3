"""The Grafana dashboard and Prometheus config refer to what the pipeline exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import generate_latest

from stream.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def test_dashboard_queries_only_metrics_that_exist() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "customs-stream.json").read_text())
    metrics = Metrics()
    # Touch every labelled metric once so that its series names appear in the exposition.
    exposition = generate_latest(metrics.registry).decode()
    known = {
        re.sub(r"_total$", "", line.split(" ")[2])
        for line in exposition.splitlines() if line.startswith("# TYPE")
    }
    names = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            names.update(re.findall(r"\b(customs_[a-z0-9_]+)", target["expr"]))
    assert names
    for name in names:
        base = re.sub(r"_(total|bucket|count|sum)$", "", name)
        assert base in known, name
    covered = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in names}
    assert {"customs_events_in", "customs_consumer_lag", "customs_dead_letters",
            "customs_clearance_hours", "customs_departures"} <= covered


def test_prometheus_scrapes_the_worker() -> None:
    config = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    assert "metrics_path: /metrics" in config and "worker:6066" in config


def test_compose_runs_nothing_open_and_keeps_the_worker_up() -> None:
    import yaml

    root = DEPLOY.parent
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]["environment"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"].startswith("${")  # from the environment
    worker = compose["services"]["worker"]
    assert worker["restart"] == "unless-stopped"
    assert worker["environment"]["CUSTOMS_STREAM_SAMPLING_SALT"].startswith("${")
    dockerfile = (root / "Dockerfile").read_text().splitlines()
    users = [line for line in dockerfile if line.startswith("USER ")]
    assert users and users[-1] != "USER root"
