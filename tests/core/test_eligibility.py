from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from schemas.events import Line
from stream.core.eligibility import FirmHistory, eligibility_at
from stream.core.policy import Policy
from stream.core.standing import in_window
from tests.builders import (
    FIRM,
    certificate,
    enrolled,
    line,
    model,
    qualified_firm,
    returned,
    revoked,
)

T = datetime.fromisoformat("2026-05-09T09:00:00+08:00")
BEARINGS = [Line.model_validate(line())]


def history(*facts: dict[str, Any]) -> FirmHistory:
    h = FirmHistory()
    for fact in facts:
        h.add(model(fact))  # type: ignore[arg-type]
    return h


def reasons(policy: Policy, h: FirmHistory | None, t: datetime = T, port: str = "CNNGB",
            area: str | None = "BEILUN", lines: list[Line] = BEARINGS) -> tuple[str, ...]:
    return eligibility_at(FIRM, h, t, port, area, lines, policy).reasons


def test_a_qualified_firm_takes_the_green_channel(policy: Policy) -> None:
    e = eligibility_at(FIRM, history(*qualified_firm()), T, "CNNGB", "BEILUN", BEARINGS, policy)
    assert e.reasons == () and e.channel.value == "GREEN" and e.enrolled
    assert e.certificates == {"ISO9001": "ISO9001-7777", "ISO14001": "ISO14001-7777"}


def test_an_unknown_firm_lacks_everything(policy: Policy) -> None:
    assert reasons(policy, None) == ("ISO14001_MISSING", "ISO9001_MISSING", "NOT_ENROLLED")


def test_enrolment_as_of_declaration_time(policy: Policy) -> None:
    later = history(enrolled("2026-06-01T00:00:00+08:00"), *qualified_firm()[1:])
    assert reasons(policy, later) == ("NOT_ENROLLED",)
    left = history(*qualified_firm(), enrolled("2026-05-01T00:00:00+08:00", withdrawn=True))
    assert reasons(policy, left) == ("NOT_ENROLLED",)
    back = history(
        *qualified_firm(), enrolled("2026-05-01T00:00:00+08:00", withdrawn=True),
        enrolled("2026-05-02T00:00:00+08:00"),
    )
    assert reasons(policy, back) == ()


def test_certificate_validity_is_half_open(policy: Policy) -> None:
    at_start = history(enrolled(), certificate("ISO9001", valid_from="2026-05-09T09:00:00+08:00"),
                       certificate("ISO14001"))
    assert reasons(policy, at_start) == ()
    at_end = history(enrolled(), certificate("ISO9001", valid_until="2026-05-09T09:00:00+08:00"),
                     certificate("ISO14001"))
    assert reasons(policy, at_end) == ("ISO9001_MISSING",)


def test_validity_comes_from_the_fields_not_when_the_certificate_was_issued(
    policy: Policy,
) -> None:
    issued_late = history(enrolled(), certificate("ISO14001"),
                          certificate("ISO9001", at="2026-07-01T00:00:00+08:00"))
    assert reasons(policy, issued_late) == ()


def test_revocation_counts_from_its_time(policy: Policy) -> None:
    before = history(*qualified_firm(), revoked("ISO9001-7777", "2026-05-01T00:00:00+08:00"))
    assert reasons(policy, before) == ("ISO9001_MISSING",)
    after = history(*qualified_firm(), revoked("ISO9001-7777", "2026-05-10T00:00:00+08:00"))
    assert reasons(policy, after) == ()


def test_accepted_returns_in_the_lookback_window(policy: Policy) -> None:
    recent = history(*qualified_firm(), returned("2026-01-01T00:00:00+08:00"))
    assert reasons(policy, recent) == ("RECENT_RETURNS",)
    old = history(*qualified_firm(), returned("2025-05-01T00:00:00+08:00"))
    assert reasons(policy, old) == ()
    edge = history(*qualified_firm(), returned("2025-05-09T09:00:00+08:00"))  # t - 365 days
    assert reasons(policy, edge) == ("RECENT_RETURNS",)
    future = history(*qualified_firm(), returned("2026-05-10T00:00:00+08:00"))
    assert reasons(policy, future) == ()


def test_returns_count_wherever_an_authorised_district_cleared_them(policy: Policy) -> None:
    other = history(
        *qualified_firm(), returned("2026-01-01T00:00:00+08:00", return_district="5300")
    )
    assert reasons(policy, other) == ("RECENT_RETURNS",)
    rejected = history(
        *qualified_firm(), returned("2026-01-01T00:00:00+08:00", return_district="1500")
    )
    assert reasons(policy, rejected) == ()


