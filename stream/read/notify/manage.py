"""What the ``subscriptions`` commands (and the API) do to subscriptions."""

from __future__ import annotations

import time
from typing import Literal

from stream.admin import ensure_topics
from stream.read.notify import catalogue
from stream.read.notify.address import url_problem
from stream.read.notify.subscriptions import (
    SecretBox,
    Subscription,
    SubscriptionError,
    new_subscription,
    rotated,
)
from stream.settings import Settings
from stream.topics import Topology

Change = Literal["pause", "resume", "delete", "rotate"]


async def subscriptions(settings: Settings) -> dict[str, Subscription]:
    await ensure_topics(settings.bootstrap_servers, Topology.from_settings(settings))
    return await catalogue.Catalogue(settings).load()


async def add(
    settings: Settings, buyer_id: str, url: str, statuses: list[str] | None = None,
    ports: list[str] | None = None, channels: list[str] | None = None,
) -> tuple[Subscription, str]:
    """A new subscription, stored, and its signing secret (to show once)."""
    problem = url_problem(url, settings.webhook_http_loopback)
    if problem is not None:
        raise SubscriptionError(f"refused URL: {problem}")
    if not buyer_id or len(buyer_id) > 64:
        raise SubscriptionError("a buyer id of 1 to 64 characters")
    box = SecretBox(settings)
    await ensure_topics(settings.bootstrap_servers, Topology.from_settings(settings))
    made, secret = new_subscription(box, buyer_id, url, statuses or [], ports or [],
                                    channels or [])
    await catalogue.publish(settings, made)
    return made, secret


async def change(
    settings: Settings, subscription_id: str, what: Change, buyer_id: str | None = None,
) -> tuple[Subscription, str | None]:
    """Pause, resume, delete or rotate a subscription (of ``buyer_id``, when given); a
    rotation's new secret is returned, to show once."""
    known = (await subscriptions(settings)).get(subscription_id)
    if known is None or (buyer_id is not None and known.buyer_id != buyer_id):
        raise SubscriptionError(f"no subscription {subscription_id}")
    secret = None
    if what == "rotate":
        known, secret = rotated(SecretBox(settings), known, time.time())
    elif what in ("pause", "resume"):
        known = known.model_copy(update={"state": "paused" if what == "pause" else "active"})
    await catalogue.publish(settings, known, delete=what == "delete")
    return known, secret
