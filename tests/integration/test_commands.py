"""The commands a user runs, on the real broker: each does its job, and the long-running
ones stop cleanly on SIGINT (Ctrl-C), everything they started with them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from stream.admin import connect_admin
from stream.broker import LocalBroker
from stream.settings import Settings
from stream.tools.replay import delete_topics, read_records
from stream.topics import SPECS, Topology
from tests.conftest import CACHE, ROOT, TEST_BROKER_PORT
from tests.integration.test_api import free_broker_port, free_port, get


def command_env(kafka: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ, "CUSTOMS_STREAM_BROKER": kafka, "CUSTOMS_STREAM_CACHE_DIR": str(CACHE),
        "CUSTOMS_STREAM_BROKER_PORT": str(TEST_BROKER_PORT), **extra,
    }


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "stream", *args], env=env, stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
            start_new_session=True,  # its own process group, as a terminal gives it
        )


async def run_command(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "stream", *args], env=env, capture_output=True,
        text=True, timeout=60,
    )


def interrupt_and_wait(
    process: subprocess.Popen[bytes], within: float, presses: int = 1
) -> float:
    """SIGINT to the command's process group (Ctrl-C, ``presses`` times half a second
    apart, as an impatient user does); seconds until all of it ended."""
    began = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)
    for _ in range(presses - 1):
        time.sleep(0.5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(within)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return time.monotonic() - began


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


async def topics_of(settings: Settings) -> set[str]:
    admin = await connect_admin(settings.bootstrap_servers)
    try:
        return {t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)}
    finally:
        await admin.close()


async def test_topics_creates_every_topic_once(kafka: str, settings: Settings) -> None:
    prefix = f"cmd-{uuid.uuid4().hex[:8]}"
    env = command_env(kafka, CUSTOMS_STREAM_TOPIC_PREFIX=prefix)
    run = settings.model_copy(update={"topic_prefix": prefix, "app_id": prefix})
    try:
        first = await run_command(["topics"], env)
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith(f"created {len(SPECS)} topics")
        assert await topics_of(run) == set(Topology.from_settings(run).all)
        again = await run_command(["topics"], env)
        assert again.returncode == 0 and again.stdout.strip() == "created 0 topics"
    finally:
        await delete_topics(run)


async def test_simulate_publishes_until_interrupted(
    kafka: str, settings: Settings, tmp_path: Path
) -> None:
    prefix = f"sim-{uuid.uuid4().hex[:8]}"
    run = settings.model_copy(update={"topic_prefix": prefix, "app_id": prefix})
    env = command_env(kafka, CUSTOMS_STREAM_TOPIC_PREFIX=prefix)
    process = start(["simulate", "--rate", "200", "--seed", "5"], env, tmp_path / "sim.log")
    try:
        deadline = time.monotonic() + 60
        while "messages published" not in (tmp_path / "sim.log").read_text():
            assert process.poll() is None, (tmp_path / "sim.log").read_text()
            assert time.monotonic() < deadline, "simulate published nothing in 60 s"
            await asyncio.sleep(0.2)
        took = await asyncio.to_thread(interrupt_and_wait, process, 15)
        assert process.returncode in (0, 130) and took < 15
        published = await read_records(run.bootstrap_servers, Topology.from_settings(run).inputs)
        assert len(published) >= 200  # "N messages published" comes every 10 s of traffic
    finally:
        await delete_topics(run)


def text_of(log: Path) -> str:
    return log.read_text()


async def demo_board(process: subprocess.Popen[bytes], log: Path, port: int) -> None:
    """Until the demo prints its board's address and traffic reaches the board."""
    deadline = time.monotonic() + 120
    while (found := re.search(r"/board#token=(\S+)", text_of(log))) is None:
        assert process.poll() is None, text_of(log)[-3000:]
        assert time.monotonic() < deadline, "the demo printed no board address"
        await asyncio.sleep(0.5)
    token = found.group(1)
    for _ in range(60):  # traffic flows through the worker to the board
        status, data = get(port, "/board/data", token)
        if status == 200 and data["total"] > 0:
            break
        await asyncio.sleep(1)
    assert status == 200 and data["total"] > 0


def json_at(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())


async def demo_webhooks(process: subprocess.Popen[bytes], log: Path) -> None:
    """Until buyer-001's receiver has verified deliveries from the demo's notifier."""
    found = re.search(r"shows what it got at (http://127\.0\.0\.1:\d+/)", text_of(log))
    assert found is not None, text_of(log)[-2000:]
    for _ in range(60):
        shown = await asyncio.to_thread(json_at, found.group(1))
        if shown["verified"] > 0:
            break
        assert process.poll() is None, text_of(log)[-3000:]
        await asyncio.sleep(1)
    assert shown["verified"] > 0 and shown["verified"] == shown["received"]


async def test_demo_serves_the_board_and_stops_on_ctrl_c(kafka: str, tmp_path: Path) -> None:
    """With the broker already running: Ctrl-C twice stops what the demo started, within
    10 s, and leaves the broker running."""
    port = free_port()
    env = command_env(kafka, CUSTOMS_STREAM_WEB_PORT=str(port))  # finds the test broker
    log = tmp_path / "demo.log"
    process = start(["demo", "--rate", "50", "--seed", "3"], env, log)
    try:
        await demo_board(process, log, port)
        await demo_webhooks(process, log)
        took = await asyncio.to_thread(interrupt_and_wait, process, 30, 2)
        # Everything it started (traffic, worker, notifier) is gone within a few seconds.
        assert process.returncode == 0 and took < 10, log.read_text()[-2000:]
        assert not group_alive(process.pid), "something the demo started is still running"
        assert LocalBroker(CACHE, TEST_BROKER_PORT).status().running  # not the demo's
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