def test_a_return_id_counts_once_and_its_earliest_version_stands(policy: Policy) -> None:
    h = history(
        *qualified_firm(),
        returned("2026-05-20T00:00:00+08:00", return_id="R"),  # later: outside [t-365d, t]
        returned("2026-01-01T00:00:00+08:00", return_id="R", return_district="1500"),
    )
    # The earliest version stands; it was at an unauthorised district, so nothing counts.
    assert reasons(policy, h) == ()


def test_scope_of_ports_and_goods(policy: Policy) -> None:
    h = history(*qualified_firm())
    assert reasons(policy, h, area="MEISHAN") == ("PORT_OUT_OF_SCOPE",)
    assert reasons(policy, h, port="CNDLC", area=None) == ("PORT_OUT_OF_SCOPE",)
    toys = [*BEARINGS, Line.model_validate(line(hs_code="9503000000", product_category="toy"))]
    assert reasons(policy, h, lines=toys) == ("GOODS_OUT_OF_SCOPE",)


def test_a_scope_entry_without_area_covers_the_whole_port(policy: Policy) -> None:
    wider = policy.model_copy(update={"green_channel": policy.green_channel.model_copy(
        update={"scope": (*policy.green_channel.scope, type(policy.green_channel.scope[0])(
            port="CNDLC"))})})
    h = history(*qualified_firm())
    assert reasons(wider, h, port="CNDLC", area="DAYAOWAN") == ()


def test_folding_a_fact_twice_changes_nothing() -> None:
    fact = model(enrolled())
    h = FirmHistory()
    assert h.add(fact) is True  # type: ignore[arg-type]
    assert h.add(fact) is False  # type: ignore[arg-type]
    assert FirmHistory.from_json(h.to_json()).facts == h.facts


def test_returns_of_two_declarations_count_twice_even_under_one_event_id(
    policy: Policy,
) -> None:
    # Event ids are unique per key space: a return's is the declaration it returns.
    first = returned("2026-04-01T09:00:00+08:00", return_id="RET-1", event_id="E-1",
                     declaration_id="310020260000000001")
    second = returned("2026-04-02T09:00:00+08:00", return_id="RET-2", event_id="E-1",
                      declaration_id="310020260000000002")
    h = history(*qualified_firm(), first, second)
    assert eligibility_at(FIRM, h, T, "CNNGB", "BEILUN", BEARINGS, policy).returns_in_lookback == 2
    assert FirmHistory.from_json(h.to_json()).facts.keys() == h.facts.keys()


def test_a_firm_event_and_a_return_may_share_an_event_id(policy: Policy) -> None:
    ret = returned("2026-04-01T09:00:00+08:00", event_id="SAME-ID")
    fact = {**enrolled(), "event_id": "SAME-ID"}
    h = history(fact, certificate("ISO9001"), certificate("ISO14001"), ret)
    e = eligibility_at(FIRM, h, T, "CNNGB", "BEILUN", BEARINGS, policy)
    assert e.enrolled and e.returns_in_lookback == 1


# -- what a new fact can change -------------------------------------------------------

def test_the_window_of_each_kind_of_fact(policy: Policy) -> None:
    from datetime import timedelta

    from stream.core.standing import effect_window

    h = history(*qualified_firm())
    late = model(revoked("ISO9001-7777", "2026-05-01T00:00:00+08:00"))
    assert effect_window(late, h, policy) == (late.occurred_at, None)  # type: ignore[arg-type]
    cert = model(certificate("ISO9001", "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z",
                             certificate_id="ISO9001-NEW"))
    start, end = effect_window(cert, h, policy)  # type: ignore[arg-type, misc]
    assert (start.isoformat(), end.isoformat()) == (  # type: ignore[union-attr]
        "2026-01-01T00:00:00+00:00", "2026-07-01T00:00:00+00:00")
    # Another issue of an id already known may displace it: both validities count.
    again = model(certificate("ISO9001", "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z"))
    start, end = effect_window(again, h, policy)  # type: ignore[arg-type, misc]
    assert (start.isoformat(), end.isoformat()) == (  # type: ignore[union-attr]
        "2025-03-30T01:00:00+00:00", "2027-06-08T01:00:00+00:00")
    ret = model(returned("2026-04-01T09:00:00+08:00"))
    start, end = effect_window(ret, h, policy)  # type: ignore[arg-type, misc]
    assert start == ret.occurred_at
    lookback = timedelta(days=policy.green_channel.return_lookback_days)
    assert end is not None and end - start > lookback


