"""``customs-stream subscriptions``: buyers' webhook subscriptions (ops' side)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer

from stream.admin import BrokerUnavailable
from stream.cli.common import fail as _fail
from stream.cli.common import instant
from stream.cli.common import settings_or_exit as _settings
from stream.read.notify import manage
from stream.read.notify.subscriptions import SubscriptionError

subscriptions_app = typer.Typer(
    help="Webhook subscriptions: where buyers are told of their declarations' statuses.",
    no_args_is_help=True,
)
Many = Annotated[list[str] | None, typer.Option(help="Only these (repeat the option)")]
T = TypeVar("T")


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run one change; a refusal or a broker that does not answer ends the command."""
    try:
        return asyncio.run(work)
    except (SubscriptionError, BrokerUnavailable) as exc:
        _fail(str(exc))


@subscriptions_app.command("key")
def key() -> None:
    """Print a new key for CUSTOMS_STREAM_WEBHOOK_KEY (it encrypts signing secrets)."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())


@subscriptions_app.command("add")
def add(
    buyer: Annotated[str, typer.Option(help="The buyer whose updates are sent")],
    url: Annotated[str, typer.Option(help="The receiver: an https URL")],
    statuses: Many = None, ports: Many = None, channels: Many = None,
) -> None:
    """Subscribe a URL to a buyer's status updates; print its id and its signing secret
    (shown this once)."""
    made, secret = _run(manage.add(_settings(), buyer, url, statuses, ports, channels))
    typer.echo(json.dumps({"id": made.id, "secret": secret}))


@subscriptions_app.command("list")
def listing(buyer: Annotated[str | None, typer.Option(help="Only this buyer's")] = None) -> None:
    """Every subscription (secrets are never shown), one JSON object a line."""
    for made in _run(manage.subscriptions(_settings())).values():
        if buyer is None or made.buyer_id == buyer:
            typer.echo(json.dumps(made.shown()))


def _change(subscription_id: str, what: manage.Change) -> None:
    made, secret = _run(manage.change_by_id(_settings(), subscription_id, what))
    shown = {"id": made.id, "state": "deleted" if what == "delete" else made.state}
    typer.echo(json.dumps(shown | ({"secret": secret} if secret else {})))


@subscriptions_app.command("rotate")
def rotate(subscription_id: str) -> None:
    """Give a subscription a new signing secret (shown once); the old one also signs
    for 24 hours."""
    _change(subscription_id, "rotate")


@subscriptions_app.command("pause")
def pause(subscription_id: str) -> None:
    """Hold a subscription's deliveries (they wait, queued) until it is resumed."""
    _change(subscription_id, "pause")


@subscriptions_app.command("resume")
def resume(subscription_id: str) -> None:
    """Deliver again (also after the receiver answered 410 and it was disabled)."""
    _change(subscription_id, "resume")


@subscriptions_app.command("delete")
def delete(subscription_id: str) -> None:
    """Delete a subscription; what was queued for it is dropped."""
    _change(subscription_id, "delete")


@subscriptions_app.command("replay")
def replay(
    subscription_id: str,
    since: Annotated[str, typer.Option(help="RFC 3339 time with an offset")],
) -> None:
    """Send again, marked webhook-replay, what the subscription would have received from
    SINCE until now (a separate stream, ordered per declaration)."""
    moment = instant(since, "--since")
    settings = _settings()

    async def ask() -> str:
        subscription = await manage.known(settings, subscription_id)
        return (await manage.replay(settings, subscription, moment.timestamp()))[1]

    typer.echo(json.dumps({"id": subscription_id, "replay_id": _run(ask())}))
