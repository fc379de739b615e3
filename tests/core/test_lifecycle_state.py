from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stream.core.eligibility import FirmHistory
from stream.core.ledger import Seen
from stream.core.lifecycle import DeclarationState
from stream.core.policy import load_policy
from stream.ingest import content_digest
from stream.settings import DEFAULT_POLICY
from tests.builders import DECL, amended, filed, lifecycle, line, model, qualified_firm, returned

POLICY = load_policy(DEFAULT_POLICY)
HISTORY = FirmHistory()
for _fact in qualified_firm():
    HISTORY.add(model(_fact))  # type: ignore[arg-type]


def apply(state: DeclarationState, document: dict[str, Any], ref: str) -> Any:
    return state.apply(model(document), content_digest(document), ref, lambda _: HISTORY, POLICY)


LIFE = [
    filed("2026-05-09T09:00:00+08:00", lines=[line(hs_code="7318150000")],
          scheduled_departure="2026-05-11T09:00:00+08:00", event_id="e1"),
    amended("2026-05-09T10:00:00+08:00", [line()], event_id="e2"),
    lifecycle("InspectionOrdered", "2026-05-09T11:00:00+08:00", event_id="e3"),
    lifecycle("InspectionCompleted", "2026-05-09T15:00:00+08:00", event_id="e4"),
    lifecycle("GoodsReleased", "2026-05-09T16:00:00+08:00", event_id="e5"),
    lifecycle("BondedZoneEntered", "2026-05-09T17:00:00+08:00", event_id="e6"),
    lifecycle("GoodsDeparted", "2026-05-10T16:00:00+08:00", event_id="e7"),
    returned("2026-05-20T09:00:00+08:00", event_id="e8"),
]


def final_view(documents: list[dict[str, Any]]) -> dict[str, Any] | None:
    state = DeclarationState(DECL)
    for n, document in enumerate(documents):
        apply(state, document, f"declarations:0:{n}")
    return state.published_view


def test_updates_are_sequenced_and_never_repeat_a_view() -> None:
    state = DeclarationState(DECL)
    sequences = []
    for n, document in enumerate(LIFE):
        step = apply(state, document, f"t:0:{n}")
        if step.status is not None:
            sequences.append(step.status[1])
    assert sequences == list(range(1, len(sequences) + 1))
    assert state.published_view is not None and state.published_view["status"] == "RETURNED"
    # An event that changes nothing visible publishes nothing.
    quiet = lifecycle("InspectionScheduled", "2026-05-09T12:00:00+08:00", event_id="e9")
    assert apply(state, quiet, "t:0:99").status is None


def test_repeats_and_conflicts_leave_the_state_alone() -> None:
    state = DeclarationState(DECL)
    apply(state, LIFE[0], "t:0:0")
    assert apply(state, LIFE[0], "t:0:1").seen is Seen.DUPLICATE
    edited = {**LIFE[0], "source": "erp:edited"}
    assert apply(state, edited, "t:0:2").seen is Seen.CONFLICT
    assert state.events["e1"].source == "erp:test"  # the first version stands


def test_a_redelivered_message_republishes_without_a_new_sequence() -> None:
    state = DeclarationState(DECL)
    first = apply(state, LIFE[0], "t:0:0")
    again = apply(state, LIFE[0], "t:0:0")
    assert again.seen is Seen.REDELIVERED
    assert again.status is not None and again.status[1] == first.status[1] == 1


def test_decisions_follow_the_latest_content() -> None:
    state = DeclarationState(DECL)
    held = apply(state, LIFE[0], "t:0:0")
    assert held.decision is not None and held.decision[0].decision.kind == "DOCUMENT_HOLD"
    cleared = apply(state, LIFE[1], "t:0:1")
    assert cleared.decision is not None and cleared.decision[1] == 2
    assert cleared.decision[0].decision.kind == "IMMEDIATE_RELEASE"


def test_a_return_is_passed_on_as_a_firm_fact() -> None:
    state = DeclarationState(DECL)
    step = apply(state, LIFE[-1], "returns:0:0")
    assert step.firm_fact is not None and step.firm_fact.return_id == "RET-1"
    assert step.status is None  # nothing is known of the declaration itself


