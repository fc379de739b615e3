"""The forecast of release replayed over an events file, in process (no broker): messages
admitted by the pipeline's own rules (``stream.ingest``, ``stream.core.lifecycle``) and
taken in event-time order; at every status change of an open declaration, the forecast
from the clearances observed until then, and the naive one beside it."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from schemas.events import Event, FirmEvent
from schemas.types import parse_instant
from stream.core.eligibility import FirmHistory
from stream.core.forecast import ClearanceHistory, ExpectedRelease, Group
from stream.core.forecast_basis import NOT_OPEN, group_of
from stream.core.lifecycle import DeclarationState
from stream.core.policy import Policy
from stream.ingest import Decoded, decode
from stream.tools.scenario import Message, iter_scenario


@dataclass(frozen=True)
class Forecast:
    """One forecast made during the check, with the naive one made at the same moment."""

    declaration_id: str
    made_at: datetime
    declared_at: datetime
    group: Group
    conditional: ExpectedRelease | None
    naive: ExpectedRelease | None


@dataclass
class EtaCheck:
    policy: Policy
    window_days: int = 90
    # Forecasts made in [since, until) are kept (None: that end open); the events before
    # ``since`` are the history they read, those after ``until`` tell when they came true.
    since: datetime | None = None
    until: datetime | None = None
    # Also forecast each open declaration this often after its filing (what a buyer who
    # polls the API sees), not only at its status changes; None: not.
    every: timedelta | None = None
    history: ClearanceHistory = field(init=False)
    states: dict[str, DeclarationState] = field(default_factory=dict)
    firms: dict[str, FirmHistory] = field(default_factory=dict)
    forecasts: list[Forecast] = field(default_factory=list)
    unreadable: int = 0
    # Clearances seen at the current instant: counted once time has moved past it (a
    # forecast reads only what was observed before its moment).
    _observed: list[tuple[Group, datetime, float]] = field(default_factory=list)
    _now: datetime | None = None
    _open: dict[str, tuple[Group, datetime]] = field(default_factory=dict)  # group, filed
    _due: list[tuple[datetime, str]] = field(default_factory=list)  # the next moments (heap)

    def __post_init__(self) -> None:
        self.history = ClearanceHistory(self.window_days)

    def run(self, messages: Iterable[Message]) -> None:
        admitted = sorted(self._admitted(messages), key=lambda a: (a[1].event.occurred_at, a[0]))
        for index, decoded in admitted:
            self._take(decoded.event, decoded.digest, f"message {index}")

    def _admitted(self, messages: Iterable[Message]) -> Iterator[tuple[int, Decoded]]:
        for index, message in enumerate(messages):
            result = decode(message.topic, message.key, message.value)
            if isinstance(result, Decoded):
                yield index, result
            else:
                self.unreadable += 1

    def _take(self, event: Event, digest: str, ref: str) -> None:
        t = event.occurred_at
        if self._now is not None and t > self._now:
            self._forecast_due(t)
            self._count_observed()
        self._now = t
        if isinstance(event, FirmEvent):
            self.firms.setdefault(event.firm_id, FirmHistory()).add(event)
            return
        declaration_id = event.key  # a return's is the declaration it returns
        state = self.states.setdefault(declaration_id, DeclarationState(declaration_id))
        before = state.published_view
        step = state.apply(event, digest, ref, self.firms.get, self.policy)
        if step.firm_fact is not None:
            self.firms.setdefault(step.firm_fact.firm_id, FirmHistory()).add(step.firm_fact)
        if step.status is None:
            return
        view, _ = step.status
        group = group_of(view, state.events.values())
        if group is None or view.declared_at is None:
            return
        if view.status in NOT_OPEN:
            self._open.pop(declaration_id, None)
        else:
            if declaration_id not in self._open and self.every is not None:
                heapq.heappush(self._due, (view.declared_at + self.every, declaration_id))
            self._open[declaration_id] = group, view.declared_at
        if before is not None and before["status"] == view.status.value:
            return
        if view.status in NOT_OPEN:
            if view.released_at is not None and view.clearance_hours is not None:
                self._observed.append((group, view.released_at, view.clearance_hours))
            return
        self._forecast(declaration_id, group, view.declared_at, t)

    def _forecast(self, declaration_id: str, group: Group, declared_at: datetime,
                  t: datetime) -> None:
        if (self.since is not None and t < self.since) or (self.until is not None
                                                           and t >= self.until):
            return
        self.forecasts.append(Forecast(
            declaration_id, t, declared_at, group,
            self.history.forecast(group, declared_at, t),
            self.history.forecast(group, declared_at, t, conditional=False),
        ))

    def _count_observed(self) -> None:
        """Count the clearances observed at the current instant (time moves past it)."""
        for observed, released_at, hours in self._observed:
            self.history.add(observed, released_at, hours)
        self._observed.clear()

    def _forecast_due(self, t: datetime) -> None:
        """The regular forecasts due before ``t``, each from what was observed before its
        moment (nothing happened between the current instant and ``t``)."""
        every = self.every
        while every is not None and self._due and self._due[0][0] < t:
            moment, declaration_id = heapq.heappop(self._due)
            if self._now is not None and moment > self._now:
                self._count_observed()
            known = self._open.get(declaration_id)
            if known is None:
                continue  # no longer open
            self._forecast(declaration_id, *known, moment)
            heapq.heappush(self._due, (moment + every, declaration_id))

    def released_at(self, declaration_id: str) -> datetime | None:
        """When the declaration was released, as the whole file tells (None: never)."""
        view = self.states[declaration_id].published_view
        if view is None or view["released_at"] is None:
            return None
        return parse_instant(view["released_at"])


def check_file(path: Path, policy: Policy, window_days: int = 90,
               since: datetime | None = None, until: datetime | None = None,
               every: timedelta | None = None) -> EtaCheck:
    check = EtaCheck(policy, window_days, since, until, every)
    check.run(step for step in iter_scenario(path) if isinstance(step, Message))
    return check
