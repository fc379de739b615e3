"""The local Kafka broker used for development, tests and the demo."""

from stream.broker.launcher import BrokerError, BrokerStatus, LocalBroker, kafka_version

__all__ = ["BrokerError", "BrokerStatus", "LocalBroker", "kafka_version"]
