"""How well the forecasts of an eta check came true: coverage of [p10, p90], the share
released by p50, the reliability of ``p_within_24h`` (by deciles, and its Brier score),
the mean width of [p10, p90]; for the conditional forecast and the naive one, overall
and per port and channel. Only forecasts of declarations later released are scored."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.types import format_instant, format_optional_instant
from stream.core.forecast import ExpectedRelease
from stream.tools.eta.check import EtaCheck, Forecast

COVERAGE_TARGET = (0.75, 0.85)  # the share of releases inside [p10, p90]
MEDIAN_TARGET = (0.45, 0.55)  # the share released at or before p50
ENOUGH = 200  # scored forecasts below which the targets are not judged
HOUR = timedelta(hours=1)


@dataclass
class Score:
    """The calibration of a set of forecasts against what happened."""

    n: int = 0
    inside: int = 0
    by_p50: int = 0
    squared: float = 0.0  # the Brier score's sum
    width_hours: float = 0.0
    deciles: list[list[float]] = field(default_factory=lambda: [[0, 0.0, 0] for _ in range(10)])

    def add(self, forecast: ExpectedRelease, released_at: datetime, within_24h: bool) -> None:
        self.n += 1
        self.inside += forecast.p10_at <= released_at <= forecast.p90_at
        self.by_p50 += released_at <= forecast.p50_at
        self.squared += (forecast.p_within_24h - within_24h) ** 2
        self.width_hours += (forecast.p90_at - forecast.p10_at) / HOUR
        decile = self.deciles[min(9, int(forecast.p_within_24h * 10))]
        decile[0] += 1
        decile[1] += forecast.p_within_24h
        decile[2] += within_24h

    def to_json(self) -> dict[str, Any]:
        n = self.n or 1
        return {
            "scored": self.n,
            "coverage_p10_p90": round(self.inside / n, 4) if self.n else None,
            "share_before_p50": round(self.by_p50 / n, 4) if self.n else None,
            "brier_24h": round(self.squared / n, 4) if self.n else None,
            "mean_width_hours": round(self.width_hours / n, 2) if self.n else None,
            "reliability_24h": [
                {"decile": f"{i / 10:.1f}-{(i + 1) / 10:.1f}", "forecasts": int(count),
                 "mean_p": round(total / count, 4), "released_within_24h": round(hits / count, 4)}
                for i, (count, total, hits) in enumerate(self.deciles) if count
            ],
        }

    @property
    def meets_targets(self) -> bool:
        if self.n < ENOUGH:
            return False
        coverage, median = self.inside / self.n, self.by_p50 / self.n
        return (COVERAGE_TARGET[0] <= coverage <= COVERAGE_TARGET[1]
                and MEDIAN_TARGET[0] <= median <= MEDIAN_TARGET[1])


def report(check: EtaCheck) -> dict[str, Any]:
    """The check's report as JSON values (the ``--json`` document)."""
    conditional, naive = Score(), Score()
    waited_conditional, waited_naive = Score(), Score()  # made after the filing moment
    groups: dict[str, tuple[Score, Score]] = defaultdict(lambda: (Score(), Score()))
    made = unforecast = unreleased = 0
    listed: list[dict[str, Any]] = []
    for f in check.forecasts:
        made += 1
        released_at = check.released_at(f.declaration_id)
        listed.append(_listed(f, released_at))
        if f.conditional is None:
            unforecast += 1
            continue
        if released_at is None:
            unreleased += 1
            continue
        within = _within_24h(check, f.declaration_id)
        by_group = groups[f"{f.group.port}/{f.group.channel}"]
        pairs = [(conditional, f.conditional), (naive, f.naive),
                 (by_group[0], f.conditional), (by_group[1], f.naive)]
        if f.made_at > f.declared_at:  # where the two may differ: time has been waited
            pairs += [(waited_conditional, f.conditional), (waited_naive, f.naive)]
        for score, forecast in pairs:
            if forecast is not None:
                score.add(forecast, released_at, within)
    summary = conditional.to_json()
    return {
        "forecasts_made": made,
        "insufficient_history": unforecast,
        "never_released": unreleased,
        **summary,
        "meets_targets": conditional.meets_targets,
        "sharper_than_naive": _sharper(conditional, naive),
        "naive": naive.to_json(),
        "after_waiting": {"conditional": waited_conditional.to_json(),
                          "naive": waited_naive.to_json(),
                          "sharper_than_naive": _sharper(waited_conditional, waited_naive)},
        "by_port_and_channel": {
            name: {"conditional": c.to_json(), "naive": n.to_json()}
            for name, (c, n) in sorted(groups.items())
        },
        "unreadable_messages": check.unreadable,
        "forecasts": listed,
    }


