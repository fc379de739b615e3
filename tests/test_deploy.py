"""The Grafana dashboard and Prometheus config refer to what the pipeline exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest

from stream.broker.compose import CLIENT_UIDS, make_secrets
from stream.broker.secure import acl_lines
from stream.metrics import Metrics
from stream.read.notify.notifier_metrics import NotifierMetrics
from stream.read.web.tls import server_context
from stream.settings import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def test_dashboard_queries_only_metrics_that_exist() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "customs-stream.json").read_text())
    # Touch every labelled metric once so that its series names appear in the exposition.
    exposition = generate_latest(Metrics().registry).decode()
    exposition += generate_latest(NotifierMetrics().registry).decode()
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
            "customs_clearance_hours", "customs_departures", "customs_webhook_attempts",
            "customs_webhook_undelivered", "customs_webhook_oldest_undelivered_seconds",
            "customs_webhook_delivery_seconds"} <= covered


def test_prometheus_scrapes_every_worker_and_api_replica() -> None:
    import yaml

    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    found = {sd["names"][0]: sd["port"] for job in config["scrape_configs"]
             for sd in job.get("dns_sd_configs", [])}
    assert found == {"worker": 6066, "api": 6066, "notifier": Settings().notifier_port}


def test_compose_scales_workers_and_api_replicas() -> None:
    import yaml

    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    worker, api = compose["services"]["worker"], compose["services"]["api"]
    # No fixed host port and no shared volume: `--scale worker=3` starts three.
    assert "ports" not in worker and worker["volumes"][0] == "/data"
    assert api["command"] == ["customs-stream", "api"] and api["volumes"][0] == "/api-data"
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


def compose_file(*names: str) -> dict[str, Any]:
    import yaml

    merged: dict[str, Any] = {}
    for name in names:
        document = yaml.safe_load((DEPLOY.parent / name).read_text())
        for service, fields in document["services"].items():
            current = merged.setdefault("services", {}).setdefault(service, {})
            for key, value in fields.items():
                current[key] = {**current.get(key, {}), **value} if isinstance(value, dict) \
                    else value
    return merged


def on_volume(path: str, made: Path) -> Path:
    """Where a path under /secrets is among the secrets made into ``made``."""
    assert path.startswith("/secrets/"), path
    return made / path.removeprefix("/secrets/")


def test_compose_is_secured_by_default(tmp_path: Path) -> None:
    services = compose_file("docker-compose.yml")["services"]
    kafka = services["kafka"]["environment"]
    listeners = kafka["KAFKA_LISTENERS"].split(",")
    assert [x for x in listeners if not x.startswith("SASL_SSL://")] == [
        "CONTROLLER://127.0.0.1:9093"]  # the controller on the container's loopback only
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert kafka["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    # The secrets the services are pointed at are what the secrets service makes.
    assert services["secrets"]["command"][-1] == "/secrets"
    assert make_secrets(tmp_path, "customs", "customs-stream")
    jaas = kafka["KAFKA_OPTS"].removeprefix("-Djava.security.auth.login.config=")
    jaas_text = on_volume(jaas, tmp_path).read_text()
    for key in ("KAFKA_SSL_KEYSTORE_LOCATION", "KAFKA_SSL_TRUSTSTORE_LOCATION"):
        assert on_volume(kafka[key], tmp_path).is_file(), key
    assert services["acls"]["command"] == ["sh", "/secrets/kafka/acls.sh"]
    clients = {name: s for name, s in services.items()
               if "CUSTOMS_STREAM_BROKER" in s.get("environment", {})}
    assert set(clients) == {"worker", "api"}
    for name, service in clients.items():
        env = service["environment"]
        user = env["CUSTOMS_STREAM_KAFKA_USERNAME"]
        assert env["CUSTOMS_STREAM_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", name
        assert "CUSTOMS_STREAM_KAFKA_PASSWORD" not in env, name  # from a file, never inline
        password_file = on_volume(env["CUSTOMS_STREAM_KAFKA_PASSWORD_FILE"], tmp_path)
        assert f'user_{user}="{password_file.read_text()}"' in jaas_text, name
        assert int(service.get("user", "10001")) == CLIENT_UIDS[user], name
        assert service["depends_on"]["acls"]["condition"] == "service_completed_successfully"
        # Tokens through a mounted directory: a rename by `tokens revoke` reaches it.
        tokens = Path(env["CUSTOMS_STREAM_TOKENS_FILE"])
        assert f"./deploy/tokens:{tokens.parent}:ro" in service["volumes"], name
    for name, service in services.items():  # no secret in the file itself
        for key, value in service.get("environment", {}).items():
            if "PASSWORD" in key or "SALT" in key or "SECRET" in key:
                assert key.endswith("_FILE") or str(value).startswith("${"), (name, key)
    # Every ACL of the principals is granted, and only those.
    script = (tmp_path / "kafka" / "acls.sh").read_text()
    granted = set()
    for line in script.splitlines()[2:]:
        words = line.split()
        principal = words[words.index("--allow-principal") + 1]
        pattern = words[words.index("--resource-pattern-type") + 1].upper()
        if "--cluster" in words:
            kind, name = "CLUSTER", "kafka-cluster"
        else:
            flag = next(w for w in words if w in ("--topic", "--group"))
            kind, name = flag.removeprefix("--").upper(), words[words.index(flag) + 1]
        for i, word in enumerate(words):
            if word == "--operation":
                granted.add("\t".join([principal, kind, pattern, name, words[i + 1]]))
    assert granted == set(acl_lines("customs", "customs-stream"))


def test_compose_serves_the_api_on_https_with_the_override(tmp_path: Path) -> None:
    api = compose_file("docker-compose.yml", "deploy/compose.tls.yml")["services"]["api"]
    env = api["environment"]
    assert env["CUSTOMS_STREAM_KAFKA_USERNAME"] == "api"  # the override adds, keeps the rest
    make_secrets(tmp_path, "customs", "customs-stream")
    cert = on_volume(env["CUSTOMS_STREAM_WEB_TLS_CERT"], tmp_path)
    key = on_volume(env["CUSTOMS_STREAM_WEB_TLS_KEY"], tmp_path)
    assert server_context(Settings(web_tls_cert=cert, web_tls_key=key)) is not None
    dockerfile = (DEPLOY.parent / "Dockerfile").read_text()
    assert "openssl" in dockerfile and "--uid 10002" in dockerfile


def test_every_setting_is_in_the_operations_table() -> None:
    table = (DEPLOY.parent / "docs" / "operations.md").read_text()
    assert Settings.model_fields
    for name in Settings.model_fields:
        words = name.upper().split("_")
        full = "CUSTOMS_STREAM_" + name.upper()
        tails = ["/ `_" + "_".join(words[i:]) + "`" for i in range(len(words))]
        assert full in table or any(t in table for t in tails), full
