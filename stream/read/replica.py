"""``customs-stream api``: the HTTP API and the board without a pipeline worker, scaled by
running more of them. Each replica follows the output topics into its own read model on
disk (``CUSTOMS_STREAM_DATA_DIR``/api/<topic prefix>), resumes from the offsets it holds,
and answers any request for any declaration or buyer, with the same routes, tokens and
errors as a worker's port."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from stream.metrics import Metrics
from stream.read.feed import ReadModelFeed
from stream.read.readstore import ReadStore
from stream.read.web import guard
from stream.read.web.auth import TokenStore
from stream.read.web.mount import mount
from stream.read.web.tls import server_context
from stream.settings import Settings, policy_of
from stream.topics import Topology


def application(settings: Settings, read_model: ReadStore, feed: ReadModelFeed) -> web.Application:
    app = web.Application(middlewares=guard.middlewares(settings.cors_origins))
    metrics = Metrics()
    mount(app.router, read_model, feed, TokenStore(settings.tokens_file), policy_of(settings),
          ready=lambda: feed.following, metrics=metrics, settings=settings)

    async def exposition(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", exposition)
    return app


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGINT or SIGTERM (or ``stop``)."""
    tls = server_context(settings)  # before anything starts: a bad pair is an error now
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    read_model = ReadStore(settings.data_dir / "api" / settings.topic_prefix)
    feed = ReadModelFeed(settings.bootstrap_servers, Topology.from_settings(settings), read_model)
    runner = web.AppRunner(application(settings, read_model, feed), access_log=None)
    await runner.setup()
    following = asyncio.create_task(feed.run())
    try:
        await web.TCPSite(runner, settings.web_host, settings.web_port, ssl_context=tls).start()
        await stop.wait()
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
        await runner.cleanup()
        read_model.close()
