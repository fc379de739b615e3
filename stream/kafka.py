"""How every Kafka client of the project connects: one security block in the settings
(``CUSTOMS_STREAM_KAFKA_*``) for the Faust app, the direct producer, the read of what was
published, admin, replay, simulate, publish and the benchmarks; and one set of delivery
settings that outlast a broker's loss (``FAILOVER``): every producer waits for all
in-sync replicas and is idempotent, and every request may take longer than a leader
election. The project makes its clients here only (``producer``, ``consumer``,
``admin``; the Faust app's own are set up in ``stream.runtime.app`` and its fix 9);
``tests/test_kafka_clients.py`` holds that line.

A process takes its settings once (``configure``); clients built from a bare bootstrap
address then get the same security. The password is a secret: never logged.
"""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from stream.settings import Settings

# A broker killed outright is noticed by the controller after broker.session.timeout.ms
# (9 s) and its partitions get new leaders within a second or two: a request may take 40 s
# before it counts as failed, and a send is retried until then. What still fails after it
# fails the sender: the worker stops (fail-stop), nothing is dropped. The retry backoff
# stays aiokafka's 100 ms: aiokafka waits it out at every step that is not ready yet
# (finding a group's coordinator, joining a group, the metadata of a topic just made),
# and 250 ms made every start of a worker or a reader slower (the suite ran 1.5 times as
# long) without making a failover any safer: the request timeout bounds that.
REQUEST_TIMEOUT_MS = 40_000
FAILOVER: dict[str, Any] = {"request_timeout_ms": REQUEST_TIMEOUT_MS}
PRODUCER_DELIVERY: dict[str, Any] = {**FAILOVER, "acks": "all", "enable_idempotence": True}

_configured: Settings | None = None


def configure(settings: Settings) -> None:
    """The settings whose security block every client of this process uses."""
    global _configured
    _configured = settings


def configured() -> Settings:
    """The settings given to ``configure`` (the defaults before)."""
    return _configured if _configured is not None else Settings()


def ssl_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(
        cafile=str(settings.kafka_ca_file) if settings.kafka_ca_file else None
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def client_options(settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments for aiokafka's producer, consumer and admin client."""
    settings = settings or configured()
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol, "ssl_context": ssl_context(settings)}
    if protocol == "SASL_SSL":
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_username,
            sasl_plain_password=settings.kafka_password.get_secret_value()
            if settings.kafka_password else None,
        )
    return options


def faust_credentials(settings: Settings) -> Any:
    """The same security for Faust's own clients (None: plaintext)."""
    import faust  # here: the API process and the tools have no Faust app

    options = client_options(settings)
    if not options:
        return None
    if options["security_protocol"] == "SSL":
        return faust.SSLCredentials(options["ssl_context"])
    return faust.SASLCredentials(
        username=options["sasl_plain_username"], password=options["sasl_plain_password"],
        ssl_context=options["ssl_context"], mechanism=options["sasl_mechanism"],
    )


def producer(bootstrap: str, settings: Settings | None = None, **extra: Any) -> AIOKafkaProducer:
    """A producer that waits for every in-sync replica and is idempotent (``extra`` may
    tune batching, never weaken delivery)."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, **client_options(settings),
                            **{**extra, **PRODUCER_DELIVERY})


def consumer(bootstrap: str, *topics: str, settings: Settings | None = None,
             **extra: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap,
                            **client_options(settings), **{**extra, **FAILOVER})


def admin(bootstrap: str, settings: Settings | None = None) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options(settings),
                               **FAILOVER)
