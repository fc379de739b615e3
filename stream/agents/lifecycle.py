"""Lifecycle agent: everything that changes one declaration, in the declaration's
partition. Reads declarations, inspections, releases, returns, their re-keyed
forwards, and the copy of every firm fact sent to this partition."""

from __future__ import annotations

from typing import Any

from schemas.events import FirmEvent, ReturnDeclared, parse_event
from schemas.outputs import ErrorCode
from stream.agents.common import Outlet, now, partition_for, provenance_of, start_agent
from stream.app import Pipeline
from stream.codec import loads
from stream.core.declaration import DeclarationView
from stream.core.eligibility import FirmHistory
from stream.core.ledger import Seen
from stream.core.lifecycle import DeclarationState, Step
from stream.ingest import Decoded, Provenance, decode
from stream.records import release_decision, status_update
from stream.topics import LIFECYCLE_INPUTS

FIRM_FACTS, REKEYED = "firm-facts", "lifecycle-rekeyed"


class Lifecycle:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.outlet = Outlet(pipeline)
        self.metrics = pipeline.metrics
        self.declarations = pipeline.table("declaration-state")
        # Firm histories are kept per partition (key "partition:firm_id"): each lifecycle
        # partition holds exactly the facts its own stream has delivered, and recovers
        # them from its own changelog partition. No GlobalTable is involved.
        self.firm_histories = pipeline.table("firm-history")
        self._firm_cache: dict[str, tuple[Any, FirmHistory]] = {}

    # -- firm facts ------------------------------------------------------------------

    def firm_history(self, partition: int, firm_id: str) -> FirmHistory | None:
        key = f"{partition}:{firm_id}"
        raw = self.firm_histories.get(key)
        if raw is None:
            return None
        cached = self._firm_cache.get(key)
        if cached is not None and (cached[0] is raw or cached[0] == raw):
            return cached[1]
        history = FirmHistory.from_json(raw)
        self._firm_cache[key] = (raw, history)
        return history

    def fold_firm_fact(self, partition: int, value: bytes) -> None:
        fact = parse_event(loads(value))
        if not isinstance(fact, FirmEvent | ReturnDeclared):
            raise TypeError(f"not a firm fact: {type(fact).__name__}")
        history = self.firm_history(partition, fact.firm_id) or FirmHistory()
        if history.add(fact):
            raw = history.to_json()
            key = f"{partition}:{fact.firm_id}"
            self.firm_histories[key] = raw
            self._firm_cache[key] = (raw, history)

    # -- lifecycle events ------------------------------------------------------------

    async def on_input(self, message: Any) -> None:
        where, original_key = provenance_of(self.pipeline, message)
        result = decode(where.topic, original_key, message.value)
        if not isinstance(result, Decoded):
            await self.outlet.dead_letter(where, message.value, result.code, result.detail)
            return
        event = result.event
        if partition_for(event.key, self.pipeline.topology.partitions) != message.partition:
            await self.outlet.forward(REKEYED, where, event.key, message.value, original_key)
            return
        self.metrics.events_in.labels(where.topic, type(event).__name__).inc()
        raw = self.declarations.get(event.key)
        state = DeclarationState.from_json(raw) if raw else DeclarationState(event.key)
        previous = state.published_view or {}
        firms = lambda firm_id: self.firm_history(message.partition, firm_id)  # noqa: E731
        step = state.apply(event, result.digest, where.ref, firms, self.pipeline.policy)
        if step.seen is not Seen.DUPLICATE:  # a duplicate leaves the state as it was
            self.declarations[event.key] = state.to_json()
        if step.seen is Seen.NEW:
            lag = (now() - event.occurred_at).total_seconds()
            self.metrics.event_time_lag.labels(where.topic).observe(max(lag, 0.0))
        if step.status is not None:
            self.count_changes(previous, step.status[0])
        await self.publish(state, step, where, message.value, event.event_id)

    def count_changes(self, previous: dict[str, Any], view: DeclarationView) -> None:
        before = previous.get("status")
        if view.status != before:
            self.metrics.status_transitions.labels(before or "NONE", view.status.value).inc()
        if view.on_schedule is not None and previous.get("on_schedule") is None:
            punctual = "true" if view.on_schedule else "false"
            self.metrics.departures.labels(view.port or "", punctual).inc()

    async def publish(
        self, state: DeclarationState, step: Step, where: Provenance, value: bytes | None,
        event_id: str,
    ) -> None:
        if step.seen is Seen.DUPLICATE:
            await self.outlet.duplicate(where, event_id)
            return
        if step.seen is Seen.CONFLICT:
            detail = f"event_id {event_id!r} was seen before for this key with other content"
            await self.outlet.dead_letter(where, value, ErrorCode.EVENT_ID_CONFLICT, detail)
            return
        self.metrics.events_applied.labels(where.topic).inc()
        await self.publish_changes(state, step)

    async def publish_changes(self, state: DeclarationState, step: Step) -> None:
        key, at = state.declaration_id, now()
        if step.status is not None:
            view, sequence = step.status
            await self.outlet.send("declaration-status", key, status_update(view, sequence, at))
            self.metrics.status_updates.labels(view.status.value).inc()
        if step.decision is not None:
            assessment, sequence = step.decision
            version = self.pipeline.policy.version
            record = release_decision(key, assessment, sequence, version, at)
            await self.outlet.send("release-decisions", key, record)
            self.metrics.decisions.labels(record.decision.value, record.channel.value).inc()
        if step.clearance is not None:
            (contribution,) = step.clearance
            port, channel, hours = contribution or (None, None, None)
            contribution_record = {
                "declaration_id": key, "port": port, "channel": channel, "hours": hours,
            }
            await self.outlet.send("clearances", key, contribution_record)
        if step.firm_fact is not None:
            fact = step.firm_fact.model_dump(mode="json")
            await self.outlet.broadcast(FIRM_FACTS, step.firm_fact.firm_id, fact)

    async def on_message(self, message: Any) -> None:
        if self.pipeline.topology.bare(message.topic) == FIRM_FACTS:
            self.fold_firm_fact(message.partition, message.value)
        else:
            await self.on_input(message)


def register(pipeline: Pipeline) -> Lifecycle:
    lifecycle = Lifecycle(pipeline)
    channel = pipeline.channel(*LIFECYCLE_INPUTS, REKEYED, FIRM_FACTS)

    start_agent(pipeline, "lifecycle", channel, lifecycle.outlet, lifecycle.on_message)
    return lifecycle
