"""The secured broker (``broker start --secure``): SASL_SSL with SCRAM users and ACLs per
principal. A scenario runs end to end as the ``pipeline`` user and agrees; each principal
can do what it is for and nothing else; without credentials nothing connects."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError
from aiokafka.protocol.metadata import MetadataRequest
from pydantic import SecretStr

from stream.admin import ensure_topics
from stream.broker import LocalBroker
from stream.broker.secure import users
from stream.kafka import client_options, configure, configured
from stream.settings import Settings
from stream.tools.replay import ReplayRun
from stream.tools.scenario import differences, read_scenario
from stream.topics import Topology
from tests.conftest import CACHE
from tests.integration.conftest import until
from tests.integration.test_api import OPS, free_port, get, write_tokens
from tests.integration.test_commands import command_env, start

SECURE_PORT = 29392
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "01-green-channel"
PREFIX, APP = "secured", "secured-app"


@pytest.fixture(scope="module")
def secured() -> Iterator[LocalBroker]:
    broker = LocalBroker(CACHE, SECURE_PORT, secure=True)
    was_running = broker.status().running
    broker.start()
    broker.grant(PREFIX, APP)
    yield broker
    if not was_running:
        broker.stop()


def as_user(broker: LocalBroker, user: str, **changes: Any) -> Settings:
    base = Settings(broker=broker.bootstrap, topic_prefix=PREFIX, app_id=APP, cache_dir=CACHE)
    return base.model_copy(update={
        "kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "SCRAM-SHA-512",
        "kafka_username": user, "kafka_password": SecretStr(users(broker.home)[user]),
        "kafka_ca_file": broker.home / "tls" / "ca.pem", **changes,
    })


async def send(settings: Settings, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers,
                                request_timeout_ms=8000, **client_options(settings))
    await producer.start()
    try:
        await producer.send_and_wait(f"{PREFIX}.{topic}", b"{}", key=b"k")
    finally:
        await producer.stop()


async def end_offsets(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                request_timeout_ms=8000, **client_options(settings))
    await consumer.start()
    try:
        return await asyncio.wait_for(
            consumer.end_offsets([TopicPartition(f"{PREFIX}.{topic}", 0)]), 10
        )
    finally:
        await consumer.stop()


async def metadata_error(settings: Settings, topic: str) -> int:
    """The error code the broker answers a request for a topic's metadata with: the
    authorization error itself, which aiokafka's consumer turns into a timeout."""
    client = AIOKafkaClient(bootstrap_servers=settings.bootstrap_servers,
                            request_timeout_ms=8000, **client_options(settings))
    await client.bootstrap()
    try:
        node = client.get_random_node()
        answer = await client.send(node, MetadataRequest([f"{PREFIX}.{topic}"], False))
        [(error, *_)] = answer.topics
        return int(error)
    finally:
        await client.close()


async def test_a_scenario_agrees_through_the_secured_broker(
    secured: LocalBroker, tmp_path: Path
) -> None:
    pipeline = as_user(secured, "pipeline", data_dir=tmp_path / "worker", commit_interval=0.2)
    run = ReplayRun(pipeline, keep_topics=True, publisher=as_user(secured, "admin"))
    secured.grant(run.settings.topic_prefix, run.settings.app_id)
    async with run:
        await run.play(read_scenario(SCENARIO / "events.jsonl"))
        result = await run.result()
    assert differences(json.loads((SCENARIO / "expected.json").read_text()), result) == []
    # An API replica reads the outputs as the `api` principal, which may read nothing else.
    tokens, port = tmp_path / "tokens.toml", free_port()
    write_tokens(tokens)
    api = as_user(secured, "api")
    env = command_env(
        secured.bootstrap, CUSTOMS_STREAM_TOPIC_PREFIX=run.settings.topic_prefix,
        CUSTOMS_STREAM_WEB_PORT=str(port), CUSTOMS_STREAM_DATA_DIR=str(tmp_path / "api"),
        CUSTOMS_STREAM_TOKENS_FILE=str(tokens), CUSTOMS_STREAM_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        CUSTOMS_STREAM_KAFKA_USERNAME="api", CUSTOMS_STREAM_KAFKA_CA_FILE=str(api.kafka_ca_file),
        CUSTOMS_STREAM_KAFKA_PASSWORD=api.kafka_password.get_secret_value()  # type: ignore[union-attr]
    )
    replica = start(["api"], env, tmp_path / "api.log")
    first = f"/declarations/{result['statuses'][0]['declaration_id']}"

    def answers() -> bool:
        assert replica.poll() is None, (tmp_path / "api.log").read_text()[-3000:]
        try:
            return get(port, first, OPS)[0] == 200
        except urllib.error.URLError:  # not listening yet
            return False

    try:
        await until(answers, timeout=60)
        assert get(port, "/ready")[0] == 200
    finally:
        replica.terminate()
        replica.wait(15)


