from __future__ import annotations

from typing import Any

from schemas.events import LifecycleEvent, ReturnDeclared
from schemas.outputs import Status
from stream.core.declaration import DeclarationView, view_of
from stream.core.eligibility import FirmHistory
from stream.core.policy import Policy
from tests.builders import (
    DECL,
    amended,
    doc,
    filed,
    lifecycle,
    line,
    model,
    qualified_firm,
    returned,
)

FILED_AT = "2026-05-09T09:00:00+08:00"


def firms() -> FirmHistory:
    h = FirmHistory()
    for fact in qualified_firm():
        h.add(model(fact))  # type: ignore[arg-type]
    return h


def view(policy: Policy, *events: dict[str, Any]) -> DeclarationView | None:
    parsed = [model(e) for e in events]
    lifecycle_events = [e for e in parsed if isinstance(e, LifecycleEvent)]
    returns = [e for e in parsed if isinstance(e, ReturnDeclared)]
    history = firms()
    v, _ = view_of(DECL, lifecycle_events, returns, lambda _: history, policy)
    return v


def status(policy: Policy, *events: dict[str, Any]) -> Status:
    v = view(policy, *events)
    assert v is not None
    return v.status


def test_a_clean_filing_is_accepted_with_its_decision(policy: Policy) -> None:
    v = view(policy, filed(FILED_AT))
    assert v is not None
    assert (v.status, v.channel, v.decision) == (Status.ACCEPTED, "GREEN", "IMMEDIATE_RELEASE")
    assert (v.firm_id, v.buyer_id, v.port, v.port_area) == (
        "91330206MA2A777777", "buyer-001", "CNNGB", "BEILUN",
    )
    assert v.eligibility_reasons == () and v.decision_reasons == ()
    assert v.declared_at is not None and v.declared_at.isoformat() == "2026-05-09T01:00:00+00:00"
    assert (v.returned, v.tax_refund_eligible, v.clearance_hours) == (False, False, None)


def test_no_view_without_lifecycle_events(policy: Policy) -> None:
    assert view(policy, returned("2026-05-20T00:00:00+08:00")) is None


def test_events_before_the_filing_wait_for_it(policy: Policy) -> None:
    v = view(policy, amended("2026-05-09T10:00:00+08:00", [line()]))
    assert v is not None and v.status is Status.AWAITING_DECLARATION
    assert (v.channel, v.decision, v.decision_reasons, v.eligibility_reasons) == (
        None, None, None, None,
    )


def test_a_release_without_filing_is_shown_released(policy: Policy) -> None:
    v = view(policy, lifecycle("GoodsReleased", FILED_AT))
    assert v is not None and v.status is Status.RELEASED and v.firm_id is None
    assert v.clearance_hours is None and v.released_at is not None


def test_document_hold_until_an_amendment_clears_it(policy: Policy) -> None:
    bad = filed(FILED_AT, lines=[line(hs_code="7318150000")])
    assert status(policy, bad) is Status.DOCUMENT_HOLD
    fixed = amended("2026-05-09T11:00:00+08:00", [line()])
    assert status(policy, bad, fixed) is Status.ACCEPTED


def test_the_latest_content_decides_even_if_it_arrives_first(policy: Policy) -> None:
    bad = amended("2026-05-09T12:00:00+08:00", [line(hs_code="7318150000")])
    assert status(policy, bad, filed(FILED_AT)) is Status.DOCUMENT_HOLD


def test_status_precedence(policy: Policy) -> None:
    f = filed(FILED_AT)
    ordered = lifecycle("InspectionOrdered", "2026-05-09T10:00:00+08:00")
    scheduled = lifecycle("InspectionScheduled", "2026-05-09T11:00:00+08:00")
    passed = lifecycle("InspectionCompleted", "2026-05-09T12:00:00+08:00")
    failed = lifecycle("InspectionCompleted", "2026-05-09T13:00:00+08:00", result="FAILED")
    release = lifecycle("GoodsReleased", "2026-05-09T14:00:00+08:00")
    departed = lifecycle("GoodsDeparted", "2026-05-10T14:00:00+08:00")
    assert status(policy, f, ordered) is Status.INSPECTION_ORDERED
    assert status(policy, f, ordered, scheduled) is Status.INSPECTION_SCHEDULED
    assert status(policy, f, ordered, scheduled, passed) is Status.INSPECTION_PASSED
    assert status(policy, f, passed, failed) is Status.INSPECTION_FAILED
    assert status(policy, f, failed, release) is Status.RELEASED
    assert status(policy, f, release, departed) is Status.DEPARTED
    ret = returned("2026-05-20T00:00:00+08:00")
    assert status(policy, f, release, departed, ret) is Status.RETURNED


