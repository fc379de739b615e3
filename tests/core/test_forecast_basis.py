"""A declaration's forecast basis: what its events make of it, when a step publishes it,
and its published form read back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from stream.core.forecast import Group
from stream.core.forecast_basis import Basis
from stream.core.lifecycle import DeclarationState
from tests.builders import DECL, amended, filed, lifecycle, line
from tests.core.test_lifecycle_state import apply


def bases(documents: list[dict[str, Any]]) -> list[Basis | None]:
    """The basis each message's step publishes (None: none)."""
    state = DeclarationState(DECL)
    return [apply(state, d, f"m{n}").basis for n, d in enumerate(documents)]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_basis_is_published_when_what_the_forecast_reads_changes() -> None:
    steps = bases([
        lifecycle("InspectionOrdered", "2026-05-09T11:00:00+08:00"),  # before its filing
        filed("2026-05-09T09:00:00+08:00"),
        lifecycle("InspectionScheduled", "2026-05-09T12:00:00+08:00"),  # nothing it reads
        amended("2026-05-09T13:00:00+08:00", [line(product_category="gear")]),
        amended("2026-05-09T14:00:00+08:00", [line(product_category="gear"),
                                               line(line_no=2)]),
        lifecycle("GoodsReleased", "2026-05-09T19:00:00+08:00"),
        lifecycle("GoodsDeparted", "2026-05-10T08:00:00+08:00"),
    ])
    assert steps[0] is None  # no filing: no group
    filing = steps[1]
    assert filing is not None and filing.open and filing.clearance is None
    assert filing.group == Group("CNNGB", filing.group.channel, "bearing", True)
    assert filing.declared_at == at("2026-05-09T09:00:00+08:00")
    assert filing.as_of == at("2026-05-09T11:00:00+08:00")  # its latest event's time
    assert steps[2] is None
    assert steps[3] is not None and steps[3].group.goods == "gear"
    assert steps[4] is not None and steps[4].group.goods == "mixed"
    released = steps[5]
    assert released is not None and not released.open
    assert released.clearance == (at("2026-05-09T19:00:00+08:00"), 10.0)
    assert steps[6] is None  # departed: nothing the forecast reads has changed


def test_an_inspection_ordered_after_the_release_is_not_counted() -> None:
    steps = bases([
        filed("2026-05-09T09:00:00+08:00"),
        lifecycle("GoodsReleased", "2026-05-09T12:00:00+08:00"),
        lifecycle("InspectionOrdered", "2026-05-09T13:00:00+08:00"),
        lifecycle("GoodsDeparted", "2026-05-10T08:00:00+08:00"),  # the view changes
    ])
    assert steps[1] is not None and not steps[1].group.inspected
    assert steps[2] is None and steps[3] is None  # its group has not changed


def test_a_repeat_read_again_after_a_restart_says_the_basis_again() -> None:
    state = DeclarationState(DECL)
    document = filed("2026-05-09T09:00:00+08:00")
    first = apply(state, document, "m0").basis
    again = apply(state, document, "m0").basis  # the same message, read again
    assert first is not None and again == first
    restored = DeclarationState.from_json(state.to_json())
    assert restored.published_basis == state.published_basis


def test_the_published_form_reads_back() -> None:
    [basis, *_] = [b for b in bases([filed()]) if b is not None]
    assert Basis.from_json(basis.to_json()) == basis
    for broken in ({"clearance_hours": "4"}, {"port": None}, {"declared_at": "2026-05-09"}):
        with pytest.raises((TypeError, ValueError, KeyError)):
            Basis.from_json({**basis.to_json(), **broken})
