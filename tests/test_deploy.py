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


def test_prometheus_scrapes_every_worker_and_api_replica() -> None:
    import yaml

    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    found = {sd["names"][0]: sd["port"] for job in config["scrape_configs"]
             for sd in job.get("dns_sd_configs", [])}
    assert found == {"worker": 6066, "api": 6066}


def test_compose_scales_workers_and_api_replicas() -> None:
    import yaml

    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    worker, api = compose["services"]["worker"], compose["services"]["api"]
    # No fixed host port and no shared volume: `--scale worker=3` starts three.
    assert "ports" not in worker and worker["volumes"] == ["/data"]
    assert api["command"] == ["customs-stream", "api"] and api["volumes"] == ["/data"]
    assert api["ports"] == ["6066-6069:6066"]


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


def test_consumer_lag_is_never_summed_over_workers() -> None:
    """Every worker reports the whole group's lag: a sum would grow with the workers."""
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "customs-stream.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    queries += re.findall(r"expr: (.+)", (DEPLOY / "prometheus" / "rules.yml").read_text())
    lag = [q for q in queries if "customs_consumer_lag" in q]
    assert lag
    for query in lag:
        assert re.search(r"max by \(topic\) \(customs_consumer_lag\)", query), query
