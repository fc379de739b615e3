from __future__ import annotations

import hashlib

from schemas.events import Line
from schemas.outputs import Channel, DecisionKind
from stream.core.decision import decide, sampling_draw
from stream.core.policy import Policy
from tests.builders import line

BEARINGS = [Line.model_validate(line())]
BATTERY = [Line.model_validate(line(hs_code="8507600000", un_number="UN3480"))]


def _id_with_draw(policy: Policy, low: float, high: float) -> str:
    for n in range(100000):
        candidate = f"3100{n:014d}"
        if low <= sampling_draw(policy.sampling_salt, candidate) < high:
            return candidate
    raise AssertionError("no id found")


def test_draw_is_the_salted_sha256_of_the_id() -> None:
    digest = hashlib.sha256(b"salt:310020260000000101").digest()
    assert sampling_draw("salt", "310020260000000101") == int.from_bytes(digest[:8], "big") / 2**64


def test_document_problems_hold_whatever_the_channel(policy: Policy) -> None:
    d = decide("310020260000000101", ["PACKAGING_MISSING"], BATTERY, Channel.GREEN, policy)
    assert (d.kind, d.reasons) == (DecisionKind.DOCUMENT_HOLD, ("PACKAGING_MISSING",))


def test_dangerous_goods_are_always_inspected(policy: Policy) -> None:
    d = decide("310020260000000101", [], BATTERY, Channel.GREEN, policy)
    assert (d.kind, d.reasons) == (DecisionKind.INSPECTION_REQUIRED, ("DANGEROUS_GOODS",))


def test_green_channel_releases_immediately_unless_sampled(policy: Policy) -> None:
    rate = policy.green_channel.inspection_rate
    released = decide(_id_with_draw(policy, rate, 1), [], BEARINGS, Channel.GREEN, policy)
    assert (released.kind, released.reasons) == (DecisionKind.IMMEDIATE_RELEASE, ())
    sampled = decide(_id_with_draw(policy, 0, rate), [], BEARINGS, Channel.GREEN, policy)
    assert (sampled.kind, sampled.reasons) == (DecisionKind.INSPECTION_REQUIRED, ("RANDOM_SAMPLE",))


def test_standard_channel_is_reviewed_unless_sampled(policy: Policy) -> None:
    rate = policy.standard_inspection_rate
    reviewed = decide(_id_with_draw(policy, rate, 1), [], BEARINGS, Channel.STANDARD, policy)
    assert reviewed.kind is DecisionKind.STANDARD_REVIEW
    sampled = decide(_id_with_draw(policy, 0, rate), [], BEARINGS, Channel.STANDARD, policy)
    assert (sampled.kind, sampled.reasons) == (DecisionKind.INSPECTION_REQUIRED, ("RANDOM_SAMPLE",))


def test_a_draw_between_the_two_rates_separates_the_channels(policy: Policy) -> None:
    between = _id_with_draw(
        policy, policy.green_channel.inspection_rate, policy.standard_inspection_rate
    )
    green = decide(between, [], BEARINGS, Channel.GREEN, policy).kind
    assert green is DecisionKind.IMMEDIATE_RELEASE
    standard = decide(between, [], BEARINGS, Channel.STANDARD, policy).kind
    assert standard is DecisionKind.INSPECTION_REQUIRED
