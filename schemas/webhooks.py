"""What the notifiers publish about buyer webhooks: every delivery attempt
(``webhook-deliveries``) and every update given up (``webhook-dead-letters``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.types import Timestamp

Outcome = Literal["delivered", "retry", "disabled", "given_up"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WebhookAttempt(_Record):
    """One attempt to deliver a status update to a subscription's URL."""

    subscription_id: str
    buyer_id: str
    at: Timestamp
    webhook_id: str = Field(description="{declaration_id}:{sequence}")
    http_status: int | None = Field(description="null when no answer came (see problem)")
    problem: str | None = Field(description="why there was no answer: a timeout, a refusal")
    latency_ms: float = Field(ge=0)
    outcome: Outcome
    next_try_at: Timestamp | None = Field(description="when it is tried again (retry)")
    replay: bool = Field(description="an attempt of a replay the buyer asked for")


class WebhookDeadLetter(_Record):
    """A status update given up after its last try (or at once, for an address that is
    not public), and the declaration's next update then followed."""

    subscription_id: str
    buyer_id: str
    webhook_id: str = Field(description="{declaration_id}:{sequence}")
    declaration_id: str
    sequence: int = Field(ge=1)
    reason: str
    given_up_at: Timestamp
    update: dict[str, Any] = Field(description="the StatusUpdate, as published")
