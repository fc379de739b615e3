"""The what-if report: declarations folded in one at a time, into groups whose number
depends on ports, goods, reasons and firms, never on the number of declarations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.types import format_optional_instant
from stream.core.eligibility import FirmHistory, firm_eligibility_at
from stream.core.policy import Policy
from stream.tools.whatif.compare import Outcome
from stream.tools.whatif.distribution import Distribution, bin_labels

EXAMPLES = 5  # declaration ids shown per group of changes
MIN_SAMPLE = 5  # fewer observed clearances than this: the estimate widens its basis
ChangeKey = tuple[str, str, str, str, str, str, str]  # port, goods, channels, decisions, why
Move = tuple[str, str, str, str]  # port, goods, channel before, channel after


@dataclass
class Changes:
    declarations: int = 0
    firms: set[str] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.declarations += 1
        self.firms.add(outcome.firm_id)
        if len(self.examples) < EXAMPLES:
            self.examples.append(outcome.declaration_id)


@dataclass
class FirmMoves:
    to_green: int = 0
    to_standard: int = 0
    other: int = 0
    why: Counter[str] = field(default_factory=Counter)


@dataclass
class Report:
    baseline: Policy
    proposed: Policy
    decided: int = 0
    changed: int = 0
    latest: datetime | None = None
    changes: dict[ChangeKey, Changes] = field(default_factory=dict)
    observed: dict[tuple[str, str, str], Distribution] = field(default_factory=dict)
    moves: Counter[Move] = field(default_factory=Counter)
    inspections: Counter[tuple[str, str]] = field(default_factory=Counter)  # side, port
    sampling: Counter[tuple[str, str]] = field(default_factory=Counter)  # added/removed, port
    holds: Counter[tuple[str, str]] = field(default_factory=Counter)  # side, port
    firm_moves: dict[str, FirmMoves] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.decided += 1
        self.latest = max(self.latest or outcome.as_of, outcome.as_of)
        b, p, port = outcome.baseline, outcome.proposed, outcome.port
        hours = b.view.clearance_hours
        if hours is not None:  # what was observed, under the channel it was cleared in
            key = (port, outcome.category, b.channel.value)
            self.observed.setdefault(key, Distribution()).add(hours)
        for side, decided in (("baseline", b), ("proposed", p)):
            self.inspections[side, port] += decided.inspected
            self.holds[side, port] += decided.held
        if b.sampled != p.sampled:
            self.sampling["added" if p.sampled else "removed", port] += 1
        if outcome.changed:
            self._change(outcome)

    def _change(self, outcome: Outcome) -> None:
        b, p = outcome.baseline, outcome.proposed
        self.changed += 1
        key = (outcome.port, outcome.category, b.channel.value, p.channel.value,
               b.decision.value, p.decision.value, outcome.why)
        self.changes.setdefault(key, Changes()).add(outcome)
        moves = self.firm_moves.setdefault(outcome.firm_id, FirmMoves())
        moves.why[outcome.why] += 1
        if b.channel is p.channel:
            moves.other += 1
            return
        self.moves[outcome.port, outcome.category, b.channel.value, p.channel.value] += 1
        if p.channel.value == "GREEN":
            moves.to_green += 1
        else:
            moves.to_standard += 1

    # -- the report as JSON ----------------------------------------------------------

    def to_json(self, histories: Mapping[str, FirmHistory], at: datetime | None) -> dict[str, Any]:
        at = at or self.latest
        return {
            "declarations": self.decided,
            "changed": self.changed,
            "headlines": self.headlines(),
            "changes": self._changes_json(),
            "clearance": [self._effect(move, n) for move, n in sorted(self.moves.items())],
            "inspections": self._per_side(self.inspections) | {
                "sampling_added": sum(n for (k, _), n in self.sampling.items() if k == "added"),
                "sampling_removed": sum(
                    n for (k, _), n in self.sampling.items() if k == "removed"),
            },
            "document_holds": self._per_side(self.holds),
            "firms": self._firms_json(histories, at),
            "firms_as_of": format_optional_instant(at),
            "distributions": self._distributions_json(),
        }

    def headlines(self) -> list[str]:
        grouped: dict[tuple[str, str, str], Changes] = {}
        for (port, _, frm, to, b_dec, p_dec, why), changes in self.changes.items():
            what = f"{to.lower()}" if frm != to else f"{p_dec} rather than {b_dec}"
            merged = grouped.setdefault((port, what, why), Changes())
            merged.declarations += changes.declarations
            merged.firms |= changes.firms
        ordered = sorted(grouped.items(), key=lambda item: (-item[1].declarations, item[0]))
        return [
            f"{port}: {c.declarations} declaration{'s' * (c.declarations != 1)} from "
            f"{len(c.firms)} firm{'s' * (len(c.firms) != 1)} would have been {what} ({why})"
            for (port, what, why), c in ordered
        ]

    def _changes_json(self) -> list[dict[str, Any]]:
        ordered = sorted(self.changes.items(), key=lambda item: (-item[1].declarations, item[0]))
        return [
            {"port": port, "goods": goods, "channel": {"baseline": frm, "proposed": to},
             "decision": {"baseline": b_dec, "proposed": p_dec}, "why": why,
             "declarations": c.declarations, "firms": len(c.firms), "examples": c.examples}
            for (port, goods, frm, to, b_dec, p_dec, why), c in ordered
        ]

    @staticmethod
    def _per_side(counts: Counter[tuple[str, str]]) -> dict[str, Any]:
        ports = sorted({port for _, port in counts})
        return {
            "baseline": sum(n for (side, _), n in counts.items() if side == "baseline"),
            "proposed": sum(n for (side, _), n in counts.items() if side == "proposed"),
            "by_port": {port: {"baseline": counts["baseline", port],
                               "proposed": counts["proposed", port]} for port in ports},
        }

    def _sample(self, port: str, goods: str, channel: str) -> tuple[Distribution, str]:
        """The observed clearances the estimate rests on: the same port and goods when
        there are enough, else the same goods at every port, else the same port."""
        for basis, wanted in (
            ("same port and goods", lambda p, g: p == port and g == goods),
            ("same goods, every port", lambda p, g: g == goods),
            ("same port, all goods", lambda p, g: p == port),
            ("every declaration", lambda p, g: True),
        ):
            merged = Distribution()
            for (p, g, c), observed in self.observed.items():
                if c == channel and wanted(p, g):
                    merged.merge(observed)
            if merged.count >= MIN_SAMPLE or basis == "every declaration":
                return merged, basis
        raise AssertionError("unreachable")

    def _effect(self, move: Move, declarations: int) -> dict[str, Any]:
        port, goods, frm, to = move
        before, before_basis = self._sample(port, goods, frm)
        after, after_basis = self._sample(port, goods, to)
        change = None
        if before.mean is not None and after.mean is not None:
            change = round(after.mean - before.mean, 2)
        return {
            "port": port, "goods": goods, "channel": {"baseline": frm, "proposed": to},
            "declarations": declarations,
            "baseline": before.summary() | {"basis": before_basis},
            "proposed": after.summary() | {"basis": after_basis},
            "estimated_change_hours": change,
            "estimated_total_hours": None if change is None else round(change * declarations, 1),
        }

    def _firms_json(self, histories: Mapping[str, FirmHistory], at: datetime | None
                    ) -> list[dict[str, Any]]:
        listed = []
        for firm_id in sorted(histories.keys() | self.firm_moves.keys()):
            moves = self.firm_moves.get(firm_id, FirmMoves())
            before = after = None
            if at is not None:
                history = histories.get(firm_id)
                before = firm_eligibility_at(firm_id, history, at, self.baseline).reasons
                after = firm_eligibility_at(firm_id, history, at, self.proposed).reasons
            standing_moved = before is not None and (not before) != (not after)
            if not (standing_moved or moves.to_green or moves.to_standard):
                continue
            gains = (moves.to_green and not moves.to_standard) or (before and not after)
            loses = (moves.to_standard and not moves.to_green) or (after and not before)
            listed.append({
                "firm_id": firm_id,
                "change": "gains" if gains and not loses else "loses" if loses else "mixed",
                "declarations_to_green": moves.to_green,
                "declarations_to_standard": moves.to_standard,
                "standing": {"baseline": list(before or ()), "proposed": list(after or ())},
                "why": [why for why, _ in moves.why.most_common()],
            })
        return listed

    def _distributions_json(self) -> dict[str, Any]:
        merged: dict[tuple[str, str], Distribution] = {}
        for (port, _, channel), observed in sorted(self.observed.items()):
            merged.setdefault((port, channel), Distribution()).merge(observed)
        return {
            "bins": bin_labels(),
            "groups": [
                {"port": port, "channel": channel, "counts": d.binned()} | d.summary()
                for (port, channel), d in sorted(merged.items())
            ],
        }
