"""Prometheus metrics of one pipeline instance.

Each instance has its own registry, so tests can build isolated pipelines. Labels take
only bounded values (topic, event type, error code, port, channel, status): never a
declaration, firm or buyer id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry

CLEARANCE_BUCKETS = (1, 2, 4, 8, 12, 24, 36, 48, 72, 96, 120, 168, 240)
LAG_BUCKETS = (0.01, 0.1, 1, 10, 60, 600, 3600, 6 * 3600, 86400, 7 * 86400)


class _Children:
    """Each labelled child made once: ``labels`` validates its values and takes a lock
    on every call, and the pipeline asks for a child several times per message."""

    def labels(self, *labelvalues: Any, **labelkwargs: Any) -> Any:
        if labelkwargs:
            return super().labels(*labelvalues, **labelkwargs)  # type: ignore[misc]
        children: dict[tuple[Any, ...], Any] = self.__dict__.setdefault("_children", {})
        child = children.get(labelvalues)
        if child is None:
            child = children[labelvalues] = super().labels(*labelvalues)  # type: ignore[misc]
        return child


class Counter(_Children, prometheus_client.Counter):
    pass


class Gauge(_Children, prometheus_client.Gauge):
    pass


class Histogram(_Children, prometheus_client.Histogram):
    pass


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.events_in = Counter(
            "customs_events_in", "Input messages read, by topic and event type",
            ["topic", "event_type"], registry=r,
        )
        self.events_applied = Counter(
            "customs_events_applied", "Input events applied to state, by topic",
            ["topic"], registry=r,
        )
        self.dead_letters = Counter(
            "customs_dead_letters", "Messages sent to dead-letters, by error code",
            ["topic", "code"], registry=r,
        )
        self.duplicates = Counter(
            "customs_duplicates", "Exact repeats counted and ignored, by topic",
            ["topic"], registry=r,
        )
        self.status_updates = Counter(
            "customs_status_updates", "Status updates published, by new status",
            ["status"], registry=r,
        )
        self.status_transitions = Counter(
            "customs_status_transitions", "Status changes of declarations",
            ["from_status", "to_status"], registry=r,
        )
        self.decisions = Counter(
            "customs_release_decisions", "Release decisions published, by kind and channel",
            ["decision", "channel"], registry=r,
        )
        self.clearance_hours = Histogram(
            "customs_clearance_hours", "Hours from filing to release",
            ["port", "channel"], buckets=CLEARANCE_BUCKETS, registry=r,
        )
        self.event_time_lag = Histogram(
            "customs_event_time_lag_seconds",
            "Processing time minus the event's occurred_at",
            ["topic"], buckets=LAG_BUCKETS, registry=r,
        )
        self.open_declarations = Gauge(
            "customs_open_declarations",
            "Declarations on this worker not yet departed, returned or withdrawn",
            registry=r,
        )
        self.processing_errors = Counter(
            "customs_processing_errors", "Messages whose processing raised", ["agent"],
            registry=r,
        )
        self.reassessments = Counter(
            "customs_reassessments",
            "Declarations whose view or decision changed because a firm fact arrived late",
            registry=r,
        )
        self.declarations_removed = Counter(
            "customs_declarations_removed",
            "Closed declarations removed from state once past the policy's retention",
            registry=r,
        )
        self.departures = Counter(
            "customs_departures", "Departures with a schedule, by port and punctuality",
            ["port", "on_schedule"], registry=r,
        )
        self.unreadable_outputs = Gauge(
            "customs_unreadable_output_records",
            "Records on the output topics the read model could not read, and skipped",
            registry=r,
        )
        self.forecast_coverage = Gauge(
            "customs_forecast_coverage_ratio",
            "Share of the expected-release forecasts made while declarations were open "
            "whose release fell inside [p10, p90] (target 0.8)", registry=r,
        )
        self.forecast_by_p50 = Gauge(
            "customs_forecast_by_p50_ratio",
            "Share of those forecasts whose release came at or before p50 (target 0.5)",
            registry=r,
        )
        self.forecasts_scored = Gauge(
            "customs_forecasts_scored",
            "Expected-release forecasts scored against their declaration's release",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "customs_consumer_lag", "Messages not yet processed, by topic",
            ["topic"], registry=r,
        )