@hyp_settings(max_examples=150, deadline=None)
@given(st.integers(-400, 800), st.sampled_from(["revoke", "issue", "return", "withdraw"]))
def test_a_fact_never_changes_the_standing_outside_its_window(
    policy: Policy, day: int, kind: str
) -> None:
    from datetime import timedelta

    from stream.core.standing import effect_window, standing_changed, without

    base = datetime.fromisoformat("2026-03-01T00:00:00+00:00")
    t = base + timedelta(days=day)
    fact = model({
        "revoke": revoked("ISO9001-7777", "2026-05-01T00:00:00+08:00"),
        "issue": certificate("ISO9001", "2026-02-01T00:00:00Z", "2026-09-01T00:00:00Z"),
        "return": returned("2026-04-01T09:00:00+08:00"),
        "withdraw": {**enrolled("2026-06-01T00:00:00+08:00"), "event_type": "FirmWithdrawn"},
    }[kind])
    after = history(*qualified_firm())
    after.add(fact)  # type: ignore[arg-type]
    window = effect_window(fact, after, policy)  # type: ignore[arg-type]
    changed = standing_changed(FIRM, without(after, fact), after, t, policy)  # type: ignore[arg-type]
    inside = window is not None and window[0] <= t and (window[1] is None or t < window[1])
    assert inside or not changed


def _plain_standing(h: FirmHistory, t: datetime, policy: Policy) -> tuple[Any, ...]:
    """The firm's standing at t read straight off the contract, one pass per question:
    the reference the indexed history must agree with."""
    from datetime import timedelta

    from schemas.events import (
        CertificateIssued,
        CertificateRevoked,
        FirmEnrolled,
        FirmWithdrawn,
        ReturnDeclared,
    )
    # The contract's words, read plainly: nothing here comes from the module it checks.
    def order_key(fact: Any) -> tuple[datetime, str]:
        return fact.occurred_at, fact.event_id

    def accepted(r: ReturnDeclared) -> bool:
        return (r.return_district == r.original_district
                or r.return_district in policy.returns.inter_district_districts)

    facts = list(h.facts.values())
    changes = [f for f in facts if isinstance(f, FirmEnrolled | FirmWithdrawn)
               and f.occurred_at <= t]
    enrolled_now = bool(changes) and isinstance(max(changes, key=order_key), FirmEnrolled)
    revoked_ids = {f.certificate_id for f in facts
                   if isinstance(f, CertificateRevoked) and f.occurred_at <= t}
    latest: dict[str, CertificateIssued] = {}
    for c in sorted((f for f in facts if isinstance(f, CertificateIssued)), key=order_key):
        latest[c.certificate_id] = c
    valid = {
        s: sorted(c.certificate_id for c in latest.values() if c.standard == s
                  and c.valid_from <= t < c.valid_until and c.certificate_id not in revoked_ids)
        for s in policy.green_channel.required_certificates
    }
    since = t - timedelta(days=policy.green_channel.return_lookback_days)
    standing: dict[str, ReturnDeclared] = {}  # per return_id, the earliest stands
    for r in sorted((f for f in facts if isinstance(f, ReturnDeclared)), key=order_key):
        standing.setdefault(r.return_id, r)
    returns = sum(1 for r in standing.values() if accepted(r) and since <= r.occurred_at <= t)
    return enrolled_now, {s: v[0] if v else None for s, v in valid.items()}, returns


DAYS = st.integers(0, 720)


def _at(day: int) -> str:
    from datetime import timedelta

    return (datetime.fromisoformat("2025-06-01T00:00:00+00:00") + timedelta(days=day)).isoformat()


FACTS = st.one_of(
    st.builds(lambda d, w, n: enrolled(_at(d), withdrawn=w, event_id=f"e{n}"),
              DAYS, st.booleans(), st.integers(0, 3)),
    st.builds(lambda s, a, b, n: certificate(s, _at(min(a, b)), _at(max(a, b) + 1),
                                             certificate_id=f"{s}-{n}", at=_at(a)),
              st.sampled_from(["ISO9001", "ISO14001"]), DAYS, DAYS, st.integers(0, 2)),
    st.builds(lambda s, d, n: revoked(f"{s}-{n}", _at(d)),
              st.sampled_from(["ISO9001", "ISO14001"]), DAYS, st.integers(0, 2)),
    st.builds(lambda d, r, n, district: returned(_at(d), return_id=f"R{r}", event_id=f"r{n}",
                                                 return_district=district),
              DAYS, st.integers(0, 5), st.integers(0, 9), st.sampled_from(["3100", "9999"])),
)


