"""One declaration under two policies: what the pipeline would have decided under each,
and in what words the difference is said. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from schemas.events import LifecycleEvent, ReturnDeclared
from schemas.outputs import Channel, DecisionKind
from stream.core.decision import RANDOM_SAMPLE
from stream.core.declaration import Assessment, DeclarationView, FirmLookup, Timeline, view_of
from stream.core.forecast import goods_category
from stream.core.policy import Policy


@dataclass(frozen=True)
class Side:
    """What the pipeline decides for one declaration under one policy."""

    view: DeclarationView
    assessment: Assessment

    @property
    def channel(self) -> Channel:
        return self.assessment.eligibility.channel

    @property
    def decision(self) -> DecisionKind:
        return self.assessment.decision.kind

    @property
    def sampled(self) -> bool:
        return RANDOM_SAMPLE in self.assessment.decision.reasons

    @property
    def inspected(self) -> bool:
        return self.decision is DecisionKind.INSPECTION_REQUIRED

    @property
    def held(self) -> bool:
        return self.decision is DecisionKind.DOCUMENT_HOLD


@dataclass(frozen=True)
class Outcome:
    declaration_id: str
    firm_id: str
    port: str
    category: str
    as_of: datetime  # the time eligibility is taken at: the content in force's
    baseline: Side
    proposed: Side

    @property
    def changed(self) -> bool:
        b, p = self.baseline, self.proposed
        return b.decision is not p.decision or b.channel is not p.channel

    @property
    def why(self) -> str:
        return why(self.baseline.assessment, self.proposed.assessment)


def why(baseline: Assessment, proposed: Assessment) -> str:
    """The difference between two assessments of one declaration, in the contract's
    reason codes: eligibility reasons lifted or added, document problems, sampling."""
    before, after = set(baseline.eligibility.reasons), set(proposed.eligibility.reasons)
    parts = [f"{r} lifted" for r in sorted(before - after)]
    parts += [f"{r} added" for r in sorted(after - before)]
    problems_before, problems_after = set(baseline.problems), set(proposed.problems)
    parts += [f"document {p} cleared" for p in sorted(problems_before - problems_after)]
    parts += [f"document {p} found" for p in sorted(problems_after - problems_before)]
    if not parts and baseline.decision.kind is not proposed.decision.kind:
        parts.append("inspection sampling rate")
    return ", ".join(parts) or "no change"


def outcome_of(
    declaration_id: str,
    events: Iterable[LifecycleEvent],
    returns: Iterable[ReturnDeclared],
    firms: FirmLookup,
    baseline: Policy,
    proposed: Policy,
) -> Outcome | None:
    """The declaration under both policies; None while it has no filing (nothing is
    decided without one)."""
    events, returns = list(events), list(returns)
    contents = Timeline(events).contents()
    b_view, b_assessment = view_of(declaration_id, events, returns, firms, baseline)
    if not contents or b_view is None or b_assessment is None:
        return None
    p_view, p_assessment = view_of(declaration_id, events, returns, firms, proposed)
    assert p_view is not None and p_assessment is not None  # the same filing decides both
    return Outcome(
        declaration_id=declaration_id,
        firm_id=b_view.firm_id or "",
        port=b_view.port or "",
        category=goods_category(contents[-1].lines),
        as_of=contents[-1].occurred_at,
        baseline=Side(b_view, b_assessment),
        proposed=Side(p_view, p_assessment),
    )
