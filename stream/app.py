"""The app factory: a Faust app with the pipeline's topics, tables and agents, built
from Settings, so that tests and ``replay`` can build isolated pipelines."""

from __future__ import annotations

from datetime import timedelta

import faust

from stream import codec, faust_fixes, kafka, tablestore, watchdog
from stream.agents import firms, kpis, lag, lifecycle
from stream.outbox import HeldTable
from stream.pipeline import Pipeline
from stream.published import ReadModelFeed
from stream.settings import Settings, policy_of
from stream.topics import Topology
from stream.web.guard import FAUST_ROUTES_OFF
from stream.web.tls import server_context

# What one fetch takes of each partition. Not a limit on message size: the broker hands
# over a first record larger than this all the same (KIP-74). It bounds what waits in
# memory: a worker with a long backlog held this much for each of its ~30 partitions.
FETCH_PER_PARTITION = 1024 * 1024


def _faust_app(settings: Settings) -> faust.App:
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
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 3),
        broker_credentials=kafka.faust_credentials(settings),
        web_enabled=settings.web_enabled,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_ssl_context=server_context(settings) if settings.web_enabled else None,
        key_serializer="raw",
        value_serializer="raw",
        autodiscover=False,
        Table=HeldTable,
        # The topology checks its own topics; Faust's leader topic is not needed.
        topic_disable_leader=True,
        **FAUST_ROUTES_OFF,
    )


def build_pipeline(settings: Settings | None = None) -> Pipeline:
    """A fully wired pipeline: topics, tables and agents on a fresh Faust app."""
    settings = settings or Settings()
    kafka.configure(settings)
    codec.register()
    faust_fixes.apply()
    tablestore.register()
    topology = Topology.from_settings(settings)
    app = _faust_app(settings)
    pipeline = Pipeline(settings, policy_of(settings), topology, app)
    pipeline.handlers["lifecycle"] = lifecycle.register(pipeline)
    firms.register(pipeline)
    kpis.register(pipeline)
    lag.register(pipeline)
    watchdog.register(pipeline)
    if settings.web_enabled:
        _serve_web(pipeline)
    return pipeline


def _serve_web(pipeline: Pipeline) -> None:
    """The HTTP API, the status board and /metrics (Faust's sensors and ours)."""
    from faust.sensors.prometheus import setup_prometheus_sensors

    from stream.readstore import ReadStore
    from stream.web import guard
    from stream.web.auth import TokenStore
    from stream.web.mount import mount

    settings = pipeline.settings
    pipeline.book = book = ReadStore(settings.data_dir / settings.app_id / "read-model")
    feed = ReadModelFeed(settings.bootstrap_servers, pipeline.topology, book)
    pipeline.feed = feed

    @pipeline.app.task
    async def follow_outputs() -> None:
        await feed.run()

    guard.install(pipeline.app, settings.cors_origins)
    registry = pipeline.metrics.registry
    setup_prometheus_sensors(pipeline.app, registry=registry, name_prefix="faust")
    app = pipeline.app
    pipeline.api = mount(
        guard.router(app), book, feed, TokenStore(settings.tokens_file), pipeline.policy,
        ready=lambda: feed.following and not app.rebalancing, metrics=pipeline.metrics,
    )
