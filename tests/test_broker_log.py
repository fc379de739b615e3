"""The local broker's log stays bounded: quiet per-partition loggers, and a large log is
moved aside when the broker starts."""

from __future__ import annotations

from pathlib import Path

import yaml

from stream.broker.launcher import RESOURCES, LocalBroker
from stream.broker.processes import move_aside_if_over


def test_a_large_log_is_moved_aside_a_small_one_kept(tmp_path: Path) -> None:
    log = LocalBroker(tmp_path, 29999).log_file
    log.parent.mkdir(parents=True)
    log.write_bytes(b"x" * 100)
    move_aside_if_over(log, 100)
    assert log.read_bytes() == b"x" * 100  # not over the size: kept
    log.write_bytes(b"y" * 101)
    old = log.with_name("broker.log.1")
    old.write_bytes(b"older")
    move_aside_if_over(log, 100)
    assert not log.exists()
    assert old.read_bytes() == b"y" * 101  # the one before it is replaced


def test_per_partition_loggers_are_quiet_and_the_start_is_still_said() -> None:
    config = yaml.safe_load((RESOURCES / "log4j2.yaml").read_text())
    levels = {logger["name"]: logger["level"]
              for logger in config["Configuration"]["Loggers"]["Logger"]}
    for name in ("state.change.logger", "kafka.log", "kafka.cluster",
                 "org.apache.kafka.storage", "kafka.server.metadata"):
        assert levels.get(name) == "WARN", name
    # "Kafka Server started" (kafka.server.KafkaRaftServer) is how a start is known
    assert config["Configuration"]["Loggers"]["Root"]["level"] == "INFO"
    assert "kafka.server" not in levels