def test_a_redelivered_repeat_or_conflict_is_said_again_as_such() -> None:
    state = DeclarationState(DECL)
    apply(state, LIFE[0], "t:0:0")
    apply(state, LIFE[0], "t:0:1")
    apply(state, {**LIFE[0], "source": "erp:edited"}, "t:0:2")
    assert apply(state, LIFE[0], "t:0:1").seen is Seen.DUPLICATE
    assert apply(state, {**LIFE[0], "source": "erp:edited"}, "t:0:2").seen is Seen.CONFLICT


def test_a_message_read_again_publishes_what_it_caused_again_under_the_same_numbers() -> None:
    # A predecessor stored its state after message 4 and was killed before the outputs
    # of message 4 were sent (they wait for the state): its successor reads message 4
    # again, uncommitted, and sends them, numbered as the state records them.
    saved = DeclarationState(DECL)
    for n, document in enumerate(LIFE[:5]):
        apply(saved, document, f"t:0:{n}")
    state = DeclarationState.from_json(saved.to_json())
    step = apply(state, LIFE[4], "t:0:4")
    assert step.seen is Seen.REDELIVERED
    assert step.status is not None and step.status[1] == saved.sequence
    assert step.decision is not None and step.decision[1] == saved.decision_sequence
    assert step.clearance == (saved.published_clearance,)
    assert state.refresh(lambda _: HISTORY, POLICY).status is None  # once is enough


def test_event_ids_of_any_text_round_trip_through_the_events_header() -> None:
    import json

    from stream.records import encode_events

    state = DeclarationState(DECL)
    apply(state, {**LIFE[0], "event_id": "a,b"}, "t:0:0")
    apply(state, {**LIFE[1], "event_id": "c\"d"}, "t:0:1")
    shown = json.loads(encode_events(state.event_ids))  # as any consumer reads it
    assert shown == ["e:a,b", 'e:c"d'] and set(shown) == state.event_ids


def test_state_survives_its_storage_form() -> None:
    state = DeclarationState(DECL)
    for n, document in enumerate(LIFE):
        apply(state, document, f"t:0:{n}")
    restored = DeclarationState.from_json(state.to_json())
    assert restored.to_json() == state.to_json()
    assert apply(restored, LIFE[2], "t:0:2").seen is Seen.REDELIVERED


@settings(max_examples=200, deadline=None)
@given(st.permutations(LIFE), st.lists(st.sampled_from(LIFE), max_size=6))
def test_final_view_ignores_arrival_order_and_repeats(
    order: list[dict[str, Any]], repeats: list[dict[str, Any]]
) -> None:
    expected = final_view(LIFE)
    assert final_view([*order, *repeats]) == expected
    assert final_view([*repeats, *order]) == expected


def test_a_view_s_json_form_has_every_field_of_the_view_in_order() -> None:
    from dataclasses import fields

    from stream.core.declaration import DeclarationView
    from stream.core.lifecycle import view_json

    state = DeclarationState(DECL)
    for n, document in enumerate(LIFE):
        step = apply(state, document, f"t:0:{n}")
    view = step.status[0]
    assert list(view_json(view)) == [f.name for f in fields(DeclarationView)]
    assert view_json(view)["released_at"] == "2026-05-09T08:00:00Z"
    assert view_json(view)["eligibility_reasons"] == list(view.eligibility_reasons)


def test_the_kept_timeline_and_ids_are_made_again_when_an_event_is_added() -> None:
    state = DeclarationState(DECL)
    apply(state, LIFE[0], "t:0:0")
    before = state.timeline
    assert state.timeline is before  # kept while no event is added
    assert state.event_ids == {"e:e1"}
    apply(state, LIFE[4], "t:0:1")
    assert state.timeline is not before
    assert [e.event_id for e in state.timeline.ordered] == ["e1", "e5"]
    assert state.published_view is not None and state.published_view["status"] == "RELEASED"
    assert state.event_ids == {"e:e1", "e:e5"}
    apply(state, LIFE[7], "t:0:2")  # a return: the timeline's events are the same
    assert state.event_ids == {"e:e1", "e:e5", "r:e8"}
