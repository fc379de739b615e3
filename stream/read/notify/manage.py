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
    replaying,
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
    ports: list[str] | None = None, channels: list[str] | None = None, ensure: bool = True,
) -> tuple[Subscription, str]:
    """A new subscription, stored, and its signing secret (to show once). ``ensure``:
    make the topics first (the commands; the API's process finds them made)."""
    problem = url_problem(url, settings.webhook_http_loopback)
    if problem is not None:
        raise SubscriptionError(f"refused URL: {problem}")
    if not buyer_id or len(buyer_id) > 64:
        raise SubscriptionError("a buyer id of 1 to 64 characters")
    box = SecretBox(settings)
    if ensure:
        await ensure_topics(settings.bootstrap_servers, Topology.from_settings(settings))
    made, secret = new_subscription(box, buyer_id, url, statuses or [], ports or [],
                                    channels or [])
    await catalogue.publish(settings, made)
    return made, secret


async def change_by_id(
    settings: Settings, subscription_id: str, what: Change,
) -> tuple[Subscription, str | None]:
    """``change`` for a subscription named by its id (read from the topic)."""
    return await change(settings, await known(settings, subscription_id), what)


async def known(settings: Settings, subscription_id: str) -> Subscription:
    """The subscription of that id, read from the topic; SubscriptionError if none."""
    found = (await subscriptions(settings)).get(subscription_id)
    if found is None:
        raise SubscriptionError(f"no subscription {subscription_id}")
    return found


async def change(
    settings: Settings, known: Subscription, what: Change,
) -> tuple[Subscription, str | None]:
    """Pause, resume, delete or rotate a subscription; a rotation's new secret is
    returned, to show once."""
    secret = None
    if what == "rotate":
        known, secret = rotated(SecretBox(settings), known, time.time())
    elif what in ("pause", "resume"):
        known = known.model_copy(update={"state": "paused" if what == "pause" else "active"})
    await catalogue.publish(settings, known, delete=what == "delete")
    return known, secret


async def replay(settings: Settings, known: Subscription, since: float) -> tuple[Subscription, str]:
    """Ask the notifiers to send again what the subscription would have received since
    ``since`` (epoch seconds, not in the future); returns the replay's id."""
    now = time.time()
    if since > now:
        raise SubscriptionError("a replay starts in the past")
    changed, asked = replaying(known, since, now)
    await catalogue.publish(settings, changed)
    return changed, asked.id