def _sharper(conditional: Score, naive: Score) -> bool | None:
    if not conditional.n or not naive.n:
        return None
    return conditional.width_hours / conditional.n < naive.width_hours / naive.n


def _within_24h(check: EtaCheck, declaration_id: str) -> bool:
    view = check.states[declaration_id].published_view
    return bool(view and view["within_24h"])


def _listed(made: Forecast, released_at: datetime | None) -> dict[str, Any]:
    forecast = made.conditional
    entry: dict[str, Any] = {"declaration_id": made.declaration_id,
                             "declared_at": format_instant(made.declared_at),
                             "made_at": format_instant(made.made_at)}
    if forecast is None:
        entry.update(p10_at=None, p50_at=None, p90_at=None, p_within_24h=None,
                     reason="INSUFFICIENT_HISTORY")
    else:
        body = forecast.to_json()
        entry.update({k: body[k] for k in ("p10_at", "p50_at", "p90_at", "p_within_24h")})
        entry["basis"] = body["basis"]
    entry["released_at"] = format_optional_instant(released_at)
    return entry


def lines(document: dict[str, Any]) -> Iterable[str]:
    """The report for a terminal."""
    def figures(score: dict[str, Any]) -> str:
        if not score["scored"]:
            return "nothing to score"
        return (f"{score['scored']} scored; inside [p10, p90] {score['coverage_p10_p90']:.1%} "
                f"(target 80% ± 5), released by p50 {score['share_before_p50']:.1%} "
                f"(target 50% ± 5), Brier (24 h) {score['brier_24h']:.4f}, "
                f"mean width {score['mean_width_hours']:.1f} h")

    yield (f"eta-check: {document['forecasts_made']} forecasts made, "
           f"{document['insufficient_history']} without enough history, "
           f"{document['never_released']} of declarations never released")
    yield f"conditional: {figures(document)}"
    yield f"naive:       {figures(document['naive'])}"
    verdict = "yes" if document["meets_targets"] else (
        f"no (fewer than {ENOUGH} scored)" if document["scored"] < ENOUGH else "no")
    yield f"meets the calibration targets: {verdict}; " \
          f"sharper than the naive forecast: {_yes(document['sharper_than_naive'])}"
    waited = document["after_waiting"]
    yield "made after some time waited (at filing the two forecasts are the same):"
    yield f"  conditional: {figures(waited['conditional'])}"
    yield f"  naive:       {figures(waited['naive'])}"
    yield "p_within_24h by decile (forecasts, mean p, released within 24 h):"
    for row in document["reliability_24h"]:
        yield (f"  {row['decile']}: {row['forecasts']}, {row['mean_p']:.3f}, "
               f"{row['released_within_24h']:.3f}")
    yield "per port and channel (conditional | naive):"
    for name, pair in document["by_port_and_channel"].items():
        yield f"  {name}: {figures(pair['conditional'])}"
        yield f"  {' ' * len(name)}  naive: {figures(pair['naive'])}"


def _yes(value: bool | None) -> str:
    return "n/a" if value is None else "yes" if value else "no"
