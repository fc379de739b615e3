"""Records the pipeline publishes: status updates, release decisions, KPI snapshots,
dead letters and the duplicate audit trail."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.types import Timestamp


class Status(StrEnum):
    """Declaration statuses, lowest precedence first."""

    AWAITING_DECLARATION = "AWAITING_DECLARATION"
    ACCEPTED = "ACCEPTED"
    DOCUMENT_HOLD = "DOCUMENT_HOLD"
    INSPECTION_ORDERED = "INSPECTION_ORDERED"
    INSPECTION_SCHEDULED = "INSPECTION_SCHEDULED"
    INSPECTION_PASSED = "INSPECTION_PASSED"
    INSPECTION_FAILED = "INSPECTION_FAILED"
    RELEASED = "RELEASED"
    DEPARTED = "DEPARTED"
    RETURNED = "RETURNED"
    WITHDRAWN = "WITHDRAWN"


class Channel(StrEnum):
    GREEN = "GREEN"
    STANDARD = "STANDARD"


class DecisionKind(StrEnum):
    DOCUMENT_HOLD = "DOCUMENT_HOLD"
    INSPECTION_REQUIRED = "INSPECTION_REQUIRED"
    IMMEDIATE_RELEASE = "IMMEDIATE_RELEASE"
    STANDARD_REVIEW = "STANDARD_REVIEW"


class ErrorCode(StrEnum):
    """Why a message is a dead letter, in the order the checks run."""

    TOO_LARGE = "TOO_LARGE"
    INVALID_JSON = "INVALID_JSON"
    NOT_AN_OBJECT = "NOT_AN_OBJECT"
    UNKNOWN_EVENT_TYPE = "UNKNOWN_EVENT_TYPE"
    WRONG_TOPIC = "WRONG_TOPIC"
    SCHEMA_VIOLATION = "SCHEMA_VIOLATION"
    KEY_MISMATCH = "KEY_MISMATCH"
    EVENT_ID_CONFLICT = "EVENT_ID_CONFLICT"
    # A new event that would take its declaration past the state limits: it is not applied.
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    # Not a property of the message: processing it raised. Kept so nothing is lost.
    PROCESSING_ERROR = "PROCESSING_ERROR"


class _Output(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StatusCodes(_Output):
    """The status in standard codes (``schemas/status-codes.toml`` names each source);
    null where a standard has no equivalent."""

    wco: str | None = Field(description="WCO Data Model response function code")
    uk_cds: str | None = Field(description="HMRC CDS declaration status")
    eu_aes: str | None = Field(description="EU AES export declaration state")
    dcsa: str | None = Field(
        description="DCSA Track & Trace equipment event code (per equipment in DCSA)"
    )


class StatusUpdate(_Output):
    """The derived view of one declaration; published whenever the view changes."""

    declaration_id: str
    firm_id: str | None
    buyer_id: str | None
    buyer_reference: str | None
    port: str | None
    port_area: str | None
    status: Status
    channel: Channel | None
    decision: DecisionKind | None
    decision_reasons: list[str] | None
    eligibility_reasons: list[str] | None
    declared_at: Timestamp | None
    released_at: Timestamp | None
    clearance_hours: float | None
    within_24h: bool | None
    departed_at: Timestamp | None
    on_schedule: bool | None
    returned: bool
    tax_refund_eligible: bool
    codes: StatusCodes
    sequence: int = Field(ge=1, description="1, 2, 3 ... per declaration")
    updated_at: Timestamp = Field(description="When the pipeline published this update")


class EligibilitySnapshot(_Output):
    firm_id: str
    as_of: Timestamp
    channel: Channel
    reasons: list[str]
    enrolled: bool
    certificates: dict[str, str | None] = Field(
        description="Required standard -> id of the valid certificate, or null"
    )
    returns_in_lookback: int


class ReleaseDecision(_Output):
    declaration_id: str
    decision: DecisionKind
    reasons: list[str]
    channel: Channel
    eligibility: EligibilitySnapshot
    validation_problems: list[str]
    sampling_draw: float = Field(description="u in [0, 1) from the salted declaration id")
    policy_version: str
    decided_for_event_id: str = Field(description="The filing or amendment decided on")
    sequence: int = Field(ge=1)
    decided_at: Timestamp


class KpiSnapshot(_Output):
    port: str
    channel: Channel
    released: int
    mean_clearance_hours: float
    p50_clearance_hours: float
    p95_clearance_hours: float
    within_24h_share: float
    sequence: int = Field(ge=1)
    updated_at: Timestamp


class DeadLetter(_Output):
    source_topic: str
    partition: int
    offset: int
    key: str | None = Field(description="The message's key (its first 1,024 characters)")
    raw: str = Field(description="The body's first 64 KiB, as UTF-8 text or base64")
    raw_encoding: Literal["utf-8", "base64"]
    raw_length: int = Field(ge=0, description="The whole body's length in bytes")
    raw_sha256: str = Field(description="SHA-256 of the whole body, in hex")
    error_code: ErrorCode
    error_detail: str
    received_at: Timestamp


class Duplicate(_Output):
    """Audit record of an exact repeat that was counted and otherwise ignored."""

    source_topic: str
    partition: int
    offset: int
    key: str | None
    event_id: str
    received_at: Timestamp


class ForecastBasis(_Output):
    """What a declaration's expected release is computed from (``forecast-basis``,
    compacted): published whenever one of these changes."""

    declaration_id: str
    port: str
    channel: Channel
    goods: str = Field(description="The lines' product category, or mixed")
    inspected: bool = Field(description="An inspection ordered (before the release, if any)")
    declared_at: Timestamp
    open: bool = Field(description="Not released, departed, returned or withdrawn")
    released_at: Timestamp | None
    clearance_hours: float | None
    as_of: Timestamp = Field(description="The declaration's latest event time")


class ForecastGroup(_Output):
    port: str | None = None
    channel: Channel | None = None
    goods: str | None = None
    inspected: bool | None = None


class ForecastBasisOf(_Output):
    group: ForecastGroup = Field(description="The group level the figures come from")
    n: int = Field(ge=20, description="Past clearances of the group that qualified")
    as_of: Timestamp = Field(description="When the forecast was made")


class ExpectedRelease(_Output):
    """When an open declaration is likely to be released (computed when asked)."""

    p10_at: Timestamp
    p50_at: Timestamp
    p90_at: Timestamp
    p_within_24h: float = Field(ge=0, le=1, description="Share released within 24 h of filing")
    basis: ForecastBasisOf
