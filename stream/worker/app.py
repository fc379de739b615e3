"""A worker, wired: the Faust app (``stream.runtime``), the agents on it, and the read
side when it serves HTTP. Built from Settings, so that tests and ``replay`` can build
isolated pipelines."""

from __future__ import annotations

from stream import codec, kafka
from stream.agents import firms, kpis, lag, lifecycle
from stream.read.feed import ReadModelFeed
from stream.read.web.tls import server_context
from stream.runtime import faust_fixes, tablestore, watchdog
from stream.runtime.app import faust_app
from stream.runtime.pipeline import Pipeline
from stream.settings import Settings, policy_of
from stream.topics import Topology


def build_pipeline(settings: Settings | None = None) -> Pipeline:
    """A fully wired pipeline: topics, tables and agents on a fresh Faust app."""
    settings = settings or Settings()
    kafka.configure(settings)
    codec.register()
    faust_fixes.apply()
    tablestore.register()
    topology = Topology.from_settings(settings)
    app = faust_app(settings, server_context(settings) if settings.web_enabled else None)
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

    from stream.read.readstore import ReadStore
    from stream.read.web import guard
    from stream.read.web.auth import TokenStore
    from stream.read.web.mount import mount

    settings = pipeline.settings
    pipeline.read_model = read_model = ReadStore(settings.data_dir / settings.app_id / "read-model")
    feed = ReadModelFeed(settings.bootstrap_servers, pipeline.topology, read_model)
    pipeline.feed = feed

    @pipeline.app.task
    async def follow_outputs() -> None:
        await feed.run()

    guard.install(pipeline.app, settings.cors_origins)
    registry = pipeline.metrics.registry
    setup_prometheus_sensors(pipeline.app, registry=registry, name_prefix="faust")
    app = pipeline.app
    pipeline.api = mount(
        guard.router(app), read_model, feed, TokenStore(settings.tokens_file), pipeline.policy,
        ready=lambda: feed.following and not app.rebalancing, metrics=pipeline.metrics,
        settings=settings,
    )
