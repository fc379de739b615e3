"""The API's and the board's routes on a router, answered from a read model: the same in
a worker's web server and in an API replica's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from stream.core.policy import Policy
from stream.metrics import Metrics
from stream.read.readstore import ReadStore
from stream.read.web import api, board, subscriptions
from stream.read.web.auth import TokenStore
from stream.settings import Settings


def mount(
    router: web.UrlDispatcher, read_model: ReadStore, feed: Any, tokens: TokenStore, policy: Policy,
    ready: Callable[[], bool], metrics: Metrics, settings: Settings | None = None,
) -> api.Api:
    """Add the routes; the read model's gauges go on ``metrics``. ``settings``: where
    subscription changes are written (without a webhook key they answer 503)."""
    answers = api.Api(read_model, tokens, policy, ready)
    api.add_routes(router, answers)
    subscriptions.add_routes(router, subscriptions.SubscriptionsApi(answers, settings))
    board.add_routes(router, answers)
    metrics.open_declarations.set_function(read_model.open_count)
    metrics.unreadable_outputs.set_function(lambda: feed.malformed)
    forecasts = read_model.forecasts
    metrics.forecast_coverage.set_function(lambda: forecasts.share("inside"))
    metrics.forecast_by_p50.set_function(lambda: forecasts.share("by_p50"))
    metrics.forecasts_scored.set_function(lambda: forecasts.calibration["scored"])
    return answers
