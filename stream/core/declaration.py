"""A declaration's view as a function of the set of its events.

Events are taken in event-time order, ``(occurred_at, event_id)``, so the view does not
depend on the order in which messages arrived, nor on repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from schemas.events import (
    BondedZoneEntered,
    DeclarationAmended,
    DeclarationFiled,
    DeclarationWithdrawn,
    GoodsDeparted,
    GoodsReleased,
    InspectionCompleted,
    InspectionOrdered,
    InspectionScheduled,
    LifecycleEvent,
    ReturnDeclared,
)
from schemas.outputs import Channel, DecisionKind, Status
from stream.core.decision import Decision, decide
from stream.core.eligibility import (
    Eligibility,
    FirmHistory,
    eligibility_at,
    is_accepted,
    order_key,
    standing_returns,
)
from stream.core.policy import Policy
from stream.core.validation import problems_of

FirmLookup = Callable[[str], FirmHistory | None]
E = TypeVar("E", bound=LifecycleEvent)


@dataclass(frozen=True)
class Assessment:
    """Validation, eligibility and decision for the latest filing or amendment."""

    event_id: str
    problems: tuple[str, ...]
    eligibility: Eligibility
    decision: Decision
    # What it was computed from: the filing, and how many facts the firm's history held
    # (histories only grow, so the count names the version).
    filing_id: str = ""
    firm_facts: int = 0

    def still_holds(self, filing_id: str, content_id: str, firm_facts: int) -> bool:
        return (self.filing_id, self.event_id, self.firm_facts) == (
            filing_id, content_id, firm_facts
        )


@dataclass(frozen=True)
class DeclarationView:
    """What a buyer sees of one declaration: the fields of a StatusUpdate."""

    declaration_id: str
    firm_id: str | None
    buyer_id: str | None
    buyer_reference: str | None
    port: str | None
    port_area: str | None
    status: Status
    channel: Channel | None
    decision: DecisionKind | None
    decision_reasons: tuple[str, ...] | None
    eligibility_reasons: tuple[str, ...] | None
    declared_at: datetime | None
    released_at: datetime | None
    clearance_hours: float | None
    within_24h: bool | None
    departed_at: datetime | None
    on_schedule: bool | None
    returned: bool
    tax_refund_eligible: bool


def clearance_hours(declared_at: datetime | None, released_at: datetime | None) -> float | None:
    if declared_at is None or released_at is None:
        return None
    return round((released_at - declared_at) / timedelta(hours=1), 2)


class Timeline:
    """A declaration's events in event-time order, grouped by type in one pass."""

    def __init__(self, events: Iterable[LifecycleEvent]) -> None:
        self.ordered = sorted(events, key=order_key)
        self._by_type: dict[type[LifecycleEvent], list[LifecycleEvent]] = {}
        for event in self.ordered:
            self._by_type.setdefault(type(event), []).append(event)
        self._contents: list[DeclarationFiled | DeclarationAmended] | None = None

    def all(self, kind: type[E]) -> list[E]:
        return self._by_type.get(kind, [])  # type: ignore[return-value]

    def first(self, kind: type[E]) -> E | None:
        found = self.all(kind)
        return found[0] if found else None

    def contents(self) -> list[DeclarationFiled | DeclarationAmended]:
        """Filings and amendments, in event-time order."""
        if self._contents is None:
            self._contents = [
                e for e in self.ordered if isinstance(e, DeclarationFiled | DeclarationAmended)
            ]
        return self._contents


def _status(
    timeline: Timeline,
    filing: DeclarationFiled | None,
    problems: tuple[str, ...],
    returned: bool,
) -> Status:
    release = timeline.first(GoodsReleased)
    withdrawals = timeline.all(DeclarationWithdrawn)
    if any(release is None or w.occurred_at < release.occurred_at for w in withdrawals):
        return Status.WITHDRAWN
    if returned:
        return Status.RETURNED
    if timeline.first(GoodsDeparted) is not None:
        return Status.DEPARTED
    if release is not None:
        return Status.RELEASED
    completed = timeline.all(InspectionCompleted)
    if completed:
        passed = completed[-1].result == "PASSED"
        return Status.INSPECTION_PASSED if passed else Status.INSPECTION_FAILED
    if timeline.first(InspectionScheduled) is not None:
        return Status.INSPECTION_SCHEDULED
    if timeline.first(InspectionOrdered) is not None:
        return Status.INSPECTION_ORDERED
    if filing is None:
        return Status.AWAITING_DECLARATION
    return Status.DOCUMENT_HOLD if problems else Status.ACCEPTED


