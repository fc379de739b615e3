"""Clearance times of a group of declarations, kept in a size that does not grow with
their number: an exact count and sum, and a histogram of tenths of an hour (clearance
hours are given to hundredths), so quantiles are exact to 0.1 h."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

# Bins of the chart, in hours: up to 6 h, 6-12 h, ... more than 10 days.
CHART_BINS = (6, 12, 24, 48, 72, 120, 168, 240)


def bin_labels() -> list[str]:
    edges = (0, *CHART_BINS)
    labels = [f"{low}-{high} h" for low, high in pairwise(edges)]
    return [*labels, f"> {CHART_BINS[-1]} h"]


@dataclass
class Distribution:
    count: int = 0
    total: float = 0.0
    tenths: Counter[int] = field(default_factory=Counter)

    def add(self, hours: float) -> None:
        self.count += 1
        self.total += hours
        self.tenths[round(hours * 10)] += 1

    def merge(self, other: Distribution) -> None:
        self.count += other.count
        self.total += other.total
        self.tenths.update(other.tenths)

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def quantile(self, p: float) -> float | None:
        """Nearest rank, to a tenth of an hour."""
        if not self.count:
            return None
        rank, seen = max(1, -(-self.count * p // 100)), 0
        for tenth in sorted(self.tenths):
            seen += self.tenths[tenth]
            if seen >= rank:
                return tenth / 10
        raise AssertionError("unreachable: the counts add up to count")

    def binned(self) -> list[int]:
        counts = [0] * (len(CHART_BINS) + 1)
        for tenth, n in self.tenths.items():
            hours = tenth / 10
            counts[next((i for i, edge in enumerate(CHART_BINS) if hours < edge),
                        len(CHART_BINS))] += n
        return counts

    def summary(self) -> dict[str, Any]:
        mean = self.mean
        return {
            "sample": self.count,
            "mean_hours": None if mean is None else round(mean, 2),
            "p50_hours": self.quantile(50),
            "p95_hours": self.quantile(95),
        }
