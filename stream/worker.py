"""Run one pipeline worker in this process until it is stopped (SIGINT or SIGTERM)."""

from __future__ import annotations

import asyncio

import faust

from stream.admin import ensure_topics
from stream.app import build_pipeline
from stream.settings import Settings
from stream.topics import Topology


def run_worker(settings: Settings) -> None:
    """Declare the topology (idempotent), then run the Faust worker; blocks."""
    asyncio.run(ensure_topics(settings.bootstrap_servers, Topology.from_settings(settings)))
    pipeline = build_pipeline(settings)
    worker = faust.Worker(
        pipeline.app,
        loglevel=settings.log_level,
        redirect_stdouts=False,
        loop=asyncio.new_event_loop(),
    )
    worker.execute_from_commandline()
