from __future__ import annotations

from datetime import UTC, datetime

from schemas.outputs import StatusUpdate
from stream.core.eligibility import FirmHistory
from stream.core.lifecycle import DeclarationState
from stream.core.policy import load_policy
from stream.ingest import content_digest
from stream.records import status_update
from stream.settings import DEFAULT_POLICY
from tests.builders import DECL, filed, lifecycle, model


def test_a_status_update_has_exactly_the_models_shape() -> None:
    policy = load_policy(DEFAULT_POLICY)
    state = DeclarationState(DECL)
    history = FirmHistory()
    for n, document in enumerate([filed(), lifecycle("GoodsReleased", "2026-05-10T09:00:00Z")]):
        step = state.apply(model(document), content_digest(document), f"t:0:{n}",
                           lambda _: history, policy)
    assert step.status is not None
    view, sequence = step.status
    record = status_update(view, sequence, datetime(2026, 5, 10, 9, 30, tzinfo=UTC))
    parsed = StatusUpdate.model_validate(record)
    assert parsed.model_dump(mode="json") == record
    assert record["updated_at"] == "2026-05-10T09:30:00Z"
    assert record["clearance_hours"] == 32.0 and record["sequence"] == 2


def test_a_release_decision_has_exactly_the_models_shape() -> None:
    from schemas.outputs import ReleaseDecision
    from stream.records import release_decision
    from tests.builders import qualified_firm

    policy = load_policy(DEFAULT_POLICY)
    state = DeclarationState(DECL)
    history = FirmHistory()
    for fact in qualified_firm():
        history.add(model(fact))  # type: ignore[arg-type]
    step = state.apply(model(filed()), content_digest(filed()), "t:0:0", lambda _: history,
                       policy)
    assert step.decision is not None
    assessment, sequence = step.decision
    record = release_decision(DECL, assessment, sequence, policy.version,
                              datetime(2026, 5, 9, 1, 0, 0, 250_000, tzinfo=UTC))
    parsed = ReleaseDecision.model_validate(record)
    assert parsed.model_dump(mode="json") == record
    assert record["decided_at"] == "2026-05-09T01:00:00.250000Z"
    assert record["channel"] == "GREEN" and record["eligibility"]["as_of"] == "2026-05-09T01:00:00Z"
    assert record["eligibility"]["certificates"] == {
        "ISO9001": "ISO9001-7777", "ISO14001": "ISO14001-7777"}


def test_a_kpi_snapshot_has_exactly_the_models_shape() -> None:
    from schemas.outputs import KpiSnapshot
    from stream.core.kpi import Kpi
    from stream.records import kpi_snapshot

    kpi = Kpi("CNNGB", "GREEN", 3, 10.5, 9.0, 20.25, 0.6667)
    record = kpi_snapshot(kpi, 4, datetime(2026, 5, 10, 9, 30, tzinfo=UTC))
    parsed = KpiSnapshot.model_validate(record)
    assert parsed.model_dump(mode="json") == record
    assert list(record) == list(KpiSnapshot.model_fields)
    assert record["updated_at"] == "2026-05-10T09:30:00Z" and record["sequence"] == 4
