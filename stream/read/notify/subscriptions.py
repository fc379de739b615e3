"""Subscriptions: who is told what, where, and with which signing secrets.

They live in the compacted ``webhook-subscriptions`` topic (key: the subscription's id;
a tombstone deletes one), which every notifier reads whole. A signing secret is shown
once, when it is made, and stored only encrypted (Fernet, with the deployment's
``CUSTOMS_STREAM_WEBHOOK_KEY``): the topic, its logs and this process's output never
hold one in clear.
"""

from __future__ import annotations

import secrets
import time
from typing import Literal

from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, Field

from stream.core.webhooks import Filters
from stream.read.notify import signing
from stream.settings import Settings

ROTATION_OVERLAP = 24 * 3600.0  # seconds the previous secret still signs after a rotation
State = Literal["active", "paused", "disabled"]  # disabled: the receiver answered 410


class SubscriptionError(ValueError):
    """A subscription that cannot be made or changed as asked (the message says why)."""


class SealedSecret(BaseModel):
    sealed: str  # the secret, encrypted
    until: float | None = None  # epoch seconds after which it no longer signs


class Replay(BaseModel):
    """Send again what was published from ``since`` until the moment it was asked."""

    id: str
    since: float  # epoch seconds
    requested_at: float


KEPT_REPLAYS = 5  # the latest replays a subscription remembers (a newer one supersedes)


class Subscription(BaseModel):
    id: str
    buyer_id: str
    url: str
    statuses: list[str] = Field(default_factory=list)
    ports: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    state: State = "active"
    created_at: float  # epoch seconds: updates published before it are not sent
    secrets: list[SealedSecret]  # the newest first
    replays: list[Replay] = Field(default_factory=list)  # the newest last

    @property
    def filters(self) -> Filters:
        return Filters(frozenset(self.statuses), frozenset(self.ports),
                       frozenset(self.channels))

    def shown(self) -> dict[str, object]:
        """What a listing shows: everything but the secrets."""
        return self.model_dump(exclude={"secrets", "replays"}) | {
            "rotating_until": next((s.until for s in self.secrets if s.until), None),
        }


class SecretBox:
    """Seals and opens signing secrets with the deployment's key."""

    def __init__(self, settings: Settings) -> None:
        if settings.webhook_key is None or not settings.webhook_key.get_secret_value():
            raise SubscriptionError(
                "CUSTOMS_STREAM_WEBHOOK_KEY is not set: make one with "
                "`customs-stream subscriptions key` and keep it with your other secrets"
            )
        try:
            self._fernet = Fernet(settings.webhook_key.get_secret_value().encode())
        except ValueError:
            raise SubscriptionError(
                "CUSTOMS_STREAM_WEBHOOK_KEY is not a key made by "
                "`customs-stream subscriptions key`"
            ) from None

    def seal(self, secret: str, until: float | None = None) -> SealedSecret:
        return SealedSecret(sealed=self._fernet.encrypt(secret.encode()).decode(), until=until)

    def in_force(self, subscription: Subscription, now: float) -> list[str]:
        """The secrets that sign a delivery now, the newest first."""
        opened = []
        for sealed in subscription.secrets:
            if sealed.until is not None and sealed.until <= now:
                continue
            try:
                opened.append(self._fernet.decrypt(sealed.sealed.encode()).decode())
            except InvalidToken:
                raise SubscriptionError(
                    f"subscription {subscription.id}: its secret was sealed with another "
                    "CUSTOMS_STREAM_WEBHOOK_KEY"
                ) from None
        return opened


def new_subscription(
    box: SecretBox, buyer_id: str, url: str, statuses: list[str], ports: list[str],
    channels: list[str], now: float | None = None,
) -> tuple[Subscription, str]:
    """A new subscription and its signing secret (to show once)."""
    secret = signing.new_secret()
    made = Subscription(
        id="sub_" + secrets.token_hex(8), buyer_id=buyer_id, url=url, statuses=statuses,
        ports=ports, channels=channels, created_at=time.time() if now is None else now,
        secrets=[box.seal(secret)],
    )
    return made, secret


def replaying(subscription: Subscription, since: float, now: float) -> tuple[Subscription, Replay]:
    """The subscription with a replay of what was published from ``since`` until now."""
    asked = Replay(id="rpl_" + secrets.token_hex(6), since=since, requested_at=now)
    kept = [*subscription.replays, asked][-KEPT_REPLAYS:]
    return subscription.model_copy(update={"replays": kept}), asked


def rotated(box: SecretBox, subscription: Subscription, now: float) -> tuple[Subscription, str]:
    """The subscription with a new secret; the previous one signs too for 24 hours."""
    secret = signing.new_secret()
    kept = [s for s in subscription.secrets if s.until is None or s.until > now][:1]
    previous = [s.model_copy(update={"until": now + ROTATION_OVERLAP}) for s in kept]
    return subscription.model_copy(update={"secrets": [box.seal(secret), *previous]}), secret
