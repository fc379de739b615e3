"""What a declaration's expected release is computed from (DOMAIN.md, "Expected
release"): its group, when it was filed, whether it is still open and, once released, its
clearance. The worker publishes it on ``forecast-basis`` whenever it changes, so that any
process answering for the declaration (an API replica) can forecast it and count the
clearance in its group's history, without a copy of the declaration's events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.events import (
    DeclarationAmended,
    DeclarationFiled,
    InspectionOrdered,
    LifecycleEvent,
)
from schemas.outputs import Status
from schemas.types import format_instant, format_optional_instant, parse_instant
from stream.core.declaration import DeclarationView
from stream.core.eligibility import order_key
from stream.core.forecast import Group, goods_category

# Released, or never to be: not forecast. (Returned and withdrawn declarations that were
# released still count their clearance.)
NOT_OPEN = frozenset({Status.RELEASED, Status.DEPARTED, Status.RETURNED, Status.WITHDRAWN})


def group_of(view: DeclarationView, events: Iterable[LifecycleEvent]) -> Group | None:
    """The declaration's group as its events tell it (None before a filing decided its
    port and channel). Inspection ordered: before the release, once there is one."""
    if view.port is None or view.channel is None:  # both come with the filing
        return None
    # One pass, no sort (this runs at most steps): the content in force is the filing or
    # amendment latest in event-time order, as ``Timeline.contents()[-1]``.
    content: DeclarationFiled | DeclarationAmended | None = None
    inspected, released_at = False, view.released_at
    for event in events:
        if isinstance(event, DeclarationFiled | DeclarationAmended):
            if content is None or order_key(event) > order_key(content):
                content = event
        elif isinstance(event, InspectionOrdered):
            inspected = inspected or released_at is None or event.occurred_at <= released_at
    if content is None:
        return None
    return Group(view.port, view.channel.value, goods_category(content.lines), inspected)


@dataclass(frozen=True)
class Basis:
    """One declaration's forecast basis, as published."""

    declaration_id: str
    group: Group
    declared_at: datetime
    open: bool
    released_at: datetime | None
    clearance_hours: float | None
    as_of: datetime  # the latest event time of the declaration: when this became so

    @property
    def clearance(self) -> tuple[datetime, float] | None:
        if self.released_at is None or self.clearance_hours is None:
            return None
        return self.released_at, self.clearance_hours

    def signature(self) -> list[Any]:
        """What a change of is published: the published fields but the id and ``as_of``
        (a later event that changes nothing of the forecast publishes nothing)."""
        return [v for k, v in self.to_json().items() if k not in ("declaration_id", "as_of")]

    def to_json(self) -> dict[str, Any]:
        g = self.group
        return {
            "declaration_id": self.declaration_id, "port": g.port, "channel": g.channel,
            "goods": g.goods, "inspected": g.inspected,
            "declared_at": format_instant(self.declared_at), "open": self.open,
            "released_at": format_optional_instant(self.released_at),
            "clearance_hours": self.clearance_hours,
            "as_of": format_instant(self.as_of),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Basis:
        """Read a published basis (KeyError, TypeError or ValueError when it is not one)."""
        hours = data["clearance_hours"]
        if hours is not None and not isinstance(hours, int | float):
            raise TypeError("clearance_hours is not a number")
        group = Group(_text(data, "port"), _text(data, "channel"), _text(data, "goods"),
                      bool(data["inspected"]))
        released = data["released_at"]
        return cls(
            _text(data, "declaration_id"), group, parse_instant(_text(data, "declared_at")),
            bool(data["open"]), parse_instant(released) if released is not None else None,
            float(hours) if hours is not None else None, parse_instant(_text(data, "as_of")),
        )


def basis_of(view: DeclarationView, events: Iterable[LifecycleEvent]) -> Basis | None:
    """The declaration's basis now (None before it is filed)."""
    events = list(events)
    group = group_of(view, events)
    if group is None or view.declared_at is None:
        return None
    as_of = max(e.occurred_at for e in events)
    return Basis(view.declaration_id, group, view.declared_at, view.status not in NOT_OPEN,
                 view.released_at, view.clearance_hours, as_of)


def _text(data: dict[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} is not text")
    return value
