"""The API's and the board's routes on a router, answered from a read model: the same in
a worker's web server and in an API replica's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from stream.core.policy import Policy
from stream.metrics import Metrics
from stream.read.readstore import ReadStore
from stream.read.web import api, board
from stream.read.web.auth import TokenStore


def mount(
    router: web.UrlDispatcher, read_model: ReadStore, feed: Any, tokens: TokenStore, policy: Policy,
    ready: Callable[[], bool], metrics: Metrics,
) -> api.Api:
    """Add the routes; the read model's gauges go on ``metrics``."""
    answers = api.Api(read_model, tokens, policy, ready)
    api.add_routes(router, answers)
    board.add_routes(router, answers)
    metrics.open_declarations.set_function(read_model.open_count)
    metrics.unreadable_outputs.set_function(lambda: feed.malformed)
    return answers