@hyp_settings(max_examples=300, deadline=None)
@given(st.lists(FACTS, max_size=25), DAYS)
def test_the_indexed_history_answers_as_a_plain_reading_of_the_rules(
    policy: Policy, facts: list[dict[str, Any]], day: int
) -> None:
    from stream.core.eligibility import firm_eligibility_at

    h = history(*facts)
    t = datetime.fromisoformat(_at(day))
    e = firm_eligibility_at(FIRM, h, t, policy)
    assert (e.enrolled, e.certificates, e.returns_in_lookback) == _plain_standing(h, t, policy)


def _day(n: int) -> str:
    from datetime import timedelta

    return (datetime.fromisoformat("2026-01-01T00:00:00+00:00") + timedelta(days=n)).isoformat()


_FACTS = st.one_of(
    st.builds(lambda d: enrolled(_day(d)), st.integers(0, 400)),
    st.builds(lambda d: enrolled(_day(d), withdrawn=True), st.integers(0, 400)),
    st.builds(lambda s, a, n, c: certificate(s, _day(a), _day(a + n), certificate_id=c),
              st.sampled_from(["ISO9001", "ISO14001"]), st.integers(-200, 400),
              st.integers(1, 500), st.sampled_from(["C-1", "C-2", "C-3"])),
    st.builds(lambda c, d: revoked(c, _day(d)), st.sampled_from(["C-1", "C-2"]),
              st.integers(0, 400)),
    st.builds(lambda d, r, district: returned(_day(d), return_id=r, return_district=district),
              st.integers(-300, 400), st.sampled_from(["R-1", "R-2", "R-3", "R-4"]),
              st.sampled_from(["3100", "9999"])),
)


@hyp_settings(max_examples=300, deadline=None)
@given(st.lists(_FACTS, max_size=8), _FACTS, st.lists(st.integers(-400, 1200), max_size=12))
def test_the_spans_a_fact_changes_are_exactly_where_the_standing_changes(
    policy: Policy, known: list[dict[str, Any]], new: dict[str, Any], days: list[int]
) -> None:
    """The spans are found from the firms' facts alone; they must agree with asking the
    standing at any time, turning points (and a microsecond either side) included."""
    from datetime import timedelta

    from stream.core.standing import (
        effect_window,
        in_spans,
        standing_changed,
        standing_changes,
        turning_points,
    )

    before = history(*known)
    after = history(*known)
    fact = model(new)
    if not after.add(fact):  # type: ignore[arg-type]
        return
    window = effect_window(fact, after, policy)  # type: ignore[arg-type]
    assert window is not None
    spans = standing_changes(FIRM, before, after, window, policy)
    tick = timedelta(microseconds=1)
    probes = {datetime.fromisoformat(_day(d)) for d in days}
    for p in turning_points(before, policy) | turning_points(after, policy):
        probes.update((p - tick, p, p + tick))
    for t in probes:
        inside = in_window(window, t)
        assert (inside and in_spans(spans, t)) == standing_changed(FIRM, before, after, t, policy)


@hyp_settings(max_examples=300, deadline=None)
@given(st.lists(_FACTS, max_size=8), st.lists(_FACTS, max_size=8), st.integers(-400, 1200))
def test_the_standing_compares_as_the_firm_s_reasons_do(
    policy: Policy, one: list[dict[str, Any]], other: list[dict[str, Any]], day: int
) -> None:
    """standing_changed compares what the reasons are made of: it must say "changed"
    exactly when firm_eligibility_at gives two histories other reasons."""
    from stream.core.eligibility import firm_eligibility_at
    from stream.core.standing import standing_changed

    a, b = history(*one), history(*other)
    t = datetime.fromisoformat(_day(day))
    reasons_differ = (firm_eligibility_at(FIRM, a, t, policy).reasons
                      != firm_eligibility_at(FIRM, b, t, policy).reasons)
    assert standing_changed(FIRM, a, b, t, policy) == reasons_differ
