"""How long a closed declaration is kept.

A declaration is closed once its status is DEPARTED, WITHDRAWN or RETURNED. It is kept
while events may still change it, and removed once its latest event is older than the
policy's retention (``[retention] closed_days``) before the partition's stream time: the
latest event time the partition has seen. Stream time, not the wall clock, so that
replaying a year of history keeps and removes what running through that year would.

What removal forgets: an event for a removed declaration finds no state. A return still
counts against its firm (firm facts are kept apart) but changes no status, as for any
declaration not known here; any other event starts a new state whose updates number
from 1 again. The default (400 days) outlasts the 365-day returns rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from stream.core.lifecycle import DeclarationState

CLOSED = frozenset({"DEPARTED", "WITHDRAWN", "RETURNED"})


def closed_at(state: DeclarationState) -> datetime | None:
    """The latest event time of a closed declaration; None while it is open. Returns of a
    declaration with no lifecycle event here count as closed: nothing else of it is
    known, and they must not be kept for ever either."""
    view = state.published_view
    orphan_returns = view is None and not state.events and state.returns
    if not orphan_returns and (view is None or view.get("status") not in CLOSED):
        return None
    times = [e.occurred_at for e in (*state.events.values(), *state.returns.values())]
    return max(times) if times else None


def cutoff(stream_time: datetime, closed_days: int) -> datetime:
    """Declarations closed before this are removed."""
    return stream_time - timedelta(days=closed_days)


def expired(state: DeclarationState, before: datetime) -> bool:
    closed = closed_at(state)
    return closed is not None and closed < before
