"""The delivery loop in this process: queues in a plain table, a receiver on this machine
(real HTTP, signatures verified with standardwebhooks). The integration tests run the
same loop inside a notifier against the broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from stream.core.webhooks import Queue, Verdict
from stream.read.notify.deliveries import Deliveries
from stream.read.notify.replays import replay_key
from stream.read.notify.subscriptions import SecretBox, Subscription, new_subscription
from stream.settings import Settings
from stream.tools.receiver import Receiver

pytestmark = pytest.mark.timeout(60)


class Table(dict[str, Any]):
    """A table whose scan does not show ``unstored`` keys yet (written, not stored)."""

    unstored: set[str] = set()

    def items(self) -> Any:
        return [(k, v) for k, v in super().items() if k not in self.unstored]


class Stored:
    """What the notifier's durable writer does, at once."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.table = table
        self.during: Callable[[], None] | None = None  # once, while a write is stored

    async def stored(self, partition: int, key: str, value: Any) -> None:
        self.table[key] = value
        if self.during is not None:
            during, self.during = self.during, None
            during()
        await asyncio.sleep(0)

    def write(self, partition: int, key: str, value: Any, then: Callable[[], None]) -> None:
        self.table[key] = value
        then()


@dataclass
class Catalogue:
    subscriptions: dict[str, Subscription] = field(default_factory=dict)


@dataclass
class Loop:
    deliveries: Deliveries
    receiver: Receiver
    subscription: Subscription
    table: dict[str, Any]
    letters: list[tuple[str, int, Verdict]] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)

    def queue(self, declaration: str, sequences: list[int], key: str | None = None,
              partition: int | None = None) -> None:
        key = key or self.subscription.id
        record = self.table.setdefault(declaration, {"p": 0, "queues": {}})
        queue = Queue.of(record["queues"], key)
        for sequence in sequences:
            body = orjson.dumps({"declaration_id": declaration, "sequence": sequence,
                                 "buyer_id": "buyer-001", "status": "ACCEPTED"}).decode()
            queue.offer(sequence, body, time.time())
        record["queues"][key] = queue.to_json()
        self.deliveries.schedule(declaration, key, queue.next_at, partition)

    async def until(self, check: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, self.receiver.received
            await asyncio.sleep(0.05)


@pytest.fixture
async def loop() -> AsyncIterator[Loop]:
    settings = Settings(webhook_key=SecretStr(Fernet.generate_key().decode()),
                        webhook_http_loopback=True, webhook_first_retry=0.1,
                        webhook_retry_for=60.0)
    box = SecretBox(settings)
    receiver = Receiver([])
    url = await receiver.start()
    made, secret = new_subscription(box, "buyer-001", url, [], [], [])
    receiver.secrets.append(secret)
    table = Table()
    catalogue = Catalogue({made.id: made})
    deliveries = Deliveries(settings, table, Stored(table), catalogue, box,  # type: ignore[arg-type]
                            dead_letter=None, disable=None)
    running = Loop(deliveries, receiver, made, table)

    async def dead_letter(sub: Subscription, d: str, sequence: int, body: str,
                          result: Verdict) -> None:
        running.letters.append((d, sequence, result))

    async def disable(sub: Subscription) -> None:
        running.disabled.append(sub.id)
        catalogue.subscriptions[sub.id] = sub.model_copy(update={"state": "disabled"})

    deliveries.dead_letter, deliveries.disable = dead_letter, disable
    deliveries.partitions = {0}
    task = asyncio.create_task(deliveries.run(ready=lambda: True))
    try:
        yield running
    finally:
        task.cancel()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)
        await asyncio.wait_for(receiver.stop(), 15)


def ids(receiver: Receiver, replay: bool | None = None) -> list[str]:
    return [r.webhook_id for r in receiver.received
            if r.answered == 200 and (replay is None or r.replay == replay)]


async def test_a_failing_declaration_holds_back_only_itself(loop: Loop) -> None:
    failures = {"A:1": 3}

    def answer(webhook_id: str, _: dict[str, Any]) -> int:
        if failures.get(webhook_id, 0) > 0:
            failures[webhook_id] -= 1
            return 503
        return 200

    loop.receiver.answer = answer
    loop.queue("A", [1, 2, 3])
    loop.queue("B", [1, 2])
    await loop.until(lambda: len(ids(loop.receiver)) == 5)
    got = ids(loop.receiver)
    assert [i for i in got if i.startswith("A")] == ["A:1", "A:2", "A:3"]
    assert got.index("B:2") < got.index("A:1")  # B went on while A failed
    assert [r.answered for r in loop.receiver.received if r.webhook_id == "A:1"] == \
        [503, 503, 503, 200]
    assert all(r.verified for r in loop.receiver.received)
    assert loop.table["A"]["queues"][loop.subscription.id]["pending"] == []


