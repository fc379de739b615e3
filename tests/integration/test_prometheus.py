"""A real Prometheus scrapes a live worker that has replayed scenarios 01 and 06, and a
notifier replaying them to a buyer's receiver; every query of the Grafana dashboard, run
through Prometheus's HTTP API, returns data."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from stream.read.notify import manage
from stream.tools.receiver import Receiver
from stream.tools.replay import ReplayRun, delete_topics
from stream.worker.process import WorkerProcess
from tests.integration.test_api import free_port

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"


def dashboard_queries() -> list[str]:
    dashboard = json.loads((DASHBOARD / "customs-stream.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]


def query(port: int, expr: str) -> list[Any]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    result: list[Any] = body["data"]["result"]
    return result


async def test_every_dashboard_query_returns_data(
    served: tuple[int, ReplayRun], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The notifier's own account, should its deliveries not come (once in CI they did
    # not within 300 s, with nothing at warning level to say why).
    monkeypatch.setenv("CUSTOMS_STREAM_WORKER_LOG_LEVEL", "info")
    worker_port, run = served
    receiver = Receiver([], lambda webhook_id, _: 503 if webhook_id.endswith(":1") else 200)
    url = await receiver.start()
    own = run.settings.model_copy(update={
        "webhook_key": SecretStr(Fernet.generate_key().decode()), "webhook_http_loopback": True,
        "webhook_first_retry": 0.2, "notifier_id": f"{run.settings.app_id}-notifier",
        "notifier_port": free_port(), "data_dir": tmp_path / "notifier",
    })
    made, secret = await manage.add(own, "buyer-001", url)
    receiver.secrets.append(secret)
    await manage.replay(own, made, time.time() - 3600)  # what was published: sent again
    notifier = WorkerProcess(own, tmp_path / "notifier.log", command="notifier")
    notifier.start()
    try:
        await scraped(worker_port, own.notifier_port, tmp_path, receiver, notifier)
    finally:
        notifier.stop()
        await receiver.stop()
        await delete_topics(own.model_copy(update={"app_id": own.notifier_id}))


async def scraped(worker_port: int, notifier_port: int, tmp_path: Path, receiver: Receiver,
                  notifier: WorkerProcess) -> None:
    deadline = time.monotonic() + 120
    while len(receiver.delivered()) < 3:  # the notifier's metrics have something to say
        notifier.check_alive()
        assert time.monotonic() < deadline, (
            f"{len(receiver.delivered())} webhooks delivered in 120 s; the notifier's log "
            f"ends: {notifier.log_tail()}")
        await asyncio.sleep(0.2)
    prometheus = shutil.which("prometheus")
    assert prometheus, "Debian's prometheus package is needed (`make test` installs it)"
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n  - job_name: customs-stream\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{worker_port}', "
        f"'127.0.0.1:{notifier_port}']}}]\n"
    )
    with (tmp_path / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:  # until a few scrapes are in, so that rates have two samples
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "Prometheus scraped nothing in 60 s"
            try:
                ups = await asyncio.to_thread(query, port, "count_over_time(up[1m])")
            except OSError:
                ups = []
            if len(ups) == 2 and min(float(u["value"][1]) for u in ups) >= 4:
                break
            await asyncio.sleep(0.5)
        queries = dashboard_queries()
        assert len(queries) >= 10
        empty = [q for q in queries if not await asyncio.to_thread(query, port, q)]
        assert empty == [], f"queries without data: {empty}"
    finally:
        process.terminate()
        process.wait(20)
