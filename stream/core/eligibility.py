"""Green-channel eligibility of a firm as of a time, from the history of its facts.

A firm's history is a set of facts (enrolments, withdrawals, certificates, revocations
and returns), each kept once by event id, so folding the same fact twice or in another
order gives the same history.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from schemas.events import (
    CertificateIssued,
    CertificateRevoked,
    Event,
    FirmEnrolled,
    FirmEvent,
    FirmWithdrawn,
    Line,
    ReturnDeclared,
    parse_event,
)
from schemas.outputs import Channel
from stream.core.policy import Policy

NOT_ENROLLED = "NOT_ENROLLED"
RECENT_RETURNS = "RECENT_RETURNS"
PORT_OUT_OF_SCOPE = "PORT_OUT_OF_SCOPE"
GOODS_OUT_OF_SCOPE = "GOODS_OUT_OF_SCOPE"

FirmFact = FirmEvent | ReturnDeclared
T = TypeVar("T")


def order_key(event: Event) -> tuple[datetime, str]:
    return (event.occurred_at, event.event_id)


def standing_returns(returns: Iterable[ReturnDeclared]) -> Iterator[ReturnDeclared]:
    """One return per return_id: the earliest by (occurred_at, event_id) stands."""
    standing: dict[str, ReturnDeclared] = {}
    for candidate in returns:
        current = standing.get(candidate.return_id)
        if current is None or order_key(candidate) < order_key(current):
            standing[candidate.return_id] = candidate
    return iter(standing.values())


def is_accepted(ret: ReturnDeclared, policy: Policy) -> bool:
    return (
        ret.return_district == ret.original_district
        or ret.return_district in policy.returns.inter_district_districts
    )


@dataclass
class FirmHistory:
    """Every fact known about one firm, by identity (see ``fact_key``)."""

    facts: dict[str, FirmFact] = field(default_factory=dict)
    # Derived from ``facts`` when first asked for, dropped when a fact is added.
    _index: FirmIndex | None = field(default=None, repr=False, compare=False)

    def add(self, fact: FirmFact) -> bool:
        """Fold a fact in; False when it was already known."""
        key = fact_key(fact)
        if key in self.facts:
            return False
        self.facts[key] = fact
        self._index = None
        return True

    @property
    def index(self) -> FirmIndex:
        if self._index is None:
            self._index = FirmIndex(self.facts.values())
        return self._index

    def of_type(self, kind: type[T]) -> list[T]:
        return self.index.of_type(kind)

    def to_json(self) -> list[dict[str, Any]]:
        return [fact.model_dump(mode="json") for fact in self.facts.values()]

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> FirmHistory:
        facts = [parse_event(d) for d in data]
        return cls({fact_key(f): f for f in facts if isinstance(f, FirmEvent | ReturnDeclared)})


class FirmIndex:
    """A history's facts arranged for questions "as of t": each answered by a search in
    a sorted list rather than a pass over every fact (a firm's returns pile up)."""

    def __init__(self, facts: Iterable[FirmFact]) -> None:
        ordered = sorted(facts, key=order_key)
        self._by_type: dict[type, list[Any]] = {}
        for fact in ordered:
            self._by_type.setdefault(type(fact), []).append(fact)
        # Enrolment changes per programme, in event-time order: (times, enrolled after).
        self.enrolment: dict[str, tuple[list[datetime], list[bool]]] = {}
        changes = (f for f in ordered if isinstance(f, FirmEnrolled | FirmWithdrawn))
        for change in changes:
            times, states = self.enrolment.setdefault(change.program, ([], []))
            times.append(change.occurred_at)
            states.append(isinstance(change, FirmEnrolled))
        # The latest issue of each certificate id, and when each id was first revoked.
        self.certificates = list({c.certificate_id: c for c in self.of_type(CertificateIssued)}
                                 .values())
        self.revoked_at: dict[str, datetime] = {}
        for revocation in self.of_type(CertificateRevoked):
            self.revoked_at.setdefault(revocation.certificate_id, revocation.occurred_at)
        self._accepted_returns: tuple[Policy, list[datetime]] | None = None

    def of_type(self, kind: type[T]) -> list[T]:
        return self._by_type.get(kind, [])

    def accepted_return_times(self, policy: Policy) -> list[datetime]:
        """When each standing return that counts under ``policy`` happened, sorted."""
        cached = self._accepted_returns
        if cached is None or cached[0] is not policy:
            standing = standing_returns(self.of_type(ReturnDeclared))
            times = sorted(r.occurred_at for r in standing if is_accepted(r, policy))
            cached = self._accepted_returns = (policy, times)
        return cached[1]


def fact_key(fact: FirmFact) -> str:
    """A fact's identity. Event ids are unique only within their key space: a firm's
    certification events by firm, a return by the declaration it returns."""
    if isinstance(fact, ReturnDeclared):
        return f"return:{fact.original_declaration_id}:{fact.event_id}"
    return f"firm:{fact.event_id}"


@dataclass(frozen=True)
class Eligibility:
    firm_id: str
    as_of: datetime
    reasons: tuple[str, ...]
    enrolled: bool
    certificates: dict[str, str | None]
    returns_in_lookback: int

    @property
    def channel(self) -> Channel:
        return Channel.STANDARD if self.reasons else Channel.GREEN


def _enrolled_at(history: FirmHistory, t: datetime, program: str) -> bool:
    times, states = history.index.enrolment.get(program, ([], []))
    last = bisect_right(times, t)  # the last change at or before t decides
    return last > 0 and states[last - 1]


def _valid_certificates(history: FirmHistory, t: datetime, standard: str) -> Iterator[str]:
    """The ids of the firm's certificates of ``standard`` valid at t, unrevoked."""
    # Certificate ids are unique within a firm; were one issued twice, the latest issue
    # (a correction or renewal) gives its validity.
    index = history.index
    return (
        cert.certificate_id
        for cert in index.certificates
        if cert.standard == standard
        and cert.valid_from <= t < cert.valid_until
        and not _revoked_by(index.revoked_at.get(cert.certificate_id), t)
    )


def _valid_certificate(history: FirmHistory, t: datetime, standard: str) -> str | None:
    return min(_valid_certificates(history, t, standard), default=None)


def _holds_certificate(history: FirmHistory, t: datetime, standard: str) -> bool:
    """Whether ``_valid_certificate`` finds one, without looking further."""
    return next(_valid_certificates(history, t, standard), None) is not None


def standing_at(
    history: FirmHistory | None, t: datetime, policy: Policy
) -> tuple[bool, tuple[bool, ...], bool]:
    """What the firm's own reasons at t are made of: enrolled, each required certificate
    held (in the policy's order), more returns in the look-back than allowed. Two
    histories give a firm the same reasons at t exactly when these are equal, and they
    cost half as much as the reasons (a late fact compares many instants)."""
    green = policy.green_channel
    history = history or FirmHistory()
    held = tuple(_holds_certificate(history, t, s) for s in green.required_certificates)
    too_many = _returns_in_lookback(history, t, policy) > green.max_returns
    return _enrolled_at(history, t, green.program), held, too_many


def _revoked_by(revoked_at: datetime | None, t: datetime) -> bool:
    return revoked_at is not None and revoked_at <= t


def _returns_in_lookback(history: FirmHistory, t: datetime, policy: Policy) -> int:
    since = t - timedelta(days=policy.green_channel.return_lookback_days)
    times = history.index.accepted_return_times(policy)
    return bisect_right(times, t) - bisect_left(times, since)


def firm_eligibility_at(
    firm_id: str, history: FirmHistory | None, t: datetime, policy: Policy
) -> Eligibility:
    """The firm's own standing at t: enrolment, certificates and returns (no goods)."""
    green = policy.green_channel
    history = history or FirmHistory()
    reasons: set[str] = set()
    enrolled = _enrolled_at(history, t, green.program)
    if not enrolled:
        reasons.add(NOT_ENROLLED)
    certificates = {s: _valid_certificate(history, t, s) for s in green.required_certificates}
    reasons.update(f"{s}_MISSING" for s, cert in certificates.items() if cert is None)
    returns = _returns_in_lookback(history, t, policy)
    if returns > green.max_returns:
        reasons.add(RECENT_RETURNS)
    return Eligibility(firm_id, t, tuple(sorted(reasons)), enrolled, certificates, returns)


def eligibility_at(
    firm_id: str,
    history: FirmHistory | None,
    t: datetime,
    port: str,
    port_area: str | None,
    lines: Sequence[Line],
    policy: Policy,
) -> Eligibility:
    """Whether the firm's goods take the green channel at time t, and why not."""
    green = policy.green_channel
    firm = firm_eligibility_at(firm_id, history, t, policy)
    reasons = set(firm.reasons)
    if not any(entry.covers(port, port_area) for entry in green.scope):
        reasons.add(PORT_OUT_OF_SCOPE)
    if not all(line.hs_code.startswith(green.hs_headings) for line in lines):
        reasons.add(GOODS_OUT_OF_SCOPE)
    return replace(firm, reasons=tuple(sorted(reasons)))

