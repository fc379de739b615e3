"""The Faust app a worker runs, built from Settings (the agents are declared on it by
``stream.agents``; ``stream.worker.app`` wires the whole worker)."""

from __future__ import annotations

import ssl
from datetime import timedelta
from typing import Any

import faust

from stream import kafka
from stream.runtime.heldtable import HeldTable
from stream.settings import Settings

# Faust's own routes, off (faust-streaming 0.15.3 settings): its /table/ routes would serve
# a table's values to anyone.
FAUST_ROUTES_OFF: dict[str, Any] = {
    "web_router_enabled": False, "web_tables_enabled": False, "web_graph_enabled": False,
    "web_stats_enabled": False, "web_metrics_enabled": False,
}

# What one fetch takes of each partition. Not a limit on message size: the broker hands
# over a first record larger than this all the same (KIP-74). It bounds what waits in
# memory: a worker with a long backlog held this much for each of its ~30 partitions.
FETCH_PER_PARTITION = 1024 * 1024


def faust_app(settings: Settings, web_ssl_context: ssl.SSLContext | None = None) -> faust.App:
    """The Faust app of a worker: its broker, store, clients and web server, with Faust's
    own web routes off. The agents and tables are declared on it by ``stream.agents``."""
    # Faust makes the app's folder but not its parents.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        settings.app_id,
        broker=settings.faust_broker,
        store=settings.store,
        # One folder per app id: RocksDB keeps, per table, the changelog offset it holds,
        # and tables of the same name under another app id have other changelogs.
        datadir=str(settings.data_dir / settings.app_id),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,  # only Faust's own changelog topics; ours exist already
        broker_commit_interval=timedelta(seconds=settings.commit_interval),
        producer_max_request_size=settings.max_message_bytes * 3,
        consumer_max_fetch_size=FETCH_PER_PARTITION,
        producer_linger_ms=settings.producer_linger_ms,
        producer_max_batch_size=settings.producer_batch_bytes,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 3),
        broker_credentials=kafka.faust_credentials(settings),
        web_enabled=settings.web_enabled,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_ssl_context=web_ssl_context,
        key_serializer="raw",
        value_serializer="raw",
        autodiscover=False,
        Table=HeldTable,
        # The topology checks its own topics; Faust's leader topic is not needed.
        topic_disable_leader=True,
        **FAUST_ROUTES_OFF,
    )


