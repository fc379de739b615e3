"""``customs-stream broker``: the local Kafka broker or cluster, for development, tests and
the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stream.broker import BrokerError, LocalBroker
from stream.broker.cluster import LocalCluster
from stream.cli.common import fail as _fail
from stream.cli.common import settings_or_exit as _settings

broker_app = typer.Typer(
    help="The local Kafka broker, or a local cluster of several (--brokers 3).",
    no_args_is_help=True,
)


SecureOption = Annotated[
    bool, typer.Option("--secure", help="The secured broker: SASL_SSL, SCRAM users, ACLs")
]
BrokersOption = Annotated[
    int | None,
    typer.Option("--brokers", min=1, max=9, show_default=False,
                 help="Nodes of a local cluster (combined broker and controller each); "
                      "stop and status find a running cluster by themselves"),
]


def _local_kafka(secure: bool, brokers: int | None) -> LocalBroker | LocalCluster:
    settings = _settings()
    if brokers is None:
        brokers = LocalCluster.recorded_size(settings.cache_dir, settings.broker_port, secure)
    if brokers > 1:
        return LocalCluster(settings.cache_dir, settings.broker_port, brokers, secure)
    return LocalBroker(settings.cache_dir, settings.broker_port, secure)


@broker_app.command("start")
def broker_start(secure: SecureOption = False, brokers: BrokersOption = None) -> None:
    """Start the local broker, or cluster (fetching Kafka with Maven on first use), and
    wait for it."""
    kafka = _local_kafka(secure, brokers or 1)
    try:
        kafka.start()
        if secure:
            settings = _settings()
            kafka.grant(settings.topic_prefix, settings.app_id)
    except (BrokerError, RuntimeError) as exc:
        _fail(str(exc))
    _say_status(kafka)
    if isinstance(kafka, LocalCluster):
        replicas = min(kafka.size, 3)
        typer.echo(
            f"A worker uses it with\n  CUSTOMS_STREAM_BROKER={kafka.bootstrap} "
            f"CUSTOMS_STREAM_REPLICATION_FACTOR={replicas} "
            f"CUSTOMS_STREAM_MIN_INSYNC_REPLICAS={2 if replicas >= 3 else 1}"
        )
    if secure:
        home = kafka.home if isinstance(kafka, LocalCluster) else kafka.security_home
        typer.echo(
            f"SASL_SSL with SCRAM-SHA-512; CA: {home / 'tls' / 'ca.pem'}; users and "
            f"passwords: {home / 'users.toml'}. A worker connects with\n"
            "  CUSTOMS_STREAM_KAFKA_SECURITY_PROTOCOL=SASL_SSL "
            "CUSTOMS_STREAM_KAFKA_USERNAME=pipeline\n"
            "  CUSTOMS_STREAM_KAFKA_PASSWORD=<its password> "
            f"CUSTOMS_STREAM_KAFKA_CA_FILE={home / 'tls' / 'ca.pem'}"
        )


def _say_status(kafka: LocalBroker | LocalCluster) -> bool:
    """One line a node; True when every node runs."""
    statuses = kafka.status().nodes if isinstance(kafka, LocalCluster) else [kafka.status()]
    for status in statuses:
        if status.running:
            typer.echo(f"broker running (pid {status.pid}) at {status.bootstrap}; "
                       f"log: {status.log_file}")
        else:
            typer.echo(f"broker not running (would be at {status.bootstrap})")
    return all(status.running for status in statuses)


@broker_app.command("stop")
def broker_stop(secure: SecureOption = False, brokers: BrokersOption = None) -> None:
    """Stop the local broker, or every node of the local cluster."""
    kafka = _local_kafka(secure, brokers)
    typer.echo("broker stopped" if kafka.stop() else "no broker was running")


@broker_app.command("status")
def broker_status(secure: SecureOption = False, brokers: BrokersOption = None) -> None:
    """Tell whether the local broker (every node of the cluster) runs; exit 1 when not."""
    if not _say_status(_local_kafka(secure, brokers)):
        raise typer.Exit(1)


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