def test_withdrawal_counts_only_before_the_first_release(policy: Policy) -> None:
    f = filed(FILED_AT)
    release = lifecycle("GoodsReleased", "2026-05-09T14:00:00+08:00")
    early = lifecycle("DeclarationWithdrawn", "2026-05-09T13:00:00+08:00")
    late = lifecycle("DeclarationWithdrawn", "2026-05-09T15:00:00+08:00")
    same_time = lifecycle("DeclarationWithdrawn", "2026-05-09T14:00:00+08:00")
    assert status(policy, f, early) is Status.WITHDRAWN
    assert status(policy, f, release, early) is Status.WITHDRAWN
    assert status(policy, f, release, late) is Status.RELEASED
    assert status(policy, f, release, same_time) is Status.RELEASED


def test_a_rejected_return_does_not_mark_the_declaration(policy: Policy) -> None:
    ret = returned("2026-05-20T00:00:00+08:00", return_district="1500")
    v = view(policy, filed(FILED_AT), ret)
    assert v is not None and v.returned is False and v.status is Status.ACCEPTED


def test_clearance_figures(policy: Policy) -> None:
    f = filed(FILED_AT, scheduled_departure="2026-05-10T09:00:00+08:00")
    release = lifecycle("GoodsReleased", "2026-05-10T08:59:24+08:00")
    v = view(policy, f, release)
    assert v is not None and v.clearance_hours == 23.99 and v.within_24h is True
    late = view(policy, f, lifecycle("GoodsReleased", "2026-05-10T09:00:36+08:00"))
    assert late is not None and late.clearance_hours == 24.01 and late.within_24h is False


def test_the_earliest_release_and_departure_count(policy: Policy) -> None:
    f = filed(FILED_AT)
    first = lifecycle("GoodsReleased", "2026-05-09T12:00:00+08:00")
    second = lifecycle("GoodsReleased", "2026-05-09T15:00:00+08:00")
    v = view(policy, f, second, first)
    assert v is not None and v.clearance_hours == 3.0


def test_on_schedule_with_grace(policy: Policy) -> None:
    f = filed(FILED_AT, scheduled_departure="2026-05-10T09:00:00+08:00")
    rel = lifecycle("GoodsReleased", "2026-05-09T12:00:00+08:00")
    in_grace = lifecycle("GoodsDeparted", "2026-05-10T21:00:00+08:00")
    too_late = lifecycle("GoodsDeparted", "2026-05-10T21:00:01+08:00")
    on_time = view(policy, f, rel, in_grace)
    assert on_time is not None and on_time.on_schedule is True
    late = view(policy, f, rel, too_late)
    assert late is not None and late.on_schedule is False
    unscheduled = view(policy, filed(FILED_AT), rel, in_grace)
    assert unscheduled is not None and unscheduled.on_schedule is None


def test_bonded_zone_entry_makes_tax_refund_eligible(policy: Policy) -> None:
    v = view(policy, filed(FILED_AT), lifecycle("BondedZoneEntered", "2026-05-09T12:00:00+08:00"))
    assert v is not None and v.tax_refund_eligible is True


def test_eligibility_is_taken_at_the_latest_content(policy: Policy) -> None:
    # An amendment after the certificate expired moves the declaration to STANDARD.
    f = filed(FILED_AT)
    late = amended("2027-07-01T00:00:00+08:00", [line()], [doc()])
    v = view(policy, f, late)
    assert v is not None and v.channel == "STANDARD"
    assert v.eligibility_reasons == ("ISO14001_MISSING", "ISO9001_MISSING")
