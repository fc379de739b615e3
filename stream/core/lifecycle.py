"""One declaration's state, and what applying an event to it changes.

The state holds the set of the declaration's events (and the returns of it), the
ledgers that tell repeats from new events, and what was last published, so that an
update is published only when the view changes, each with the next sequence number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from schemas.events import Event, LifecycleEvent, ReturnDeclared, parse_event
from schemas.types import format_optional_instant
from stream.core.declaration import Assessment, DeclarationView, FirmLookup, Timeline, view_of
from stream.core.forecast_basis import Basis, basis_of
from stream.core.ledger import Ledger, Seen
from stream.core.policy import Policy

Clearance = tuple[str, str, float]  # port, channel, hours


@dataclass
class Step:
    """What applying one message changed, for the adapter to publish."""

    seen: Seen
    status: tuple[DeclarationView, int] | None = None
    decision: tuple[Assessment, int] | None = None
    clearance: tuple[Clearance | None] | None = None  # (contribution,) when it changed
    basis: Basis | None = None  # the forecast basis, when it changed
    firm_fact: ReturnDeclared | None = None


def _listed(value: tuple[str, ...] | None) -> list[str] | None:
    return None if value is None else list(value)


def view_json(view: DeclarationView) -> dict[str, Any]:
    """The view as JSON values, in the order of its fields (written out field by field:
    ``asdict`` deep-copies, and a loop over ``fields`` costs twice this, every step)."""
    v = view
    return {
        "declaration_id": v.declaration_id, "firm_id": v.firm_id, "buyer_id": v.buyer_id,
        "buyer_reference": v.buyer_reference, "port": v.port, "port_area": v.port_area,
        "status": v.status, "channel": v.channel, "decision": v.decision,
        "decision_reasons": _listed(v.decision_reasons),
        "eligibility_reasons": _listed(v.eligibility_reasons),
        "declared_at": format_optional_instant(v.declared_at),
        "released_at": format_optional_instant(v.released_at),
        "clearance_hours": v.clearance_hours, "within_24h": v.within_24h,
        "departed_at": format_optional_instant(v.departed_at), "on_schedule": v.on_schedule,
        "returned": v.returned, "tax_refund_eligible": v.tax_refund_eligible,
    }


def _signature(assessment: Assessment) -> list[Any]:
    e = assessment.eligibility
    return [
        assessment.event_id, assessment.decision.kind.value, list(assessment.decision.reasons),
        e.channel.value, list(e.reasons), list(assessment.problems),
    ]


@dataclass
class DeclarationState:
    declaration_id: str
    ledger: Ledger = field(default_factory=Ledger)
    return_ledger: Ledger = field(default_factory=Ledger)
    events: dict[str, LifecycleEvent] = field(default_factory=dict)
    returns: dict[str, ReturnDeclared] = field(default_factory=dict)
    sequence: int = 0
    published_view: dict[str, Any] | None = None
    decision_sequence: int = 0
    published_decision: list[Any] | None = None
    published_clearance: Clearance | None = None
    published_basis: list[Any] | None = None  # the forecast basis' signature
    indexed_firm: str | None = None  # the firm this declaration is listed under
    indexed_at: str | None = None  # and the as-of time it was last listed with
    closing_day: str | None = None  # the day it is listed under among closed ones
    stored_bytes: int = 0  # the events' and returns' JSON forms, added up (the limits')
    # Not stored: the last assessment (reused while it holds) and each event's JSON form,
    # by its key space and id ("e:" a lifecycle event, "r:" a return: ids may be alike).
    _assessment: Assessment | None = field(default=None, repr=False, compare=False)
    _json: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)
    # Nor the events' timeline and their ids, made again only after an event is added.
    _timeline: Timeline | None = field(default=None, repr=False, compare=False)
    _event_ids: frozenset[str] | None = field(default=None, repr=False, compare=False)

    @property
    def firm_id(self) -> str | None:
        return self.published_view["firm_id"] if self.published_view else None

    def as_of(self) -> datetime | None:
        """The time eligibility is taken at: that of the content in force (the filing,
        or its latest amendment); None before a filing."""
        contents = self.timeline.contents()
        return contents[-1].occurred_at if contents else None

    @property
    def timeline(self) -> Timeline:
        """The events in event-time order (kept until the next event is added)."""
        if self._timeline is None:
            self._timeline = Timeline(self.events.values())
        return self._timeline

    def apply(
        self, event: Event, digest: str, ref: str, firms: FirmLookup, policy: Policy
    ) -> Step:
        """Fold one validated event in (``ref`` names the message it came in)."""
        is_return = isinstance(event, ReturnDeclared)
        ledger = self.return_ledger if is_return else self.ledger
        seen = ledger.check(event.event_id, digest, ref)
        if seen is Seen.REDELIVERED and ledger.outcome_of(ref) is not Seen.NEW:
            # Read again after a restart: say again what it was (a repeat or a conflict);
            # consumers know a record by its provenance, so saying it twice is harmless.
            return Step(ledger.outcome_of(ref))
        if seen is Seen.NEW:
            if not self._admit(event, policy):
                ledger.forget(event.event_id, ref)
                return Step(Seen.OVER_LIMIT)
            if isinstance(event, ReturnDeclared):
                self.returns[event.event_id] = event
            elif isinstance(event, LifecycleEvent):
                self.events[event.event_id] = event
                self._timeline = None
            self._event_ids = None
        if seen in (Seen.DUPLICATE, Seen.CONFLICT):
            return Step(seen)
        step = self.refresh(firms, policy, republish=seen is Seen.REDELIVERED)
        step.seen = seen
        if isinstance(event, ReturnDeclared):
            step.firm_fact = event
        return step

    def _admit(self, event: Event, policy: Policy) -> bool:
        """Whether a new event fits within the declaration's limits (and if it does, its
        size is counted). Which events fit depends on the order they arrive in: the one
        place besides event-id conflicts where arrival order decides what counts."""
        limits = policy.limits
        if self.event_count >= limits.max_events_per_declaration:
            return False
        size = len(orjson.dumps(self._json_of(event)))
        if self.stored_bytes + size > limits.max_declaration_bytes:
            self._json.pop(_json_key(event), None)
            return False
        self.stored_bytes += size
        return True

    @property
    def event_count(self) -> int:
        """How many events and returns the state holds (what the limits count)."""
        return len(self.events) + len(self.returns)

    @property
    def event_ids(self) -> frozenset[str]:
        """Every event the view is built from (each marked with its key space: a return's
        id and a lifecycle event's id may be the same text)."""
        if self._event_ids is None:
            self._event_ids = frozenset(f"e:{e}" for e in self.events) | frozenset(
                f"r:{r}" for r in self.returns
            )
        return self._event_ids

    def refresh(self, firms: FirmLookup, policy: Policy, republish: bool = False) -> Step:
        """Recompute the view; report what changed (everything, when ``republish``)."""
        step = Step(Seen.NEW)
        view, assessment = view_of(
            self.declaration_id, self.timeline, self.returns.values(), firms, policy,
            self._assessment,
        )
        self._assessment = assessment
        if view is not None:
            current = view_json(view)
            if current != self.published_view:
                self.sequence += 1
                self.published_view = current
                step.status = (view, self.sequence)
            elif republish:
                step.status = (view, self.sequence)
        if assessment is not None:
            signature = _signature(assessment)
            if signature != self.published_decision:
                self.decision_sequence += 1
                self.published_decision = signature
                step.decision = (assessment, self.decision_sequence)
            elif republish:
                step.decision = (assessment, self.decision_sequence)
        clearance = None
        if view is not None and view.clearance_hours is not None and view.port and view.channel:
            clearance = (view.port, view.channel.value, view.clearance_hours)
        if clearance != self.published_clearance or republish:
            self.published_clearance = clearance
            step.clearance = (clearance,)
        # The basis changes only with the view or the content in force (an amendment of
        # the goods changes the decision's signature): not looked for on other steps.
        if view is not None and (step.status or step.decision or republish):
            basis = basis_of(view, self.events.values())
            if basis is not None:
                signature = basis.signature()
                if signature != self.published_basis or republish:
                    self.published_basis = signature
                    step.basis = basis
        return step

    # -- storage --------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.declaration_id,
            "ledger": self.ledger.to_json(),
            "return_ledger": self.return_ledger.to_json(),
            "events": [self._json_of(e) for e in self.events.values()],
            "returns": [self._json_of(r) for r in self.returns.values()],
            "sequence": self.sequence,
            "view": self.published_view,
            "decision_sequence": self.decision_sequence,
            "decision": self.published_decision,
            "clearance": self.published_clearance,
            "basis": self.published_basis,
            "indexed_firm": self.indexed_firm,
            "indexed_at": self.indexed_at,
            "closing_day": self.closing_day,
            "stored_bytes": self.stored_bytes,
        }

    def _json_of(self, event: Event) -> dict[str, Any]:
        key = _json_key(event)
        stored = self._json.get(key)
        if stored is None:
            stored = self._json[key] = event.model_dump(mode="json")
        return stored

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeclarationState:
        events = [parse_event(e) for e in data["events"]]
        returns = [parse_event(r) for r in data["returns"]]
        clearance = data["clearance"]
        json_forms = {f"e:{d['event_id']}": d for d in data["events"]}
        json_forms.update({f"r:{d['event_id']}": d for d in data["returns"]})
        stored_bytes = data.get("stored_bytes")
        if stored_bytes is None:  # stored before the limits: count it once
            stored_bytes = sum(len(orjson.dumps(d)) for d in json_forms.values())
        return cls(
            declaration_id=data["id"],
            ledger=Ledger.from_json(data["ledger"]),
            return_ledger=Ledger.from_json(data["return_ledger"]),
            events={e.event_id: e for e in events if isinstance(e, LifecycleEvent)},
            returns={r.event_id: r for r in returns if isinstance(r, ReturnDeclared)},
            sequence=data["sequence"],
            published_view=data["view"],
            decision_sequence=data["decision_sequence"],
            published_decision=data["decision"],
            published_clearance=(clearance[0], clearance[1], clearance[2]) if clearance else None,
            published_basis=data.get("basis"),  # stored before the forecast: none yet
            indexed_firm=data.get("indexed_firm"),
            indexed_at=data.get("indexed_at"),
            closing_day=data.get("closing_day"),
            stored_bytes=stored_bytes,
            _json=json_forms,
        )


def _json_key(event: Event) -> str:
    return f"{'r' if isinstance(event, ReturnDeclared) else 'e'}:{event.event_id}"
