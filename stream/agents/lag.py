"""Consumer lag of the pipeline's group, per topic, as a Prometheus gauge."""

from __future__ import annotations

import logging

from aiokafka.errors import KafkaError

from stream.admin import BrokerUnavailable, group_lag
from stream.runtime.pipeline import Pipeline

log = logging.getLogger(__name__)
INTERVAL = 10.0


def register(pipeline: Pipeline) -> None:
    settings, topology = pipeline.settings, pipeline.topology

    @pipeline.app.timer(INTERVAL)
    async def measure_lag() -> None:
        try:
            lag = await group_lag(settings.bootstrap_servers, settings.app_id, topology.consumed)
        except (KafkaError, BrokerUnavailable, KeyError, OSError) as exc:
            log.warning("consumer lag not measured: %s", exc)
            return
        for topic, behind in lag.items():
            pipeline.metrics.consumer_lag.labels(topology.bare(topic)).set(behind)