WRITES = {  # who may write each input, and the pipeline's own topics
    "erp": {"declarations"},
    "customs": {"inspections", "releases", "returns"},
    "certifier": {"firms"},
}
TRIED = ("declarations", "inspections", "releases", "returns", "firms", "lifecycle-rekeyed",
         "firms-rekeyed", "firm-facts", "declaration-status")


async def test_each_principal_may_do_what_it_is_for_and_nothing_else(
    secured: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)  # aiokafka logs each refusal again and again
    pipeline = as_user(secured, "pipeline")
    before = configured()
    configure(pipeline)  # the admin client takes the process's security settings
    try:
        await ensure_topics(pipeline.bootstrap_servers, Topology.from_settings(pipeline))
    finally:
        configure(before)
    tried = 0
    for user in (*WRITES, "api", "dashboard"):
        for topic in TRIED:
            if topic in WRITES.get(user, set()):
                await send(as_user(secured, user), topic)
            else:  # refused by the ACLs, specifically: not a timeout, not a broker down
                with pytest.raises(TopicAuthorizationFailedError):
                    await send(as_user(secured, user), topic)
            tried += 1
    assert tried == 5 * len(TRIED)
    # Returns count against a firm's green channel: customs declares them, not an ERP.
    assert "returns" not in WRITES["erp"]
    for user, topics in (("dashboard", ("declaration-status", "clearance-kpis")),
                         ("api", ("declaration-status", "clearance-kpis", "dead-letters",
                                  "firm-facts", "forecast-basis"))):
        for topic in topics:
            offsets = await end_offsets(as_user(secured, user), topic)
            assert [tp.topic for tp in offsets] == [f"{PREFIX}.{topic}"]
        assert await metadata_error(as_user(secured, user), "declarations") == (
            TopicAuthorizationFailedError.errno)


async def test_nothing_connects_without_valid_credentials(
    secured: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)
    plain = Settings(broker=secured.bootstrap)
    wrong = as_user(secured, "erp", kafka_password=SecretStr("not-the-password"))
    tls_only = as_user(secured, "erp", kafka_security_protocol="SSL")
    assert secured.status().running  # refused by a broker that is up, not by its absence
    for settings in (plain, wrong, tls_only):
        with pytest.raises((KafkaError, TimeoutError, OSError)):
            await asyncio.wait_for(send(settings, "declarations"), 20)
    assert secured.status().running


FRESH_PORT = 29492  # a secured broker of its own, made from nothing in this test
PROBE = Path(__file__).resolve().parent / "ControllerProbe.java"


def test_a_fresh_secured_broker_shows_no_password_and_keeps_its_files_private(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker = LocalBroker(CACHE, FRESH_PORT, secure=True)
    broker.stop()
    shutil.rmtree(broker.home, ignore_errors=True)
    commands: list[list[str]] = []
    run, popen = subprocess.run, subprocess.Popen

    def recorded_run(command: list[str], *args: Any, **kwargs: Any) -> Any:
        commands.append([str(part) for part in command])
        return run(command, *args, **kwargs)

    def recorded_popen(command: list[str], *args: Any, **kwargs: Any) -> Any:
        commands.append([str(part) for part in command])
        return popen(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", recorded_run)
    monkeypatch.setattr(subprocess, "Popen", recorded_popen)
    try:
        broker.start()
        broker.grant(PREFIX, APP)
        monkeypatch.undo()
        passwords = list(users(broker.home).values())
        assert len(passwords) == 7 and len(commands) >= 3  # format, broker, ACLs (and TLS)
        pid = broker.status().pid
        assert pid is not None
        seen = [" ".join(c) for c in commands] + [
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()]
        assert not [line for line in seen for p in passwords if p in line]
        assert not list(broker.home.glob("*.args"))  # the storage tool's arguments, gone
        for name in ("users.toml", "server.properties", "admin.properties"):
            assert (broker.home / name).stat().st_mode & 0o777 == 0o600, name
        # The controller listener is no anonymous way in: a client without credentials
        # gets no answer where a super user's would list the ACLs.
        probe = run(["java", "-cp", f"{broker.lib_dir}/*", str(PROBE),
                     f"127.0.0.1:{broker.controller_port}"],
                    capture_output=True, text=True, timeout=120, check=False)
        assert probe.returncode == 3 and "refused:" in probe.stdout, probe.stdout[-500:]
    finally:
        broker.stop()
        shutil.rmtree(broker.home, ignore_errors=True)
