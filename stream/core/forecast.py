"""Expected release: when an open declaration is likely to be released, and how sure that
is (DOMAIN.md, "Expected release"). Pure: the history is what the caller has observed.

A forecast at ``t`` for a declaration filed at ``declared_at`` that has waited
``w = t - declared_at`` reads the clearances of its group observed before ``t`` (released
in the window, the last 90 days of stream time) that took at least ``w``: their
nearest-rank 10th, 50th and 90th percentiles, added to ``declared_at``, and the share of
them within 24 hours. Its group is (port, channel, goods, inspection ordered), falling
back to (port, channel, goods), (channel, goods) and (port, channel) while fewer than 20
clearances qualify; none at the last level: no forecast (``INSUFFICIENT_HISTORY``).

Clearance hours have two decimals, so the history is counts per hundredth of an hour in
buckets per day of release: exact, and bounded by the distinct figures a window holds, not
by the declarations. Each level's window is also kept as a sorted list, so a forecast
takes logarithmic time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sortedcontainers import SortedList

from schemas.events import Line
from schemas.types import format_instant
from stream.core.kpi import rank_index

MIXED = "mixed"  # the goods of a declaration whose lines are of several categories
MIN_CLEARANCES = 20  # fewer qualifying clearances than this: the next, coarser group
WINDOW_DAYS = 90
INSUFFICIENT_HISTORY = "INSUFFICIENT_HISTORY"
HUNDREDTH = timedelta(hours=1) / 100  # 36 s: the unit of clearance_hours' two decimals
DAY_ONE = 24 * 100  # 24 hours, in hundredths
QUANTILES = (0.10, 0.50, 0.90)
# The levels of a group, finest first: which of its parts each one keeps.
LEVELS: tuple[tuple[str, ...], ...] = (
    ("port", "channel", "goods", "inspected"),
    ("port", "channel", "goods"),
    ("channel", "goods"),
    ("port", "channel"),
)


def goods_category(lines: Sequence[Line]) -> str:
    """The lines' product category, or ``mixed`` when they are of several."""
    categories = {line.product_category for line in lines}
    return categories.pop() if len(categories) == 1 else MIXED


@dataclass(frozen=True)
class Group:
    """What a declaration's clearance time is compared by."""

    port: str
    channel: str
    goods: str
    inspected: bool  # an inspection ordered (as known at the time)

    def levels(self) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
        """Each level's key (for counting) and its parts (for saying), finest first."""
        parts = {"port": self.port, "channel": self.channel, "goods": self.goods,
                 "inspected": self.inspected}
        for names in LEVELS:
            kept = {name: parts[name] for name in names}
            yield ("/".join(names), *(str(v) for v in kept.values())), kept


@dataclass(frozen=True)
class ExpectedRelease:
    """A forecast; ``group``/``n``: the clearances it was made from, ``as_of``: when."""

    p10_at: datetime
    p50_at: datetime
    p90_at: datetime
    p_within_24h: float
    group: dict[str, Any]
    n: int
    as_of: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "p10_at": format_instant(self.p10_at), "p50_at": format_instant(self.p50_at),
            "p90_at": format_instant(self.p90_at), "p_within_24h": self.p_within_24h,
            "basis": {"group": self.group, "n": self.n, "as_of": format_instant(self.as_of)},
        }


def hundredths(clearance_hours: float) -> int:
    return round(clearance_hours * 100)


