"""Buyers are told through webhooks: a real worker and a real notifier on the broker, and
a receiver that verifies signatures with the ``standardwebhooks`` package."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from jsonschema import Draft202012Validator
from pydantic import SecretStr

from stream.read.notify import manage
from stream.settings import Settings
from stream.tools.receiver import Receiver
from stream.tools.replay import ReplayRun, delete_topics, read_records
from stream.tools.scenario import read_scenario
from stream.topics import Topology
from stream.worker.process import WorkerProcess
from tests.integration.test_api import BUYER_1, BUYER_2, SCENARIOS, free_port, write_tokens

BUYER = "buyer-001"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "json"
pytestmark = pytest.mark.timeout(240)


def send(port: int, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    """An API call with a JSON body; its status and JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     method=method, headers={"Authorization": f"Bearer {token}",
                                                             "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except urllib.error.URLError:  # not listening yet
        return 0, None


async def api(port: int, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    return await asyncio.to_thread(send, port, method, path, token, body)


def webhook_settings(settings: Settings, **more: Any) -> Settings:
    return settings.model_copy(update={
        "webhook_key": SecretStr(Fernet.generate_key().decode()),
        "webhook_http_loopback": True, "webhook_first_retry": 0.3, **more,
    })


def notifier_of(run: ReplayRun) -> WorkerProcess:
    s = run.settings
    own = s.model_copy(update={"notifier_id": f"{s.app_id}-notifier",
                               "notifier_port": free_port(), "data_dir": s.data_dir / "notifier"})
    return WorkerProcess(own, s.data_dir / "notifier.log", command="notifier")


@asynccontextmanager
async def notifying(run: ReplayRun) -> AsyncIterator[WorkerProcess]:
    notifier = notifier_of(run)
    notifier.start()
    try:
        yield notifier
    finally:
        notifier.stop()
        own = notifier.settings
        await delete_topics(own.model_copy(update={"app_id": own.notifier_id}))


async def until_ready(port: int, run: ReplayRun) -> None:
    for _ in range(300):
        status, _ = await api(port, "GET", "/ready", "none")
        if status == 200:
            return
        run.worker.check_alive()
        await asyncio.sleep(0.2)
    raise AssertionError("the worker's API was not ready")


async def published(settings: Settings) -> dict[str, list[int]]:
    """The sequences published for each of the buyer's declarations, in order."""
    topic = Topology.from_settings(settings).name("declaration-status")
    sequences: dict[str, list[int]] = defaultdict(list)
    for record in await read_records(settings.bootstrap_servers, [topic]):
        update = json.loads(record.value)
        if update["buyer_id"] == BUYER:
            sequences[update["declaration_id"]].append(update["sequence"])
    return sequences


async def until(check: Any, what: str, notifier: WorkerProcess, timeout: float = 60.0) -> None:
    for _ in range(int(timeout / 0.2)):
        if check():
            return
        notifier.check_alive()
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{notifier.log_tail()}")


def never_backwards(receiver: Receiver) -> None:
    """Per subscription and declaration (and, apart, per replay), no request ever carried
    a lower sequence than one before it."""
    seen: dict[tuple[str, str, bool], int] = {}
    for got in receiver.received:
        queue = (got.query, got.declaration_id, got.replay)
        assert got.sequence >= seen.get(queue, 0), got.webhook_id
        seen[queue] = got.sequence


def all_delivered(
    receiver: Receiver, sequences: dict[str, list[int]], replay: bool = False,
) -> bool:
    delivered = {r.webhook_id for r in receiver.delivered()
                 if not r.query and r.replay == replay}
    return bool(sequences) and all(
        f"{d}:{s}" in delivered for d, seqs in sequences.items() for s in seqs
    )


def tries_of(receiver: Receiver, declaration: str) -> list[Any]:
    """The requests for ``declaration`` on the unfiltered subscription (not replays)."""
    return [r for r in receiver.received
            if r.declaration_id == declaration and not r.query and not r.replay]


def all_released(receiver: Receiver, sequences: dict[str, list[int]]) -> bool:
    """The filtered subscription has had every declaration's RELEASED update."""
    return {r.declaration_id for r in receiver.delivered() if r.query == "released"} == set(
        sequences)


async def test_signed_in_order_retried_without_blocking_others(
    settings: Settings, tmp_path: Path,
) -> None:
    steps = read_scenario(SCENARIOS / "01-green-channel" / "events.jsonl")
    # The first declaration told its first update fails (503) until every update has
    # been published and every other declaration's delivered: its later ones queue up.
    failing: dict[str, Any] = {"failing": True}

    def answer(webhook_id: str, update: dict[str, Any]) -> int:
        declaration = update["declaration_id"]
        if "id" not in failing and update["sequence"] == 1:
            failing["id"] = declaration
        return 503 if declaration == failing.get("id") and failing["failing"] else 200

    receiver = Receiver([], answer)
    url = await receiver.start()
    tokens, port = tmp_path / "tokens.toml", free_port()
    write_tokens(tokens)
    try:
        async with ReplayRun(webhook_settings(settings, webhook_retry_for=120.0),
                             web_enabled=True, web_port=port, tokens_file=tokens) as run:
            await until_ready(port, run)
            # The buyer subscribes through the API, with its own token.
            mine = "/buyers/buyer-001/subscriptions"
            assert (await api(port, "POST", mine, BUYER_2, {"url": url}))[0] == 404
            status, why = await api(port, "POST", mine, BUYER_1, {"url": "https://10.0.0.7/x"})
            assert status == 400 and "not a public address" in why["error"]
            status, made = await api(port, "POST", mine, BUYER_1, {"url": url})
            assert status == 201 and made["secret"].startswith("whsec_"), made
            _, released_secret = await manage.add(
                run.settings, BUYER, url.replace("/hook", "/hook?released"), ["RELEASED"])
            # A name that resolves to this machine, over https: refused at every delivery.
            inside, _ = await manage.add(run.settings, BUYER, "https://localhost:9/hook")
            receiver.secrets = [made["secret"], released_secret]
            began = datetime.now(UTC).isoformat()
            async with notifying(run) as notifier:
                half = len(steps) // 2
                await run.play(steps[:half])
                status, rotated = await api(port, "POST", f"{mine}/{made['id']}/rotate", BUYER_1)
                assert status == 200 and rotated["secret"] != made["secret"]
                receiver.secrets = [rotated["secret"], released_secret]  # the new one only
                await run.play(steps[half:])
                sequences = await published(run.settings)
                # The failing declaration is the first one tried (which may come after
                # every step was played: the barriers are quick).
                await until(lambda: "id" in failing, "a first attempt", notifier)
                others = {d: s for d, s in sequences.items() if d != failing["id"]}
                await until(lambda: all_delivered(receiver, others), "the others", notifier)
                # It heals once it has been tried again (its retry's backoff may end after
                # the others are delivered, on a busy machine).
                await until(lambda: len(tries_of(receiver, failing["id"])) >= 2, "a retry",
                            notifier, timeout=120.0)
                failing["failing"] = False
                await until(lambda: all_delivered(receiver, sequences), "every update", notifier)
                await until(lambda: all_released(receiver, sequences), "RELEASED", notifier)
                letters = Topology.from_settings(run.settings).name("webhook-dead-letters")
                dead: list[dict[str, Any]] = []

                async def dead_letters() -> None:
                    records = await read_records(run.settings.bootstrap_servers, [letters])
                    dead[:] = [json.loads(r.value) for r in records]

                for _ in range(150):
                    await dead_letters()
                    if len(dead) >= sum(map(len, sequences.values())):
                        break
                    await asyncio.sleep(0.2)
                # The buyer asks for everything again: a stream of its own, in order.
                again = f"{mine}/{made['id']}/replay?since={quote(began)}"
                status, asked = await api(port, "POST", again, BUYER_1)
                assert status == 202 and asked["replay_id"].startswith("rpl_"), asked
                await until(lambda: all_delivered(receiver, sequences, replay=True),
                            "the replay", notifier)
            # The buyer sees the attempts (never the secret); another buyer sees nothing.
            status, seen = await api(port, "GET", f"{mine}/{made['id']}/deliveries", BUYER_1)
            attempt_schema = json.loads((SCHEMAS / "webhook-deliveries.schema.json").read_text())
            for attempt in seen["items"]:
                Draft202012Validator(attempt_schema).validate(attempt)
            assert status == 200 and {"delivered", "retry"} <= {a["outcome"] for a in seen["items"]}
            assert (await api(port, "GET", f"{mine}/{made['id']}/deliveries", BUYER_2))[0] == 404
            status, listed = await api(port, "GET", mine, BUYER_1)
            assert status == 200 and made["id"] in {s["id"] for s in listed["items"]}
            shown = json.dumps(listed)
            assert made["secret"] not in shown and rotated["secret"] not in shown
    finally:
        await receiver.stop()

    # Signed: every request verified with standardwebhooks (an unverified one answers 401
    # and is retried); after the rotation, both secrets sign.
    assert all(r.verified for r in receiver.received if r.answered != 401)
    assert any(r.signatures == 2 for r in receiver.received)
    never_backwards(receiver)
    # The failing declaration was retried (the others were delivered meanwhile: above),
    # with several of its updates queued behind the first. Its tries on the unfiltered
    # subscription: the RELEASED one may have had its update before it began to fail.
    tries = tries_of(receiver, failing["id"])
    assert [r.answered for r in tries[:2]] == [503] * 2
    assert len(sequences[failing["id"]]) >= 2
    # Every update delivered once (a repeat only after a failed answer), in sequence
    # order; the filtered subscription got the RELEASED ones, and only those.
    unfiltered = [r for r in receiver.delivered() if not r.query]
    assert not any(r.replay for r in receiver.delivered() if r.query)  # only the one asked
    for declaration, seqs in sequences.items():
        for replayed in (False, True):
            assert [r.sequence for r in unfiltered
                    if r.declaration_id == declaration and r.replay == replayed] == seqs
    released = [r for r in receiver.delivered() if r.query == "released"]
    assert released and {r.webhook_id for r in released} == {
        r.webhook_id for r in unfiltered if r.update["status"] == "RELEASED"}
    # The https URL of this machine: refused at delivery, a dead letter that says why.
    letters_schema = json.loads((SCHEMAS / "webhook-dead-letters.schema.json").read_text())
    for letter in dead:
        Draft202012Validator(letters_schema).validate(letter)
    refused = [d for d in dead if d["subscription_id"] == inside.id]
    assert refused and all("no public address" in d["reason"] for d in refused)
    assert {d["webhook_id"] for d in refused} == {
        f"{d}:{s}" for d, seqs in sequences.items() for s in seqs}


async def test_a_killed_notifier_loses_nothing_and_never_goes_back(
    settings: Settings, tmp_path: Path,
) -> None:
    steps = read_scenario(SCENARIOS / "04-inspections-and-latency" / "events.jsonl")
    flaky = itertools.cycle([200, 200, 500])
    receiver = Receiver([], lambda _id, _update: next(flaky))
    url = await receiver.start()
    try:
        async with ReplayRun(webhook_settings(settings)) as run:
            _, secret = await manage.add(run.settings, BUYER, url)
            receiver.secrets = [secret]
            async with notifying(run) as notifier:
                async def kill_now_and_then(n: int) -> None:
                    if n in (len(steps) // 3, 2 * len(steps) // 3):
                        assert notifier.process is not None
                        os.kill(notifier.process.pid, signal.SIGKILL)
                        notifier.process.wait()
                        notifier.start()

                await run.play(steps, kill_now_and_then)
                sequences = await published(run.settings)
                await until(lambda: all_delivered(receiver, sequences), "every update", notifier,
                            timeout=90)
    finally:
        await receiver.stop()
    assert all(r.verified for r in receiver.received)
    never_backwards(receiver)
