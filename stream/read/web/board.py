"""The live status board: a page that polls /board/data (ops token) every two seconds."""

from __future__ import annotations

from importlib import resources
from typing import Any

from aiohttp import web

from stream.read.web.api import Api, ApiError, guarded


def board_data(api: Api, request: web.Request) -> dict[str, Any]:
    principal = api.principal(request)
    if principal.role != "ops":
        raise ApiError(403, "the board needs an ops token")
    read_model = api.read_model
    ordered = [
        {**kpi, "expected_band": read_model.forecasts.band(kpi["port"], kpi["channel"])}
        for kpi in sorted(read_model.kpis.values(), key=lambda k: (k["port"], k["channel"]))
    ]
    return {
        "total": read_model.total(),
        "open": read_model.open_count(),
        "statuses": dict(sorted(read_model.status_counts().items())),
        "kpis": ordered,
        "dead_letters": dict(sorted(read_model.dead_letters.items())),
        "recent": list(read_model.recent)[:15],
        "webhooks": {"delivered": read_model.webhook_outcomes["delivered"],
                     "undelivered": len(read_model.undelivered),
                     "given up": read_model.webhook_outcomes["given_up"]},
    }


def add_routes(router: web.UrlDispatcher, api: Api) -> None:
    static = resources.files("stream.read.web") / "static"
    page = (static / "board.html").read_text()
    chart = (static / "chart.umd.min.js").read_text()  # Chart.js, served from here: no CDN
    script = (static / "board.js").read_text()  # not inline: the page's CSP allows 'self'

    async def board(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    async def chart_js(request: web.Request) -> web.Response:
        return web.Response(text=chart, content_type="text/javascript",
                            headers={"Cache-Control": "max-age=86400"})

    async def board_js(request: web.Request) -> web.Response:
        return web.Response(text=script, content_type="text/javascript")

    router.add_get("/board", board)
    router.add_get("/board/chart.js", chart_js)
    router.add_get("/board/board.js", board_js)
    router.add_get("/board/data", guarded(lambda request: board_data(api, request)))