def waited(declared_at: datetime, t: datetime) -> int:
    """The fewest hundredths of an hour a clearance may take to count as having taken
    at least ``t - declared_at`` (exact: whole microseconds, no float)."""
    elapsed = (t - declared_at) // timedelta(microseconds=1)
    unit = HUNDREDTH // timedelta(microseconds=1)
    return max(0, -(-elapsed // unit))


@dataclass
class _Level:
    """One group at one level: its window by day of release, and sorted."""

    days: dict[int, Counter[int]] = field(default_factory=dict)
    figures: SortedList = field(default_factory=SortedList)


@dataclass
class ClearanceHistory:
    """Clearances observed so far, per group at every level, over a sliding window."""

    window_days: int = WINDOW_DAYS
    levels: dict[tuple[str, ...], _Level] = field(default_factory=dict)
    today: int | None = None  # the latest day of stream time seen

    def add(self, group: Group, released_at: datetime, clearance_hours: float) -> None:
        day, figure = day_of(released_at), hundredths(clearance_hours)
        self.advance(released_at)
        if self.today is not None and day <= self.today - self.window_days:
            return  # already out of the window
        for key, _ in group.levels():
            level = self.levels.setdefault(key, _Level())
            level.days.setdefault(day, Counter())[figure] += 1
            level.figures.add(figure)

    def remove(self, group: Group, released_at: datetime, clearance_hours: float) -> None:
        """Forget a clearance added before (one that changed, or was said again)."""
        day, figure = day_of(released_at), hundredths(clearance_hours)
        for key, _ in group.levels():
            level = self.levels.get(key)
            bucket = level.days.get(day) if level is not None else None
            if level is None or bucket is None or not bucket[figure]:
                continue  # it left the window (or was never in it)
            bucket[figure] -= 1
            if not bucket[figure]:
                del bucket[figure]
            if not bucket:
                del level.days[day]
            level.figures.remove(figure)
            if not level.days:
                del self.levels[key]

    def advance(self, now: datetime) -> None:
        """Stream time reached ``now``: days that left the window are forgotten."""
        day = day_of(now)
        if self.today is not None and day <= self.today:
            return
        self.today = day
        oldest = day - self.window_days + 1
        for key, level in list(self.levels.items()):
            for gone in [d for d in level.days if d < oldest]:
                for figure, count in level.days.pop(gone).items():
                    for _ in range(count):
                        level.figures.remove(figure)
            if not level.days:
                del self.levels[key]

    def forecast(
        self, group: Group, declared_at: datetime, t: datetime, conditional: bool = True,
        move_window: bool = True,
    ) -> ExpectedRelease | None:
        """The forecast at ``t`` from the clearances added so far (None: too few at every
        level). ``conditional=False``: the naive forecast, ignoring the time waited.
        ``move_window=False``: the window stays where stream time has brought it (``t``
        is a reader's clock, which may be far from the events' time)."""
        if move_window:
            self.advance(t)
        floor = waited(declared_at, t) if conditional else 0
        for key, parts in group.levels():
            level = self.levels.get(key)
            if level is None:
                continue
            start = level.figures.bisect_left(floor)
            n = len(level.figures) - start
            if n < MIN_CLEARANCES:
                continue
            at = [declared_at + level.figures[start + rank_index(p, n)] * HUNDREDTH
                  for p in QUANTILES]
            within = level.figures.bisect_right(DAY_ONE) - start
            share = round(max(0, within) / n, 4) if floor <= DAY_ONE else 0.0
            return ExpectedRelease(at[0], at[1], at[2], share, parts, n, t)
        return None

    def band(self, port: str, channel: str) -> tuple[int, list[float]] | None:
        """How many clearances of (port, channel) the window holds, and their 10th, 50th
        and 90th percentiles in hours (None: fewer than the forecast needs)."""
        level = self.levels.get(("port/channel", port, channel))
        n = len(level.figures) if level is not None else 0
        if level is None or n < MIN_CLEARANCES:
            return None
        return n, [level.figures[rank_index(p, n)] / 100 for p in QUANTILES]

    # -- storage: one entry per day of release ------------------------------------------

    def day_json(self, day: int) -> list[Any]:
        """What the window holds of ``day``: ``[[level key, [[figure, count], ...]], ...]``."""
        return [[list(key), sorted(level.days[day].items())]
                for key, level in self.levels.items() if day in level.days]

    def load_day(self, day: int, data: list[Any]) -> None:
        """Take back a day stored by ``day_json`` (onto a history without that day)."""
        for key, counts in data:
            level = self.levels.setdefault(tuple(key), _Level())
            bucket = level.days.setdefault(day, Counter())
            for figure, count in counts:
                bucket[figure] += count
                level.figures.update([figure] * count)
        self.today = day if self.today is None else max(self.today, day)

    def days(self) -> set[int]:
        """The days of release the window holds something of."""
        return {day for level in self.levels.values() for day in level.days}


def day_of(t: datetime) -> int:
    """The UTC day of ``t`` (an ordinal): what the window counts in."""
    return t.astimezone(UTC).date().toordinal()
