"""Firms agent: validates firm facts once, in the firm's partition, and sends a copy of
each new fact to every lifecycle partition."""

from __future__ import annotations

from typing import Any

from schemas.outputs import ErrorCode
from stream.agents.common import Outlet, partition_for, provenance_of, start_agent
from stream.app import Pipeline
from stream.core.ledger import Ledger, Seen
from stream.ingest import Decoded, decode

REKEYED, FIRM_FACTS = "firms-rekeyed", "firm-facts"


class Firms:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.outlet = Outlet(pipeline)
        self.ledgers = pipeline.table("firm-ledger")

    async def on_message(self, message: Any) -> None:
        where, original_key = provenance_of(self.pipeline, message)
        result = decode("firms", original_key, message.value)
        if not isinstance(result, Decoded):
            await self.outlet.dead_letter(where, message.value, result.code, result.detail)
            return
        event = result.event
        if partition_for(event.key, self.pipeline.topology.partitions) != message.partition:
            await self.outlet.forward(REKEYED, where, event.key, message.value, original_key)
            return
        self.pipeline.metrics.events_in.labels("firms", type(event).__name__).inc()
        ledger = Ledger.from_json(self.ledgers.get(event.key))
        seen = ledger.check(event.event_id, result.digest, where.ref)
        self.ledgers[event.key] = ledger.to_json()  # every handled message, repeats too
        if seen is Seen.REDELIVERED:
            seen = ledger.outcome_of(where.ref)
            if seen is Seen.DUPLICATE:
                return  # its audit record went out the first time
        if seen is Seen.DUPLICATE:
            await self.outlet.duplicate(where, event.event_id)
        elif seen is Seen.CONFLICT:
            detail = f"event_id {event.event_id!r} was seen before for this firm with other content"
            await self.outlet.dead_letter(where, message.value, ErrorCode.EVENT_ID_CONFLICT, detail)
        else:
            self.pipeline.metrics.events_applied.labels("firms").inc()
            await self.outlet.broadcast(FIRM_FACTS, event.key, event.model_dump(mode="json"))


def register(pipeline: Pipeline) -> Firms:
    firms = Firms(pipeline)
    channel = pipeline.channel("firms", REKEYED)

    start_agent(pipeline, "firms", channel, firms.outlet, firms.on_message)
    return firms
