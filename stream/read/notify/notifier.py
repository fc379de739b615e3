"""The notifier: a Faust app with its own consumer group on ``declaration-status`` (run
more of them to share its partitions). Each status update a subscription asks for joins
that subscription's queue for its declaration, in the notifier's table; the update's
offset is acknowledged once the queue is stored. The delivery loop
(``stream.read.notify.deliveries``) empties the queues.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
from aiohttp import web
from prometheus_client import generate_latest

from schemas.webhooks import WebhookAttempt, WebhookDeadLetter
from stream import codec, kafka
from stream.core.webhooks import Queue, Verdict
from stream.read.notify.catalogue import Catalogue
from stream.read.notify.deliveries import Deliveries
from stream.read.notify.notifier_metrics import NotifierMetrics
from stream.read.notify.replays import Replays
from stream.read.notify.subscriptions import SecretBox, Subscription
from stream.runtime import faust_fixes, tablestore
from stream.runtime.app import faust_app
from stream.runtime.durable import Durable
from stream.settings import Settings
from stream.topics import Topology

log = logging.getLogger(__name__)


@dataclass
class Notifier:
    settings: Settings
    app: faust.App
    topology: Topology
    catalogue: Catalogue
    deliveries: Deliveries
    durable: Durable
    metrics: NotifierMetrics
    replays: Replays

    async def offer(self, event: Any) -> None:
        """Queue one status update for every subscription that asks for it."""
        message = event.message
        try:
            update = orjson.loads(message.value)
            declaration_id, sequence = str(update["declaration_id"]), int(update["sequence"])
            body = message.value.decode()
        except (TypeError, ValueError, KeyError, UnicodeDecodeError, orjson.JSONDecodeError):
            self.durable.after(event.ack)  # not a status update: nothing to tell anyone
            return
        # Every subscription made before the update was published must be known.
        await self.catalogue.caught_up_with(message.timestamp)
        wanted = [
            s for s in self.catalogue.of_buyer(str(update.get("buyer_id")))
            if s.created_at <= message.timestamp and s.filters.match(update)
        ]
        record = self.deliveries.table.get(declaration_id) or {
            "p": message.partition, "queues": {},
        }
        now, joined = time.time(), False
        for subscription in wanted:
            queue = Queue.of(record["queues"], subscription.id)
            if queue.offer(sequence, body, now):
                record["queues"][subscription.id] = queue.to_json()
                self.deliveries.schedule(declaration_id, subscription.id, queue.next_at,
                                         message.partition)
                joined = True
        if joined:
            self.durable.write(message.partition, declaration_id, record, event.ack)
        else:
            self.durable.after(event.ack)

    async def dead_letter(
        self, subscription: Subscription, declaration_id: str, sequence: int, body: str,
        result: Verdict,
    ) -> None:
        letter = WebhookDeadLetter(
            subscription_id=subscription.id, buyer_id=subscription.buyer_id,
            webhook_id=f"{declaration_id}:{sequence}", declaration_id=declaration_id,
            sequence=sequence, reason=result.reason, given_up_at=datetime.now(UTC),
            update=orjson.loads(body),
        )
        await self.app.producer.send_and_wait(
            self.topology.name("webhook-dead-letters"), declaration_id.encode(),
            letter.model_dump_json().encode(), None, None, None,
        )

    async def disable(self, subscription: Subscription) -> None:
        """The receiver answered 410: no more deliveries until the buyer resumes it."""
        disabled = subscription.model_copy(update={"state": "disabled"})
        self.catalogue.subscriptions[subscription.id] = disabled
        await self.app.producer.send_and_wait(
            self.topology.name("webhook-subscriptions"), subscription.id.encode(),
            disabled.model_dump_json().encode(), None, None, None,
        )

    async def observe(self, attempt: WebhookAttempt, body: str) -> None:
        """Count the attempt, and publish it for the deliveries route (the producer
        sends it with the next batch: a record of what happened, not a step of it)."""
        await self.app.producer.send(
            self.topology.name("webhook-deliveries"), attempt.subscription_id.encode(),
            attempt.model_dump_json().encode(), None, None, None,
        )
        self.metrics.deliveries.labels(attempt.outcome).inc()
        if attempt.outcome == "delivered":
            published = orjson.loads(body).get("updated_at")
            if isinstance(published, str):
                at = datetime.fromisoformat(published.replace("Z", "+00:00"))
                self.metrics.delivery_seconds.observe(
                    max(0.0, (attempt.at - at).total_seconds()))


def build_notifier(settings: Settings) -> Notifier:
    kafka.configure(settings)
    codec.register()
    faust_fixes.apply()
    tablestore.register()
    own = settings.model_copy(update={
        "app_id": settings.notifier_id, "web_port": settings.notifier_port,
        "web_enabled": True,
    })
    app = faust_app(own)
    topology = Topology.from_settings(settings)
    status = app.topic(topology.name("declaration-status"),
                       key_serializer="raw", value_serializer="raw")
    table: Any = app.Table(
        "webhook-queues", partitions=settings.partitions,
        schema=faust.Schema(key_serializer=codec.CODEC, value_serializer=codec.CODEC),
    )
    durable, catalogue, metrics = Durable(table), Catalogue(settings), NotifierMetrics()
    deliveries = Deliveries(settings, table, durable, catalogue, SecretBox(settings),
                            dead_letter=None, disable=None)
    replays = Replays(settings, status.get_topic_name(), table, durable, deliveries, catalogue)
    notifier = Notifier(settings, app, topology, catalogue, deliveries, durable, metrics,
                        replays)
    deliveries.dead_letter, deliveries.disable = notifier.dead_letter, notifier.disable
    deliveries.observe = notifier.observe
    _wire(notifier, status)
    return notifier


def _wire(notifier: Notifier, status: Any) -> None:
    app, deliveries, catalogue = notifier.app, notifier.deliveries, notifier.catalogue
    status_topic = status.get_topic_name()

    @app.agent(status, name="queue-updates")
    async def queue_updates(stream: Any) -> None:
        await catalogue.ready.wait()
        async for event in stream.noack().events():
            await notifier.offer(event)

    @app.task  # type: ignore[untyped-decorator]
    async def follow_subscriptions() -> None:
        await catalogue.run()

    @app.task  # type: ignore[untyped-decorator]
    async def replay() -> None:
        await catalogue.ready.wait()
        await notifier.replays.run(ready=lambda: not app.rebalancing)

    @app.task  # type: ignore[untyped-decorator]
    async def deliver() -> None:
        await catalogue.ready.wait()
        await deliveries.run(ready=lambda: not app.rebalancing)

    async def stop_attempts(sender: Any, *_: Any, **__: Any) -> None:
        deliveries.forget()

    async def take_queues(sender: Any, *_: Any, **__: Any) -> None:
        deliveries.take({tp.partition for tp in app.consumer.assignment()
                         if tp.topic == status_topic})

    app.on_partitions_revoked.connect(stop_attempts)  # type: ignore[arg-type]
    app.on_rebalance_complete.connect(take_queues)  # type: ignore[arg-type]

    @app.timer(5.0)  # type: ignore[untyped-decorator]
    async def measure() -> None:
        count, first = deliveries.undelivered()
        notifier.metrics.undelivered.set(count)
        notifier.metrics.oldest_undelivered.set(time.time() - first if first else 0.0)

    async def metrics_route(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(notifier.metrics.registry),
                            content_type="text/plain")

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    router = app.web.web_app.router  # type: ignore[attr-defined]
    router.add_get("/metrics", metrics_route)
    router.add_get("/health", health)
