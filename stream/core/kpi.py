"""Clearance KPIs per (port, channel), over every declaration with a clearance time."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sortedcontainers import SortedList


def rank_index(p: float, n: int) -> int:
    """Where the p-th percentile of ``n`` sorted values is, by nearest rank: ``ceil(p*n) - 1``."""
    return max(0, math.ceil(p * n) - 1)


def nearest_rank(ordered: SortedList | list[float], p: float) -> float:
    """The p-th percentile of sorted values by nearest rank: ``v[ceil(p*n) - 1]``."""
    return ordered[rank_index(p, len(ordered))]


@dataclass(frozen=True)
class Kpi:
    port: str
    channel: str
    released: int
    mean_clearance_hours: float
    p50_clearance_hours: float
    p95_clearance_hours: float
    within_24h_share: float


@dataclass
class ClearanceSample:
    """The sorted clearance times of one (port, channel), kept incrementally: adding,
    removing and reading a percentile each cost O(log n), so rebuilding n samples costs
    O(n log n)."""

    ordered: SortedList = field(default_factory=SortedList)
    total: float = 0.0
    within_24h: int = 0

    def add(self, hours: float) -> None:
        self.ordered.add(hours)
        self.total += hours
        self.within_24h += hours <= 24

    def remove(self, hours: float) -> None:
        if hours not in self.ordered:
            raise KeyError(hours)
        self.ordered.remove(hours)
        self.total -= hours
        self.within_24h -= hours <= 24

    def kpi(self, port: str, channel: str) -> Kpi | None:
        n = len(self.ordered)
        if n == 0:
            return None
        return Kpi(
            port=port,
            channel=channel,
            released=n,
            mean_clearance_hours=round(self.total / n, 2),
            p50_clearance_hours=nearest_rank(self.ordered, 0.50),
            p95_clearance_hours=nearest_rank(self.ordered, 0.95),
            within_24h_share=round(self.within_24h / n, 4),
        )


Group = tuple[str, str]


@dataclass
class KpiBook:
    """Every declaration's contribution, by declaration id, and the samples they form."""

    contributions: dict[str, tuple[Group, float]] = field(default_factory=dict)
    samples: dict[Group, ClearanceSample] = field(default_factory=dict)

    def record(self, declaration_id: str, group: Group | None, hours: float | None) -> set[Group]:
        """Set (or clear, with None) a declaration's contribution; return the groups
        whose KPI changed."""
        new = (group, hours) if group is not None and hours is not None else None
        old = self.contributions.get(declaration_id)
        if old == new:
            return set()
        changed: set[Group] = set()
        if old is not None:
            self.samples[old[0]].remove(old[1])
            changed.add(old[0])
            del self.contributions[declaration_id]
        if new is not None:
            self.samples.setdefault(new[0], ClearanceSample()).add(new[1])
            self.contributions[declaration_id] = new
            changed.add(new[0])
        return changed

    def kpi(self, group: Group) -> Kpi | None:
        sample = self.samples.get(group)
        return sample.kpi(*group) if sample else None