async def test_demo_stops_the_broker_it_started_on_ctrl_c(kafka: str, tmp_path: Path) -> None:
    """With no broker running: the demo starts one, and Ctrl-C stops it too, within 10 s
    (the broker runs in a session of its own, so the signal does not reach it)."""
    broker_port = free_broker_port()
    port = free_port()
    while port in (broker_port, broker_port + 1):
        port = free_port()
    broker = LocalBroker(CACHE, broker_port)
    env = command_env(f"127.0.0.1:{broker_port}", CUSTOMS_STREAM_WEB_PORT=str(port),
                      CUSTOMS_STREAM_BROKER_PORT=str(broker_port))
    log = tmp_path / "demo.log"
    process = start(["demo", "--rate", "50", "--seed", "3"], env, log)
    try:
        await demo_board(process, log, port)
        assert broker.status().running  # the demo's own
        took = await asyncio.to_thread(interrupt_and_wait, process, 30)
        assert process.returncode == 0 and took < 10, log.read_text()[-2000:]
        assert not group_alive(process.pid)
        assert not broker.status().running, "the broker the demo started still runs"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        broker.stop()
        shutil.rmtree(broker.home, ignore_errors=True)


async def test_a_worker_refuses_topics_with_other_partition_counts(
    kafka: str, settings: Settings
) -> None:
    prefix = f"parts-{uuid.uuid4().hex[:8]}"
    run = settings.model_copy(update={"topic_prefix": prefix, "app_id": prefix})
    env = command_env(kafka, CUSTOMS_STREAM_TOPIC_PREFIX=prefix, CUSTOMS_STREAM_PARTITIONS="4")
    try:
        assert (await run_command(["topics"], env)).returncode == 0
        env["CUSTOMS_STREAM_PARTITIONS"] = "6"  # the setting no longer says what is there
        result = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "stream", "worker"], env=env,
            capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 1
        assert f"{prefix}.declarations has 4, not 6" in result.stderr
        assert "CUSTOMS_STREAM_PARTITIONS=6" in result.stderr
    finally:
        await delete_topics(run)


def test_the_subscriptions_commands(kafka: str) -> None:
    """What docs/webhooks.md shows: a key, a subscription with filters (its secret shown
    once), list, rotate, pause, resume, delete; refusals end the command with a reason."""
    prefix = f"subs-{uuid.uuid4().hex[:8]}"

    def run(*args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
        env = command_env(kafka, CUSTOMS_STREAM_TOPIC_PREFIX=prefix)
        env.pop("CUSTOMS_STREAM_WEBHOOK_KEY", None)
        if key is not None:
            env["CUSTOMS_STREAM_WEBHOOK_KEY"] = key
        return subprocess.run([sys.executable, "-m", "stream", "subscriptions", *args],
                              env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)

    try:
        subscriptions_commands(run)
    finally:
        asyncio.run(delete_topics(Settings(broker=kafka, topic_prefix=prefix)))


def subscriptions_commands(run: Any) -> None:
    key = run("key").stdout.strip()
    no_key = run("add", "--buyer", "buyer-001", "--url", "https://erp.example/h")
    assert no_key.returncode == 1 and "CUSTOMS_STREAM_WEBHOOK_KEY is not set" in no_key.stderr
    inside = run("add", "--buyer", "buyer-001", "--url", "https://10.0.0.7/h", key=key)
    assert inside.returncode == 1 and "not a public address" in inside.stderr
    made = run("add", "--buyer", "buyer-001", "--url", "https://erp.example/h",
               "--statuses", "RELEASED", "--statuses", "DEPARTED", key=key)
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout)
    assert shown["secret"].startswith("whsec_")
    listed = run("list", "--buyer", "buyer-001", key=key).stdout
    [entry] = [json.loads(line) for line in listed.splitlines()]
    assert entry["id"] == shown["id"] and entry["statuses"] == ["RELEASED", "DEPARTED"]
    assert shown["secret"] not in listed and "sealed" not in listed
    rotated = json.loads(run("rotate", shown["id"], key=key).stdout)
    assert rotated["secret"] not in (shown["secret"], None)
    replayed = run("replay", shown["id"], "--since", "2026-11-29T00:00:00Z", key=key)
    assert json.loads(replayed.stdout)["replay_id"].startswith("rpl_"), replayed.stderr
    ahead = run("replay", shown["id"], "--since", "2999-01-01T00:00:00Z", key=key)
    assert ahead.returncode == 1 and "a replay starts in the past" in ahead.stderr
    for change, state in (("pause", "paused"), ("resume", "active"), ("delete", "deleted")):
        answer = run(change, shown["id"], key=key)
        assert answer.returncode == 0 and json.loads(answer.stdout)["state"] == state
    assert run("list", key=key).stdout == ""
    gone = run("pause", shown["id"], key=key)
    assert gone.returncode == 1 and f"no subscription {shown['id']}" in gone.stderr
