"""``customs-stream broker``: the local Kafka broker, for development, tests and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stream.broker import BrokerError, LocalBroker
from stream.cli.common import fail as _fail
from stream.cli.common import settings_or_exit as _settings

broker_app = typer.Typer(help="The local single-node Kafka broker.", no_args_is_help=True)


SecureOption = Annotated[
    bool, typer.Option("--secure", help="The secured broker: SASL_SSL, SCRAM users, ACLs")
]


def _local_broker(secure: bool = False) -> LocalBroker:
    settings = _settings()
    return LocalBroker(settings.cache_dir, settings.broker_port, secure)


@broker_app.command("start")
def broker_start(secure: SecureOption = False) -> None:
    """Start the local broker (fetching Kafka with Maven on first use) and wait for it."""
    broker = _local_broker(secure)
    try:
        status = broker.start()
        if secure:
            settings = _settings()
            broker.grant(settings.topic_prefix, settings.app_id)
    except (BrokerError, RuntimeError) as exc:
        _fail(str(exc))
    typer.echo(f"broker running (pid {status.pid}) at {status.bootstrap}; log: {status.log_file}")
    if secure:
        typer.echo(
            f"SASL_SSL with SCRAM-SHA-512; CA: {broker.home / 'tls' / 'ca.pem'}; users and "
            f"passwords: {broker.home / 'users.toml'}. A worker connects with\n"
            "  CUSTOMS_STREAM_KAFKA_SECURITY_PROTOCOL=SASL_SSL "
            "CUSTOMS_STREAM_KAFKA_USERNAME=pipeline\n"
            "  CUSTOMS_STREAM_KAFKA_PASSWORD=<its password> "
            f"CUSTOMS_STREAM_KAFKA_CA_FILE={broker.home / 'tls' / 'ca.pem'}"
        )


@broker_app.command("stop")
def broker_stop(secure: SecureOption = False) -> None:
    """Stop the local broker."""
    broker = _local_broker(secure)
    typer.echo("broker stopped" if broker.stop() else "no broker was running")


@broker_app.command("status")
def broker_status(secure: SecureOption = False) -> None:
    """Tell whether the local broker runs; exit 1 when it does not."""
    broker = _local_broker(secure)
    status = broker.status()
    if not status.running:
        typer.echo(f"broker not running (would be at {status.bootstrap})")
        raise typer.Exit(1)
    typer.echo(f"broker running (pid {status.pid}) at {status.bootstrap}; log: {status.log_file}")


@broker_app.command("compose-secrets")
def broker_compose_secrets(
    folder: Annotated[Path, typer.Argument(help="Where to make them (the secrets volume)")],
) -> None:
    """Make docker-compose.yml's secrets once: CA and certificates, users, ACLs."""
    from stream.broker.compose import make_secrets
    from stream.broker.secure import SecurityError

    settings = _settings()
    try:
        made = make_secrets(folder, settings.topic_prefix, settings.app_id)
    except SecurityError as exc:
        _fail(str(exc))
    typer.echo(f"secrets {'made' if made else 'kept'} in {folder}")