async def test_a_replay_never_interleaves_with_live_deliveries(loop: Loop) -> None:
    replay = replay_key(loop.subscription.id, "rpl_1")
    loop.queue("A", [1, 2, 3], key=replay)
    loop.queue("A", [4, 5])
    await loop.until(lambda: len(ids(loop.receiver)) == 5)
    streams = [r.replay for r in loop.receiver.received]
    assert streams == sorted(streams, key=lambda replayed: not replayed)  # replay, then live
    assert ids(loop.receiver, replay=True) == ["A:1", "A:2", "A:3"]
    assert ids(loop.receiver, replay=False) == ["A:4", "A:5"]


async def test_given_up_updates_become_dead_letters_and_410_disables(loop: Loop) -> None:
    loop.deliveries.settings = loop.deliveries.settings.model_copy(
        update={"webhook_retry_for": 0.3})
    loop.receiver.answer = lambda webhook_id, _: 500 if webhook_id == "A:1" else 410
    loop.queue("A", [1, 2])
    await loop.until(lambda: bool(loop.letters) and bool(loop.disabled))
    declaration, sequence, result = loop.letters[0]
    assert (declaration, sequence) == ("A", 1) and "HTTP 500" in result.reason
    assert loop.disabled == [loop.subscription.id]
    queue = loop.table["A"]["queues"][loop.subscription.id]
    assert [s for s, _ in queue["pending"]] == [2]  # held until the buyer resumes it


async def test_a_paused_subscription_waits_and_a_deleted_one_is_dropped(loop: Loop) -> None:
    catalogue = loop.deliveries.catalogue
    catalogue.subscriptions[loop.subscription.id] = loop.subscription.model_copy(
        update={"state": "paused"})
    loop.queue("A", [1])
    await asyncio.sleep(0.5)
    assert loop.receiver.received == []
    del catalogue.subscriptions[loop.subscription.id]
    loop.deliveries.schedule("A", loop.subscription.id, 0)
    await loop.until(lambda: loop.subscription.id not in loop.table["A"]["queues"])
    assert loop.receiver.received == []


async def test_the_undelivered_are_counted_from_the_queues_with_work(loop: Loop) -> None:
    catalogue = loop.deliveries.catalogue
    catalogue.subscriptions[loop.subscription.id] = loop.subscription.model_copy(
        update={"state": "paused"})  # held back: nothing is tried
    loop.queue("A", [1, 2], partition=0)
    loop.queue("B", [1], partition=0)
    loop.table["C"] = {"p": 0, "queues": {}}  # told everything before
    assert loop.deliveries.undelivered()[0] == 3


async def test_an_update_queued_while_the_one_before_is_settled_is_sent(loop: Loop) -> None:
    """Found by bench.webhooks (7 of 2,786 never sent): A:2 joined A's queue while the
    outcome of A:1 was being stored; the attempt then forgot that A had work, and the
    loop had dropped A's turn as A was busy."""
    stored = loop.deliveries.durable
    assert isinstance(stored, Stored)
    stored.during = lambda: loop.queue("A", [2], partition=0)
    known: list[bool] = []  # whether the loop knew A had work while A:2 was sent

    def answer(webhook_id: str, _: dict[str, Any]) -> int:
        known.append(("A", loop.subscription.id) in loop.deliveries.waiting)
        return 200

    async def observe(*_: Any) -> None:  # as the notifier's: it waits for the producer
        await asyncio.sleep(0.05)

    loop.receiver.answer, loop.deliveries.observe = answer, observe
    loop.queue("A", [1], partition=0)
    await loop.until(lambda: ids(loop.receiver) == ["A:1", "A:2"], timeout=5.0)
    assert known == [True, True]
    await loop.until(lambda: loop.deliveries.waiting == {})


async def test_after_a_rebalance_the_loop_finds_due_queues_in_the_table(loop: Loop) -> None:
    loop.queue("A", [1])
    loop.deliveries.forget()  # partitions taken away: nothing is due any more
    loop.table["B"] = {"p": 1, "queues": {}}  # a partition this loop will not hold
    loop.deliveries.take({0})
    await loop.until(lambda: ids(loop.receiver) == ["A:1"])
    assert loop.deliveries.undelivered() == (0, None)


async def test_a_queue_written_but_not_stored_yet_is_found_after_a_rebalance(loop: Loop) -> None:
    """Found by bench.webhooks: an update queued just before a rebalance lost its entry
    in ``due`` to the revocation, and the table's scan did not show it yet."""
    loop.deliveries.forget()
    loop.deliveries.partitions = set()
    assert isinstance(loop.table, Table)
    loop.table.unstored = {"A"}
    loop.queue("A", [1], partition=0)
    loop.deliveries.forget()  # revoked: what was due is forgotten
    loop.deliveries.take({0})  # the scan does not show A
    await loop.until(lambda: ids(loop.receiver) == ["A:1"])
    assert loop.deliveries.waiting == {}


async def test_the_sweep_finds_an_overdue_queue_whose_entry_was_lost(
    loop: Loop, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stream.read.notify import deliveries

    monkeypatch.setattr(deliveries, "SWEEP_EVERY", 0.2)
    loop.receiver.answer = lambda _id, _u: 200
    loop.queue("A", [1], partition=0)
    loop.deliveries.due.clear()  # however it happened
    await loop.until(lambda: ids(loop.receiver) == ["A:1"], timeout=10)
