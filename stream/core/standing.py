"""What a new firm fact can change: the as-of times where it may change a firm's
standing, and the spans where it does, so that only the declarations decided inside them
are looked at again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from schemas.events import (
    CertificateIssued,
    CertificateRevoked,
    FirmEnrolled,
    FirmWithdrawn,
    ReturnDeclared,
)
from stream.core.eligibility import FirmFact, FirmHistory, fact_key, standing_at
from stream.core.policy import Policy

Window = tuple[datetime, datetime | None]  # as-of times start <= t < end (None: no end)


def effect_window(fact: FirmFact, history: FirmHistory, policy: Policy) -> Window | None:
    """The as-of times at which a fact, added to ``history``, can change the firm's
    standing; None when it can change none. Facts it may displace (another issue of a
    certificate id, another report of a return id) widen the window, so it is never
    narrower than the truth."""
    if isinstance(fact, FirmEnrolled | FirmWithdrawn | CertificateRevoked):
        return fact.occurred_at, None  # from then on
    if isinstance(fact, CertificateIssued):
        issues = [c for c in history.of_type(CertificateIssued)
                  if c.certificate_id == fact.certificate_id]
        return (min(c.valid_from for c in [fact, *issues]),
                max(c.valid_until for c in [fact, *issues]))
    if isinstance(fact, ReturnDeclared):
        reports = [r for r in history.of_type(ReturnDeclared) if r.return_id == fact.return_id]
        times = [r.occurred_at for r in [fact, *reports]]
        lookback = timedelta(days=policy.green_channel.return_lookback_days)
        return min(times), max(times) + lookback + timedelta(microseconds=1)
    return datetime.min.replace(tzinfo=fact.occurred_at.tzinfo), None  # unknown: any time


def in_window(window: Window, t: datetime) -> bool:
    start, end = window
    return start <= t and (end is None or t < end)


def without(history: FirmHistory, fact: FirmFact) -> FirmHistory:
    """The history as it was before ``fact``."""
    key = fact_key(fact)
    return FirmHistory({k: f for k, f in history.facts.items() if k != key})


def standing_changed(
    firm_id: str, before: FirmHistory, after: FirmHistory, t: datetime, policy: Policy
) -> bool:
    """Whether the firm's own eligibility as of ``t`` differs between two histories (a
    declaration's channel and decision depend on the facts only through it): whether
    ``firm_eligibility_at`` gives other reasons, told by what the reasons are made of."""
    return standing_at(before, t, policy) != standing_at(after, t, policy)


def turning_points(history: FirmHistory, policy: Policy) -> set[datetime]:
    """Every time at which the firm's standing under ``history`` may change: between
    two consecutive ones it is constant. A return counts from its time up to and
    including the end of the lookback, so it stops counting a microsecond later (the
    resolution of the times)."""
    index = history.index
    points = {t for times, _ in index.enrolment.values() for t in times}
    for cert in index.certificates:
        points.update((cert.valid_from, cert.valid_until))
    points.update(index.revoked_at.values())
    lookback = timedelta(days=policy.green_channel.return_lookback_days, microseconds=1)
    for returned_at in index.accepted_return_times(policy):
        points.update((returned_at, returned_at + lookback))
    return points


def standing_changes(
    firm_id: str, before: FirmHistory, after: FirmHistory, window: Window, policy: Policy
) -> list[Window]:
    """The as-of times within ``window`` at which the firm's standing differs between
    two histories, as disjoint spans in time order. The standing is constant between
    the turning points of either history, so one look per stretch tells: the cost is in
    the firm's facts, not in its declarations."""
    start, end = window
    inside = sorted(
        p for p in turning_points(before, policy) | turning_points(after, policy)
        if start < p and (end is None or p < end)
    )
    spans: list[Window] = []
    for low, high in zip([start, *inside], [*inside, end], strict=True):
        if not standing_changed(firm_id, before, after, low, policy):
            continue
        if spans and spans[-1][1] == low:
            spans[-1] = (spans[-1][0], high)
        else:
            spans.append((low, high))
    return spans


def in_spans(spans: Sequence[Window], t: datetime) -> bool:
    return any(in_window(span, t) for span in spans)
