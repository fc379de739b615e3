"""Prometheus metrics of a notifier (its own registry; labels take bounded values only:
never a buyer, subscription or declaration id)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 6 * 3600, 86400)


@dataclass
class NotifierMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.deliveries = Counter(
            "customs_webhook_attempts", "Webhook delivery attempts, by outcome "
            "(delivered, retry, disabled, given_up).", ["outcome"], registry=r)
        self.undelivered = Gauge(
            "customs_webhook_undelivered", "Status updates queued for a receiver and not "
            "yet delivered, in this notifier's partitions.", registry=r)
        self.oldest_undelivered = Gauge(
            "customs_webhook_oldest_undelivered_seconds", "Age of the first attempt of the "
            "oldest undelivered update (0 when none waits).", registry=r)
        self.delivery_seconds = Histogram(
            "customs_webhook_delivery_seconds", "From a status update's publication to its "
            "successful delivery.", buckets=DELIVERY_BUCKETS, registry=r)
