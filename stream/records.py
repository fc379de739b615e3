"""Output records built from the core's results: what the pipeline publishes."""

from __future__ import annotations

from datetime import datetime

from schemas.outputs import (
    Channel,
    EligibilitySnapshot,
    KpiSnapshot,
    ReleaseDecision,
    StatusUpdate,
)
from stream.core.declaration import Assessment, DeclarationView
from stream.core.kpi import Kpi
from stream.core.lifecycle import view_json


def status_update(view: DeclarationView, sequence: int, now: datetime) -> StatusUpdate:
    return StatusUpdate.model_validate(
        {**view_json(view), "sequence": sequence, "updated_at": now}
    )


def release_decision(
    declaration_id: str, assessment: Assessment, sequence: int, policy_version: str,
    now: datetime,
) -> ReleaseDecision:
    e = assessment.eligibility
    return ReleaseDecision(
        declaration_id=declaration_id,
        decision=assessment.decision.kind,
        reasons=list(assessment.decision.reasons),
        channel=e.channel,
        eligibility=EligibilitySnapshot(
            firm_id=e.firm_id,
            as_of=e.as_of,
            channel=e.channel,
            reasons=list(e.reasons),
            enrolled=e.enrolled,
            certificates=dict(e.certificates),
            returns_in_lookback=e.returns_in_lookback,
        ),
        validation_problems=list(assessment.problems),
        sampling_draw=assessment.decision.draw,
        policy_version=policy_version,
        decided_for_event_id=assessment.event_id,
        sequence=sequence,
        decided_at=now,
    )


def kpi_snapshot(kpi: Kpi, sequence: int, now: datetime) -> KpiSnapshot:
    return KpiSnapshot(
        port=kpi.port,
        channel=Channel(kpi.channel),
        released=kpi.released,
        mean_clearance_hours=kpi.mean_clearance_hours,
        p50_clearance_hours=kpi.p50_clearance_hours,
        p95_clearance_hours=kpi.p95_clearance_hours,
        within_24h_share=kpi.within_24h_share,
        sequence=sequence,
        updated_at=now,
    )
