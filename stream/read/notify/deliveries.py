"""The delivery loop of a notifier: every queue (one subscription, one declaration) whose
first update is due gets one attempt at a time; its outcome is stored before the next.

Queues live in the notifier's table, in the partition of their declaration, so they
move with it between notifiers. When partitions are taken away every attempt in flight
is cancelled; when the rebalance is over the loop finds the due queues of the
partitions it now holds by reading the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from schemas.webhooks import WebhookAttempt
from stream.core.webhooks import Outcome, Queue, Verdict, verdict
from stream.read.notify import sender, signing
from stream.read.notify.catalogue import Catalogue
from stream.read.notify.replays import REPLAY_MARK
from stream.read.notify.subscriptions import SecretBox, Subscription
from stream.runtime import tablestore
from stream.runtime.durable import Durable
from stream.settings import Settings

log = logging.getLogger(__name__)
HOLD_CHECK = 5.0  # seconds between looks at a paused or disabled subscription's queue
SWEEP_EVERY = 10.0  # seconds between sweeps for overdue queues no entry was left for
INTERLEAVE_CHECK = 0.5  # seconds between looks at a queue waiting for its other stream


@dataclass
class Deliveries:
    settings: Settings
    table: Any  # declaration_id -> {"p": partition, "queues": {subscription id: Queue}}
    durable: Durable
    catalogue: Catalogue
    box: SecretBox
    dead_letter: Any  # async (subscription, declaration id, sequence, body, verdict) -> None
    disable: Any  # async (subscription) -> None
    observe: Any = None  # async (WebhookAttempt, body): metrics, the attempts topic
    due: list[tuple[float, str, str]] = field(default_factory=list)
    busy: dict[tuple[str, str], asyncio.Task[None]] = field(default_factory=dict)
    sending: set[tuple[str, str]] = field(default_factory=set)  # a request on its way
    again: set[tuple[str, str]] = field(default_factory=set)  # due while being tried
    partitions: set[int] = field(default_factory=set)
    # Every queue with work, whether due now or later: its partition and next try. What
    # is due is found here again after a rebalance, and by the sweep, whatever became of
    # its entry in ``due``.
    waiting: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _clients: dict[str, aiohttp.ClientSession] = field(default_factory=dict)

    # -- what is due ---------------------------------------------------------------------

    def schedule(
        self, declaration_id: str, key: str, at: float, partition: int | None = None,
    ) -> None:
        """Try the queue at ``at``; ``partition``: the queue was written, with work."""
        if partition is not None:
            self.waiting[(declaration_id, key)] = (partition, at)
        heapq.heappush(self.due, (at, declaration_id, key))
        self._wake.set()

    def sweep(self, now: float) -> None:
        """Queues overdue and not being tried: due again (a safety net)."""
        for (declaration_id, key), (_, at) in self.waiting.items():
            if at < now - SWEEP_EVERY and (declaration_id, key) not in self.busy:
                heapq.heappush(self.due, (at, declaration_id, key))

    def forget(self) -> None:
        """Partitions are being taken away: stop every attempt, forget what was due."""
        for task in self.busy.values():
            task.cancel()
        self.busy.clear()
        self.sending.clear()
        self.again.clear()
        self.due.clear()
        self.partitions = set()

    def take(self, partitions: set[int]) -> None:
        """After a rebalance: the queues with work of the partitions held now, from the
        table (as stored) and from what was written since (not stored yet, perhaps)."""
        self.forget()
        self.partitions = partitions
        store = getattr(self.table, "data", None)  # None: tests' plain tables
        if isinstance(store, tablestore.Store):  # the memory store lists all it holds
            store.open_partitions(partitions)
        for declaration_id, record in self.table.items():
            for key, queue in record["queues"].items():
                if queue["pending"] and record["p"] in partitions:
                    self.waiting[(declaration_id, key)] = (record["p"], queue["next_at"])
        for (declaration_id, key), (partition, at) in list(self.waiting.items()):
            if partition in partitions:
                heapq.heappush(self.due, (at, declaration_id, key))
            else:  # another notifier's now
                del self.waiting[(declaration_id, key)]
        # Said, for the search of queues never tried after a restart (bench.webhooks).
        log.info("took partitions %s: %d queues with work", sorted(partitions), len(self.due))
        self._wake.set()

    def undelivered(self) -> tuple[int, float | None]:
        """Queued updates of the held partitions, and the earliest first try among them:
        the queues with work are read (the table keeps every declaration ever told, and a
        scan of it every few seconds grew with it)."""
        count, first = 0, None
        for declaration_id, key in list(self.waiting):
            record = self.table.get(declaration_id)
            queue = record["queues"].get(key) if record else None
            if queue is None:
                continue
            count += len(queue["pending"])
            if queue["first_at"] is not None and (first is None or queue["first_at"] < first):
                first = queue["first_at"]
        return count, first

    # -- the loop ------------------------------------------------------------------------

    async def run(self, ready: Any) -> None:
        # http may reach this machine when the setting allows it (tests, the demo);
        # https goes to public addresses only, always.
        limit = self.settings.webhook_concurrency
        self._clients = {"http": sender.session(self.settings.webhook_http_loopback, limit),
                         "https": sender.session(False, limit)}
        swept = time.time()
        try:
            while True:
                self._wake.clear()
                now = time.time()
                if now - swept > SWEEP_EVERY:
                    self.sweep(now)
                    swept = now
                while self.due and self.due[0][0] <= now and ready():
                    if len(self.busy) >= self.settings.webhook_concurrency:
                        break
                    _, declaration_id, sid = heapq.heappop(self.due)
                    key = (declaration_id, sid)
                    if key in self.busy:
                        self.again.add(key)  # its turn comes when the attempt has ended
                    else:
                        self.busy[key] = asyncio.create_task(self._attempt(declaration_id, sid))
                wait = min(1.0, max(0.0, self.due[0][0] - now)) if self.due else 1.0
                # Not asyncio.wait_for: on Python 3.11 it loses a cancellation that comes
                # as the event is set (gh-86296), and a stopping notifier then waited for
                # ever (seen in this module's tests).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(wait, 0.01)):
                        await self._wake.wait()
        finally:  # stopped: no attempt outlives the loop and its clients
            attempts = list(self.busy.values())
            self.forget()
            await asyncio.gather(*attempts, return_exceptions=True)
            for client in self._clients.values():
                await client.close()

    async def _attempt(self, declaration_id: str, sid: str) -> None:
        try:
            await self._try_first(declaration_id, sid)
        except asyncio.CancelledError:
            raise
        finally:
            key = (declaration_id, sid)
            if self.busy.get(key) is asyncio.current_task():
                del self.busy[key]
                if key in self.again:
                    self.again.discard(key)
                    heapq.heappush(self.due, (time.time(), declaration_id, sid))
            self._wake.set()

    def _queue(self, declaration_id: str, sid: str) -> tuple[dict[str, Any], Queue] | None:
        record = self.table.get(declaration_id)
        if record is None or sid not in record["queues"]:
            return None
        return record, Queue.from_json(record["queues"][sid])

    def _held_back(self, declaration_id: str, key: str, record: dict[str, Any]) -> bool:
        """A declaration's live and replay deliveries never interleave: a replay waits
        for a live request on its way; live updates wait while a replay has work. (Not
        "a live attempt scheduled": each would then wait for the other for ever.)"""
        sid = key.split(REPLAY_MARK)[0]
        if REPLAY_MARK in key:
            return (declaration_id, sid) in self.sending
        return any(k.startswith(sid + REPLAY_MARK) and q["pending"]
                   for k, q in record["queues"].items())

    async def _try_first(self, declaration_id: str, key: str) -> None:
        found = self._queue(declaration_id, key)
        if found is None or not found[1].pending:
            return
        record, queue = found
        subscription = self.catalogue.subscriptions.get(key.split(REPLAY_MARK)[0])
        now = time.time()
        if subscription is None:  # deleted: its queues go too
            del record["queues"][key]
            self.waiting.pop((declaration_id, key), None)
            await self.durable.stored(record["p"], declaration_id, record)
            return
        if queue.next_at > now:
            self.schedule(declaration_id, key, queue.next_at)
            return
        if subscription.state != "active" or self._held_back(declaration_id, key, record):
            self.schedule(declaration_id, key, now + (
                HOLD_CHECK if subscription.state != "active" else INTERLEAVE_CHECK))
            return
        sequence, body = queue.pending[0]
        first_at = queue.first_at if queue.first_at is not None else now
        self.sending.add((declaration_id, key))
        try:
            answer, result = await self._send(
                subscription, f"{declaration_id}:{sequence}", body, queue.attempts + 1,
                first_at, REPLAY_MARK in key)
            if result.outcome is Outcome.GIVEN_UP:
                await self.dead_letter(subscription, declaration_id, sequence, body, result)
            elif result.outcome is Outcome.DISABLED:
                await self.disable(subscription)
            await self._settle(declaration_id, key, sequence, first_at, result)
        finally:
            self.sending.discard((declaration_id, key))
        await self._note(subscription, f"{declaration_id}:{sequence}", answer, result, body,
                         REPLAY_MARK in key)

    async def _send(
        self, subscription: Subscription, webhook_id: str, body: str, attempt: int,
        first_at: float, replay: bool,
    ) -> tuple[sender.Answer, Verdict]:
        client = self._clients["http" if subscription.url.startswith("http:") else "https"]
        sent_at = time.time()
        raw = body.encode()
        headers = signing.headers(self.box.in_force(subscription, sent_at), webhook_id,
                                  int(sent_at), raw, replay)
        answer = await sender.post(client, subscription.url, raw, headers,
                                   self.settings.webhook_timeout)
        result = verdict(answer.status, answer.problem, attempt, first_at, time.time(),
                         random.random(), answer.retry_after, self.settings.webhook_retry_for,
                         self.settings.webhook_first_retry, answer.refused)
        return answer, result

    async def _settle(
        self, declaration_id: str, sid: str, sequence: int, first_at: float, result: Verdict,
    ) -> None:
        """Store the attempt's outcome (read afresh: updates may have joined the queue
        meanwhile); the queue's next attempt waits until it is stored."""
        found = self._queue(declaration_id, sid)
        if found is None or not found[1].pending or found[1].pending[0][0] != sequence:
            return
        record, queue = found
        queue.first_at = first_at
        queue.settle(result, time.time())
        record["queues"][sid] = queue.to_json()
        await self.durable.stored(record["p"], declaration_id, record)
        # Read again: an update may have joined the queue while it was being stored.
        current = self._queue(declaration_id, sid)
        if current is not None and current[1].pending:
            held = result.outcome is Outcome.DISABLED  # until it is resumed
            self.schedule(declaration_id, sid,
                          time.time() + HOLD_CHECK if held else current[1].next_at, record["p"])
        else:
            self.waiting.pop((declaration_id, sid), None)

    async def _note(
        self, subscription: Subscription, webhook_id: str, answer: sender.Answer,
        result: Verdict, body: str, replay: bool,
    ) -> None:
        attempt = WebhookAttempt(
            subscription_id=subscription.id, buyer_id=subscription.buyer_id,
            at=datetime.now(UTC), webhook_id=webhook_id, http_status=answer.status,
            problem=answer.problem or None, latency_ms=round(answer.seconds * 1000, 1),
            outcome=result.outcome.value, replay=replay,
            next_try_at=datetime.fromtimestamp(result.next_at, UTC) if result.next_at else None,
        )
        if result.outcome is not Outcome.RETRY:
            log.info("webhook %s to %s: %s", webhook_id, subscription.id, result.reason)
        if self.observe is not None:
            await self.observe(attempt, body)
