"""The ``customs-stream`` command line: parse, call, print. One module a group of
commands; ``common`` holds what they share."""

from __future__ import annotations

from stream.cli.broker import broker_app
from stream.cli.commands import app
from stream.cli.forecast import eta_check

__all__ = ["app", "main"]
from stream.cli.subscriptions import subscriptions_app
from stream.cli.tokens import tokens_app

app.add_typer(broker_app, name="broker")
app.add_typer(tokens_app, name="tokens")
app.add_typer(subscriptions_app, name="subscriptions")
app.command(name="eta-check")(eta_check)


def main() -> None:
    app()
