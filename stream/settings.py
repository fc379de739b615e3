"""Settings of a pipeline instance, read from the environment (prefix ``CUSTOMS_STREAM_``).

One object configures everything a worker, the replay command, the simulator and the
tests need, so that an isolated pipeline is just a Settings with another topic prefix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream.core.policy import Policy, load_policy, with_salt

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_POLICY = PACKAGE_DIR / "policy.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CUSTOMS_STREAM_", extra="ignore")

    broker: str = Field(
        "127.0.0.1:19092",
        description="Kafka bootstrap servers, comma separated (host:port).",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How clients reach Kafka: PLAINTEXT, SSL, or SASL_SSL.",
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism (with SASL_SSL).",
    )
    kafka_username: str | None = Field(None, description="SASL user (with SASL_SSL).")
    kafka_password: SecretStr | None = Field(None, description="SASL password (a secret).")
    kafka_password_file: Path | None = Field(
        None, description="A file holding the SASL password (instead of _PASSWORD).",
    )
    kafka_ca_file: Path | None = Field(
        None, description="CA certificate(s) (PEM) that signed the brokers' certificates.",
    )
    topic_prefix: str = Field("customs", description="Prefix of every topic name.")
    app_id: str = Field("customs-stream", description="Faust app id and consumer group.")
    store: str = Field(
        "rocksdb://", description="Table store: rocksdb:// (on disk) or memory:// (tests)."
    )
    data_dir: Path = Field(
        Path(".cache/customs-stream/worker"), description="Worker data (RocksDB tables)."
    )
    web_host: str = Field("127.0.0.1", description="Address the worker's HTTP API binds.")
    web_port: int = Field(6066, description="Port of the worker's HTTP API and /metrics.")
    web_enabled: bool = Field(True, description="Serve the HTTP API from the worker.")
    web_tls_cert: Path | None = Field(
        None, description="Certificate chain (PEM) the API serves HTTPS with; with _KEY.",
    )
    web_tls_key: Path | None = Field(None, description="Private key (PEM) of that certificate.")
    policy_file: Path = Field(DEFAULT_POLICY, description="Policy TOML (scope, rates, rules).")
    sampling_salt: SecretStr | None = Field(
        None, description="Secret salt of inspection sampling; replaces the policy file's.",
    )
    tokens_file: Path | None = Field(None, description="API bearer tokens (TOML).")
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Origins whose pages may call the API (CORS), as JSON: ["https://x"].',
    )
    partitions: int = Field(4, ge=1, le=256, description="Partitions of each keyed topic.")
    replication_factor: int = Field(
        1, ge=1, le=16, description="Replicas of every topic it creates (3 in production).",
    )
    min_insync_replicas: int = Field(
        1, ge=1, le=16, description="Replicas that must have a write before it counts.",
    )
    commit_interval: float = Field(
        2.0, gt=0, description="Seconds between offset commits of processed messages."
    )
    session_timeout: float = Field(
        10.0, gt=1, description="Seconds before a silent worker's partitions move on."
    )
    stall_timeout: float = Field(
        900.0, gt=0,
        description="Seconds a partition may have work past its last commit without the "
        "commit moving; then the worker stops, for its supervisor to restart it.",
    )
    slice_events: int = Field(
        200, ge=1, le=10_000,
        description="Most messages an agent handles before it seals their state and "
        "outputs (fewer when its queue runs empty): the writes of a slice to one key are "
        "stored once. Also the most records of one partition's fetch handed to an agent "
        "as one queue item.",
    )
    producer_linger_ms: int = Field(
        5, ge=0, le=1000,
        description="How long the producer waits to fill a batch of single sends (the "
        "notifier's); a worker hands its outputs and changelog records over in complete "
        "batches, sent at once.",
    )
    producer_batch_bytes: int = Field(
        1024 * 1024, ge=1024, le=16 * 1024 * 1024,
        description="Most bytes the producer puts in one batch for one partition (Faust's "
        "16 KiB holds two or three declaration states).",
    )
    max_message_bytes: int = Field(
        8 * 1024 * 1024, description="Largest message an input topic accepts."
    )
    status_compaction_lag: float = Field(
        7 * 24 * 3600.0, ge=0,
        description="Seconds an update on declaration-status is kept before compaction "
        "may drop it for a later one: longer than any notifier outage you plan for.",
    )
    webhook_key: SecretStr | None = Field(
        None, description="Key (Fernet, from `customs-stream subscriptions key`) that "
        "encrypts webhook signing secrets where they are stored (a secret).",
    )
    webhook_http_loopback: bool = Field(
        False, description="Let subscriptions use http to this machine (tests, the demo).",
    )
    webhook_timeout: float = Field(
        10.0, gt=0, le=60, description="Seconds a receiver has to answer a delivery.",
    )
    webhook_retry_for: float = Field(
        24 * 3600.0, gt=0, description="Seconds an update is retried before it becomes "
        "a webhook dead letter.",
    )
    webhook_first_retry: float = Field(
        5.0, gt=0, le=3600, description="Seconds before a failed delivery's first retry "
        "(doubled for each later one, with jitter, up to an hour).",
    )
    webhook_concurrency: int = Field(
        64, ge=1, le=1024, description="Deliveries a notifier makes at once.",
    )
    notifier_id: str = Field(
        "customs-stream-notifier", description="The notifiers' Faust app id and group.",
    )
    notifier_port: int = Field(6068, description="Port of a notifier's /metrics and /health.")
    cache_dir: Path = Field(
        Path(".cache/customs-stream"), description="Local broker jars, data and logs."
    )
    broker_port: int = Field(19092, description="Port of the local broker (broker start).")
    log_level: str = Field("info", description="Worker log level.")
    gc_young_threshold: int = Field(
        400_000, ge=1,
        description="Allocations between two young-generation collections (CPython's: 700).",
    )
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop", description="The worker's event loop: uvloop (faster) or asyncio's own.",
    )

    @model_validator(mode="after")
    def _password_from_its_file(self) -> Settings:
        if self.kafka_password is None and self.kafka_password_file is not None:
            try:
                text = self.kafka_password_file.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:  # the path, never the content
                raise ValueError(f"the Kafka password file {self.kafka_password_file} "
                                 f"cannot be read ({type(exc).__name__})") from None
            self.kafka_password = SecretStr(text)
        return self

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_is_a_topic_name(cls, value: str) -> str:
        allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        if not value or not set(value) <= allowed or len(value) > 120:
            raise ValueError("topic prefix must be 1-120 of [A-Za-z0-9._-]")
        return value

    @property
    def bootstrap_servers(self) -> str:
        """Broker address without a ``kafka://`` scheme, as aiokafka wants it."""
        return ",".join(
            part.removeprefix("kafka://").strip() for part in self.broker.split(",")
        )

    @property
    def faust_broker(self) -> str:
        return ";".join(f"kafka://{s}" for s in self.bootstrap_servers.split(","))


def policy_of(settings: Settings) -> Policy:
    """The policy file's rules, with the deployment's secret sampling salt when it is set."""
    salt = settings.sampling_salt
    return with_salt(load_policy(settings.policy_file), salt.get_secret_value() if salt else None)
