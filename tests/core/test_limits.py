"""A declaration's state has limits (policy ``[limits]``): a new event past one is refused,
not noted, and the state stays as it was."""

from __future__ import annotations

from typing import Any

import orjson

from stream.core.ledger import Seen
from stream.core.lifecycle import DeclarationState
from stream.core.policy import LimitsPolicy, load_policy
from stream.ingest import content_digest
from stream.settings import DEFAULT_POLICY
from tests.builders import DECL, amended, filed, lifecycle, line, model, returned

POLICY = load_policy(DEFAULT_POLICY)


def limited(events: int = 500, size: int = 4 * 1024 * 1024) -> Any:
    limits = LimitsPolicy(max_events_per_declaration=events, max_declaration_bytes=size)
    return POLICY.model_copy(update={"limits": limits})


def apply(state: DeclarationState, document: dict[str, Any], ref: str, policy: Any) -> Any:
    return state.apply(model(document), content_digest(document), ref, lambda _: None, policy)


def scheduled(n: int) -> dict[str, Any]:
    return lifecycle("InspectionScheduled", f"2026-05-09T{10 + n % 10}:00:00+08:00",
                     event_id=f"s{n}", inspection_id="I1", appointment_at=
                     "2026-05-10T09:00:00+08:00", location=f"yard {n}")


def test_the_policy_file_states_the_contract_default() -> None:
    assert POLICY.limits.max_events_per_declaration == 500


def test_an_event_past_the_count_is_refused_and_the_state_is_unchanged() -> None:
    policy = limited(events=3)
    state = DeclarationState(DECL)
    assert apply(state, filed(event_id="f"), "declarations:0:1", policy).seen is Seen.NEW
    assert apply(state, scheduled(1), "inspections:0:2", policy).seen is Seen.NEW
    assert apply(state, returned("2026-05-20T09:00:00+08:00"), "returns:0:3", policy).seen \
        is Seen.NEW
    before = state.to_json()
    step = apply(state, scheduled(2), "inspections:0:4", policy)
    assert step.seen is Seen.OVER_LIMIT and step.status is None
    assert state.to_json() == before
    # Not noted: read again, or repeated, it is refused again, not a repeat.
    assert apply(state, scheduled(2), "inspections:0:4", policy).seen is Seen.OVER_LIMIT
    assert apply(state, scheduled(2), "inspections:0:9", policy).seen is Seen.OVER_LIMIT
    # Repeats of what the state holds are still repeats.
    assert apply(state, scheduled(1), "inspections:0:10", policy).seen is Seen.DUPLICATE


def test_amendments_past_the_size_are_refused_and_the_stored_state_stays_bounded() -> None:
    size = 600 * 1024
    policy = limited(size=size)
    state = DeclarationState(DECL)
    apply(state, filed(event_id="f"), "declarations:0:0", policy)
    big = [line(line_no=n, description="x" * 500) for n in range(1, 200)]  # ~120 KB
    outcomes = [
        apply(state, amended(f"2026-05-09T1{n}:00:00+08:00", big, event_id=f"a{n}"),
              f"declarations:0:{n}", policy).seen
        for n in range(1, 10)
    ]
    assert outcomes[:4] == [Seen.NEW] * 4 and set(outcomes[4:]) == {Seen.OVER_LIMIT}
    stored = orjson.dumps(state.to_json())
    assert len(stored) < size + 16 * 1024  # the events, plus ledgers and the view
    # What is counted survives a round trip through storage.
    again = DeclarationState.from_json(orjson.loads(stored))
    assert again.stored_bytes == state.stored_bytes
    assert apply(again, amended("2026-05-09T19:30:00+08:00", big, event_id="a99"),
                 "declarations:0:99", policy).seen is Seen.OVER_LIMIT


def test_a_state_stored_before_the_limits_counts_its_events_once() -> None:
    state = DeclarationState(DECL)
    apply(state, filed(event_id="f"), "declarations:0:0", POLICY)
    stored = state.to_json()
    del stored["stored_bytes"]
    assert DeclarationState.from_json(stored).stored_bytes == state.stored_bytes > 0


def test_a_return_and_a_lifecycle_event_with_the_same_id_are_both_kept() -> None:
    state = DeclarationState(DECL)
    apply(state, filed(event_id="same"), "declarations:0:0", POLICY)
    apply(state, returned("2026-05-20T09:00:00+08:00", event_id="same"), "returns:0:0", POLICY)
    again = DeclarationState.from_json(orjson.loads(orjson.dumps(state.to_json())))
    assert set(again.events) == {"same"} and set(again.returns) == {"same"}
    assert again.published_view == state.published_view
