"""Lifecycle agent: everything that changes one declaration, in the declaration's
partition. Reads declarations, inspections, releases, returns, their re-keyed
forwards, and the copy of every firm fact sent to this partition."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from schemas.events import (
    DeclarationAmended,
    DeclarationFiled,
    FirmEvent,
    ReturnDeclared,
    parse_event,
)
from schemas.outputs import ErrorCode
from schemas.types import format_instant
from stream.agents.cache import LruCache
from stream.agents.common import Outlet, admitted, now, start_agent
from stream.agents.firm_facts import PartitionFirms
from stream.agents.retention import Retention
from stream.codec import loads
from stream.core.declaration import DeclarationView
from stream.core.eligibility import FirmHistory
from stream.core.ledger import Seen
from stream.core.lifecycle import DeclarationState, Step
from stream.core.retention import expired
from stream.core.standing import effect_window, in_spans, standing_changes, without
from stream.ingest import Provenance
from stream.records import EVENTS_HEADER, encode_events, release_decision, status_update
from stream.runtime.pipeline import Pipeline
from stream.topics import LIFECYCLE_INPUTS

FIRM_FACTS, REKEYED = "firm-facts", "lifecycle-rekeyed"
CAUSED_BY = "x-caused-by"  # topic:partition:offset of the input behind an output
# Decoded declaration states kept in memory, least recent out: a decoded state takes
# about 16 KB, and a declaration's events come close together (on the benchmark's
# traffic, 5,000 states reuse 72.3% of loads, the most any size can: 72.4%).
STATE_CACHE_SIZE = 5_000
YIELD_EVERY = 20  # declarations looked at between two turns of the event loop (~70 ms)


class Lifecycle:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.outlet = Outlet(pipeline)
        self.metrics = pipeline.metrics
        self.declarations = pipeline.table("declaration-state", self.outlet.outbox)
        self.firms = PartitionFirms(pipeline, self.outlet.outbox)
        self._states: LruCache[DeclarationState] = LruCache(STATE_CACHE_SIZE)
        self.retention = Retention(pipeline, self.outlet.outbox, self.remove_if_expired)
        pipeline.app.on_partitions_revoked.connect(self._forget)
        pipeline.app.on_partitions_assigned.connect(self._forget)

    # -- firm facts ------------------------------------------------------------------

    async def on_firm_fact(self, partition: int, offset: int, value: bytes) -> None:
        """Fold a firm fact into this partition's history of the firm, then look again
        at the firm's declarations here: a fact that arrives late may change the
        eligibility they were decided with. The message that brought a fact, read again
        after a restart, re-assesses them all again, publishing every view anew: the run
        before may have stopped half way, with states saved and outputs not yet sent."""
        fact = parse_event(loads(value))
        if not isinstance(fact, FirmEvent | ReturnDeclared):
            raise TypeError(f"not a firm fact: {type(fact).__name__}")
        redelivered = False
        if not self.firms.fold(partition, fact, offset):
            redelivered = self.firms.brought_by(partition, fact, offset)
            if not redelivered:
                return  # another copy of a fact applied here already
        after = self.firms.history(partition, fact.firm_id) or FirmHistory()
        window = effect_window(fact, after, self.pipeline.policy)
        if window is None:
            return
        before, firms = without(after, fact), self.firm_lookup(partition)
        policy = self.pipeline.policy
        # The channel and decision depend on the facts only through the firm's standing:
        # only declarations whose as-of time falls where it changed are looked at (all of
        # the window's when read again: the run before may have stopped half way).
        spans = [window] if redelivered else standing_changes(
            fact.firm_id, before, after, window, policy)
        if not spans:
            return
        candidates = self.firms.declarations_of(partition, fact.firm_id, spans)
        for n, declaration_id in enumerate(candidates):
            if n and not n % YIELD_EVERY:
                # A firm with many declarations must not hold the loop, nor its outputs
                # (the seal hands them on, and waits while too many are held).
                await self.outlet.outbox.seal()
                await asyncio.sleep(0)
            state = self.load(declaration_id)
            t = state.as_of()
            step = None
            if t is not None and in_spans(spans, t):
                step = state.refresh(firms, policy, republish=redelivered)
            if step is None or not (step.status or step.decision or step.clearance):
                self.keep(state)
                continue
            self.save(state)
            self.metrics.reassessments.inc()
            await self.publish_changes(state, step, partition)

    def firm_lookup(self, partition: int) -> Any:
        return lambda firm_id: self.firms.history(partition, firm_id)

    # -- declaration state -----------------------------------------------------------

    def load(self, declaration_id: str) -> DeclarationState:
        """The declaration's state: the decoded one kept from its last use, else decoded
        from the table. Every write goes through ``save``, and what is kept is forgotten
        at every rebalance (a partition's table may then be restored from its changelog).
        The kept state is taken out while it is worked on, so a failure half-way cannot
        leave a half-changed state behind."""
        state = self._states.pop(declaration_id)
        if state is not None:
            return state
        raw = self.declarations.get(declaration_id)
        return DeclarationState(declaration_id) if raw is None else DeclarationState.from_json(raw)

    def save(self, state: DeclarationState) -> None:
        self.declarations[state.declaration_id] = state.to_json()
        self.keep(state)

    def keep(self, state: DeclarationState) -> None:
        """Keep a state (stored, or unchanged since it was loaded) for its next use."""
        self._states.put(state.declaration_id, state)

    def remove_if_expired(self, partition: int, declaration_id: str, before: datetime) -> None:
        """Remove a declaration closed before ``before`` from state, and from its firm's
        list (a declaration that changed since it was listed is left as it is)."""
        state = self.load(declaration_id)  # taken out of what is kept, either way
        if not expired(state, before):
            return
        del self.declarations[declaration_id]
        # Listed under the firm of its filing (the earliest; any filing may have been).
        firms = {e.firm_id for e in state.events.values() if isinstance(e, DeclarationFiled)}
        times = [e.occurred_at for e in state.events.values()
                 if isinstance(e, DeclarationFiled | DeclarationAmended)]
        for firm_id in sorted(firms):
            self.firms.forget_filings(partition, firm_id, declaration_id, times)
        self.metrics.declarations_removed.inc()

    async def _forget(self, *_: Any, **__: Any) -> None:
        self._states.clear()

    # -- lifecycle events ------------------------------------------------------------

    async def on_input(self, message: Any) -> None:
        found = await admitted(self.pipeline, self.outlet, message, REKEYED)
        if found is None:
            return
        where, result = found
        event = result.event
        state = self.load(event.key)
        previous = state.published_view or {}
        firms = self.firm_lookup(message.partition)
        step = state.apply(event, result.digest, where.ref, firms, self.pipeline.policy)
        if step.seen in (Seen.DUPLICATE, Seen.CONFLICT, Seen.OVER_LIMIT):
            self.keep(state)  # a repeat or a refusal changes nothing, and is not written
        else:
            if isinstance(event, DeclarationFiled | DeclarationAmended):
                # Only a filing or an amendment changes the firm or the as-of time.
                self.index_filing(message.partition, state)
            self.retention.note(message.partition, state)
            self.save(state)
        if step.seen is Seen.NEW:
            lag = (now() - event.occurred_at).total_seconds()
            self.metrics.event_time_lag.labels(where.topic).observe(max(lag, 0.0))
        if step.status is not None:
            self.count_changes(previous, step.status[0])
        await self.publish(state, step, where, message, event.event_id)
        await self.retention.advance(message.partition, event.occurred_at)

    def count_changes(self, previous: dict[str, Any], view: DeclarationView) -> None:
        before = previous.get("status")
        if view.status != before:
            self.metrics.status_transitions.labels(before or "NONE", view.status.value).inc()
        if view.on_schedule is not None and previous.get("on_schedule") is None:
            punctual = "true" if view.on_schedule else "false"
            port = self.pipeline.policy.port_label(view.port)
            self.metrics.departures.labels(port, punctual).inc()

    async def publish(
        self, state: DeclarationState, step: Step, where: Provenance, message: Any,
        event_id: str,
    ) -> None:
        if step.seen is Seen.DUPLICATE:
            await self.outlet.duplicate(where, event_id)
            return
        if step.seen is Seen.CONFLICT:
            await self.outlet.conflict(where, message.value, event_id)
            return
        if step.seen is Seen.OVER_LIMIT:
            limits = self.pipeline.policy.limits
            detail = (
                f"declaration {state.declaration_id} holds {state.event_count} events "
                f"({state.stored_bytes} bytes); the limits are "
                f"{limits.max_events_per_declaration} events, "
                f"{limits.max_declaration_bytes} bytes"
            )
            await self.outlet.dead_letter(
                where, message.value, ErrorCode.LIMIT_EXCEEDED, detail
            )
            return
        self.metrics.events_applied.labels(where.topic).inc()
        await self.publish_changes(state, step, message.partition, where)

    async def publish_changes(
        self, state: DeclarationState, step: Step, partition: int,
        cause: Provenance | None = None,
    ) -> None:
        """Publish what changed, to the declaration's ``partition`` (every topic keyed by
        declaration has as many as the inputs: the producer need not hash the key
        again); ``cause`` (the message that caused it) rides in a header."""
        key, at = state.declaration_id, now()
        headers = {CAUSED_BY: cause.ref.encode()} if cause else None
        if step.status is not None:
            view, sequence = step.status
            # The view's JSON form is at hand: the state keeps what it last published.
            current = state.published_view if state.published_view is not None else view
            update = status_update(current, sequence, at)
            shown = {EVENTS_HEADER: encode_events(state.event_ids)}
            await self.outlet.send(
                "declaration-status", key, update, partition,
                headers={**(headers or {}), **shown},
            )
            self.metrics.status_updates.labels(view.status.value).inc()
        if step.decision is not None:
            assessment, sequence = step.decision
            version = self.pipeline.policy.version
            record = release_decision(key, assessment, sequence, version, at)
            await self.outlet.send("release-decisions", key, record, partition, headers)
            self.metrics.decisions.labels(record["decision"], record["channel"]).inc()
        if step.clearance is not None:
            (contribution,) = step.clearance
            port, channel, hours = contribution or (None, None, None)
            contribution_record = {
                "declaration_id": key, "port": port, "channel": channel, "hours": hours,
            }
            await self.outlet.send("clearances", key, contribution_record, 0)  # one partition
        if step.basis is not None:
            await self.outlet.send("forecast-basis", key, step.basis.to_json(), partition)
        if step.firm_fact is not None:
            fact = step.firm_fact.model_dump(mode="json")
            await self.outlet.broadcast(FIRM_FACTS, step.firm_fact.firm_id, fact)

    def index_filing(self, partition: int, state: DeclarationState) -> None:
        """List the declaration under its firm with its as-of time, each time either
        changes (a filing, an amendment), so that a late firm fact can find it."""
        firm_id, as_of = state.firm_id, state.as_of()
        if firm_id is None or as_of is None:
            return
        listed = (firm_id, format_instant(as_of))
        if (state.indexed_firm, state.indexed_at) == listed:
            return
        self.firms.record_filing(partition, firm_id, state.declaration_id, as_of)
        state.indexed_firm, state.indexed_at = listed

    async def on_message(self, message: Any) -> None:
        if self.pipeline.topology.bare(message.topic) == FIRM_FACTS:
            await self.on_firm_fact(message.partition, message.offset, message.value)
        else:
            await self.on_input(message)


def register(pipeline: Pipeline) -> Lifecycle:
    lifecycle = Lifecycle(pipeline)
    subscription = pipeline.subscription(*LIFECYCLE_INPUTS, REKEYED, FIRM_FACTS)

    start_agent(pipeline, "lifecycle", subscription, lifecycle.outlet, lifecycle.on_message)
    return lifecycle
