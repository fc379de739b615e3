"""Firms agent: validates firm facts once, in the firm's partition, and sends a copy of
each new fact to every lifecycle partition."""

from __future__ import annotations

from typing import Any

from stream.agents.common import Outlet, admitted, start_agent
from stream.core.ledger import Ledger, Seen
from stream.runtime.pipeline import Pipeline

REKEYED, FIRM_FACTS = "firms-rekeyed", "firm-facts"


class Firms:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.outlet = Outlet(pipeline)
        self.ledgers = pipeline.table("firm-ledger", self.outlet.outbox)

    async def on_message(self, message: Any) -> None:
        found = await admitted(self.pipeline, self.outlet, message, REKEYED)
        if found is None:
            return
        where, result = found
        event = result.event
        ledger = Ledger.from_json(self.ledgers.get(event.key))
        seen = ledger.check(event.event_id, result.digest, where.ref)
        if seen is Seen.NEW:  # a repeat changes nothing, and is not written
            self.ledgers[event.key] = ledger.to_json()
        if seen is Seen.REDELIVERED:  # read again after a restart: say again what it was
            seen = ledger.outcome_of(where.ref)
        if seen is Seen.DUPLICATE:
            await self.outlet.duplicate(where, event.event_id)
        elif seen is Seen.CONFLICT:
            await self.outlet.conflict(where, message.value, event.event_id)
        else:
            self.pipeline.metrics.events_applied.labels("firms").inc()
            await self.outlet.broadcast(FIRM_FACTS, event.key, event.model_dump(mode="json"))


def register(pipeline: Pipeline) -> Firms:
    firms = Firms(pipeline)
    subscription = pipeline.subscription("firms", REKEYED)

    start_agent(pipeline, "firms", subscription, firms.outlet, firms.on_message)
    return firms
