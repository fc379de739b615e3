from __future__ import annotations

from datetime import datetime

from stream.core.lifecycle import DeclarationState
from stream.core.policy import Policy
from stream.core.retention import closed_at, cutoff, expired
from tests.builders import DECL, filed, lifecycle, model, returned


def _state(policy: Policy, *documents: dict[str, object]) -> DeclarationState:
    state = DeclarationState(DECL)
    for n, document in enumerate(documents):
        event = model(document)
        state.apply(event, f"d{n}", f"t:0:{n}", lambda _: None, policy)
    return state


def test_a_declaration_is_closed_from_its_latest_event_once_departed(policy: Policy) -> None:
    open_one = _state(policy, filed(), lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00"))
    assert closed_at(open_one) is None
    departed = _state(policy, filed(), lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00"),
                      lifecycle("GoodsDeparted", "2026-05-10T08:00:00+08:00"),
                      lifecycle("BondedZoneEntered", "2026-05-20T08:00:00+08:00"))
    assert closed_at(departed) == datetime.fromisoformat("2026-05-20T08:00:00+08:00")
    withdrawn = _state(policy, filed(),
                       lifecycle("DeclarationWithdrawn", "2026-05-11T08:00:00+08:00"))
    assert closed_at(withdrawn) == datetime.fromisoformat("2026-05-11T08:00:00+08:00")


def test_a_return_reopens_the_count(policy: Policy) -> None:
    state = _state(policy, filed(), lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00"),
                   lifecycle("GoodsDeparted", "2026-05-10T08:00:00+08:00"),
                   returned("2026-09-01T08:00:00+08:00"))
    assert closed_at(state) == datetime.fromisoformat("2026-09-01T08:00:00+08:00")
    before = cutoff(datetime.fromisoformat("2027-09-01T07:00:00+08:00"), 365)
    assert not expired(state, before)
    assert expired(state, cutoff(datetime.fromisoformat("2027-09-03T09:00:00+08:00"), 365))


def test_the_policy_keeps_closed_declarations_400_days_unless_told(policy: Policy) -> None:
    assert policy.retention.closed_days == 400


def test_returns_of_a_declaration_never_seen_here_expire_too(policy: Policy) -> None:
    state = _state(policy, returned("2026-09-01T08:00:00+08:00"))
    assert state.published_view is None
    assert closed_at(state) == datetime.fromisoformat("2026-09-01T08:00:00+08:00")
    # Filed after all: the return marks it RETURNED, closed since the return.
    filed_later = _state(policy, returned("2026-09-01T08:00:00+08:00"), filed())
    assert (filed_later.published_view or {})["status"] == "RETURNED"
    assert closed_at(filed_later) == datetime.fromisoformat("2026-09-01T08:00:00+08:00")
