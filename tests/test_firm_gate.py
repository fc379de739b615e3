from stream.agents.firm_gate import HOLD_ABOVE, RELEASE_AT, FirmGate


def test_the_gate_holds_until_measured_and_releases_with_hysteresis() -> None:
    gate = FirmGate()
    assert gate.holding  # nothing is known before the first measurement
    assert gate.decide(HOLD_ABOVE + 1)
    assert gate.decide(RELEASE_AT + 1)  # still behind: still holding
    assert not gate.decide(RELEASE_AT)
    assert not gate.decide(HOLD_ABOVE)  # a small backlog in real time holds nothing
    assert gate.decide(HOLD_ABOVE + 1)


def test_a_backlog_that_cannot_be_measured_holds_nothing() -> None:
    gate = FirmGate()
    assert not gate.decide(None)
