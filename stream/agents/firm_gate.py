"""Firm facts first: while the firm side has a backlog, the declaration side waits.

Eligibility is taken as of each declaration's time. When the pipeline works through a
backlog (a start after downtime, a replay of history), its declarations would race two
hops ahead of the firm facts they depend on (``firms`` -> ``firm-facts``), be decided
without them, and be assessed again when they arrive: every late fact re-opening every
declaration of its firm, with a corrected status for each. Holding the declaration-side
partitions while the firm side is behind puts the facts in place first (Kafka Streams
keeps a task's inputs in step for the same reason). In real time the firm side has no
backlog and nothing is held; the outcome is the same either way, only the work differs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError

from stream.admin import BrokerUnavailable, group_lag
from stream.pipeline import Pipeline
from stream.topics import LIFECYCLE_INPUTS

log = logging.getLogger(__name__)
HOLD_ABOVE = 1_000  # firm-side messages not yet processed: hold the declaration side
RELEASE_AT = 100  # ... until the backlog is down to this
INTERVAL = 2.0  # seconds between two measurements
FIRM_SIDE = ("firms", "firms-rekeyed", "firm-facts")
HELD = (*LIFECYCLE_INPUTS, "lifecycle-rekeyed")


@dataclass
class FirmGate:
    holding: bool = True  # until the first measurement says otherwise

    def decide(self, backlog: int | None) -> bool:
        """Whether to hold, given the firm side's backlog (None: it could not be
        measured, and nothing is held on a guess)."""
        if backlog is None:
            self.holding = False
        elif self.holding:
            self.holding = backlog > RELEASE_AT
        else:
            self.holding = backlog > HOLD_ABOVE
        return self.holding


def register(pipeline: Pipeline) -> FirmGate:
    app, settings, topology = pipeline.app, pipeline.settings, pipeline.topology
    gate = FirmGate()
    firm_side = [topology.name(t) for t in FIRM_SIDE]
    held = {topology.name(t) for t in HELD}

    def keep_held(consumer: Any) -> None:
        """Faust's table recovery resumes every stream partition when it ends: on this
        consumer, a held partition stays paused until the gate opens."""
        if consumer.__dict__.get("_cs_firm_gate"):
            return
        faust_resume = consumer.resume_partitions

        def resume_partitions(tps: Any) -> None:
            faust_resume({tp for tp in tps if not (gate.holding and tp.topic in held)})

        consumer.resume_partitions = resume_partitions
        consumer.__dict__["_cs_firm_gate"] = True

    def apply() -> None:
        consumer: Any = app.consumer
        keep_held(consumer)
        partitions = {tp for tp in consumer.assignment() if tp.topic in held}
        # Applied again at every measurement: Faust puts a partition back in the fetch
        # set when its buffer drains, whatever paused it.
        if gate.holding:
            consumer.pause_partitions(partitions)
        else:
            consumer.resume_partitions(partitions & consumer._paused_partitions)
        pipeline.metrics.firm_gate_holding.set(1 if gate.holding else 0)

    @app.on_partitions_assigned.connect
    async def hold_new_partitions(*_: Any, **__: Any) -> None:
        apply()

    @app.task
    async def keep_firm_facts_first() -> None:
        while True:
            try:
                lag = await group_lag(settings.bootstrap_servers, settings.app_id, firm_side)
                backlog: int | None = sum(lag.values())
            except (KafkaError, BrokerUnavailable, KeyError, OSError) as exc:
                log.warning("firm backlog not measured (%s); not holding", exc)
                backlog = None
            was = gate.holding
            if gate.decide(backlog) != was:
                log.info("firm backlog %s: declaration side %s", backlog,
                         "held" if gate.holding else "released")
            apply()
            await asyncio.sleep(INTERVAL)

    return gate