def assess(
    declaration_id: str,
    filing: DeclarationFiled,
    content: DeclarationFiled | DeclarationAmended,
    firms: FirmLookup,
    policy: Policy,
) -> Assessment:
    """Validate the effective content and decide, with eligibility as of its time."""
    history = firms(filing.firm_id)
    problems = tuple(problems_of(content.lines, content.documents, policy))
    eligibility = eligibility_at(
        filing.firm_id, history, content.occurred_at,
        filing.port, filing.port_area, content.lines, policy,
    )
    decision = decide(declaration_id, problems, content.lines, eligibility.channel, policy)
    facts = len(history.facts) if history else 0
    return Assessment(content.event_id, problems, eligibility, decision, filing.event_id, facts)


def returned(returns: Iterable[ReturnDeclared], policy: Policy) -> bool:
    return any(is_accepted(r, policy) for r in standing_returns(returns))


def view_of(
    declaration_id: str,
    events: Iterable[LifecycleEvent] | Timeline,
    returns: Iterable[ReturnDeclared],
    firms: FirmLookup,
    policy: Policy,
    previous: Assessment | None = None,
) -> tuple[DeclarationView | None, Assessment | None]:
    """The view and the assessment; no view while no lifecycle event is known.

    ``previous`` is reused when it was made from the same filing, content and firm facts
    (most events change neither, and assessing is most of the work). ``events`` may come
    as their timeline, when the caller keeps one."""
    timeline = events if isinstance(events, Timeline) else Timeline(events)
    if not timeline.ordered:
        return None, None
    filing = timeline.first(DeclarationFiled)
    assessment = None
    if filing is not None:
        content = timeline.contents()
        history = firms(filing.firm_id)
        facts = len(history.facts) if history else 0
        if previous is not None and previous.still_holds(
            filing.event_id, content[-1].event_id, facts
        ):
            assessment = previous
        else:
            assessment = assess(declaration_id, filing, content[-1], firms, policy)
    problems = assessment.problems if assessment else ()
    is_returned = returned(returns, policy)
    declared_at = filing.occurred_at if filing else None
    release = timeline.first(GoodsReleased)
    released_at = release.occurred_at if release else None
    departure = timeline.first(GoodsDeparted)
    departed_at = departure.occurred_at if departure else None
    hours = clearance_hours(declared_at, released_at)
    on_schedule = None
    if departed_at is not None and filing is not None and filing.scheduled_departure:
        grace = timedelta(hours=policy.on_schedule_grace_hours)
        on_schedule = departed_at <= filing.scheduled_departure + grace
    view = DeclarationView(
        declaration_id=declaration_id,
        firm_id=filing.firm_id if filing else None,
        buyer_id=filing.buyer_id if filing else None,
        buyer_reference=filing.buyer_reference if filing else None,
        port=filing.port if filing else None,
        port_area=filing.port_area if filing else None,
        status=_status(timeline, filing, problems, is_returned),
        channel=assessment.eligibility.channel if assessment else None,
        decision=assessment.decision.kind if assessment else None,
        decision_reasons=assessment.decision.reasons if assessment else None,
        eligibility_reasons=assessment.eligibility.reasons if assessment else None,
        declared_at=declared_at,
        released_at=released_at,
        clearance_hours=hours,
        within_24h=None if hours is None else hours <= 24,
        departed_at=departed_at,
        on_schedule=on_schedule,
        returned=is_returned,
        tax_refund_eligible=timeline.first(BondedZoneEntered) is not None,
    )
    return view, assessment
