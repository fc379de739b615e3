"""The live status board: a page that polls /board/data (ops token) every two seconds."""

from __future__ import annotations

from importlib import resources
from typing import Any

from faust import web

from stream.web.api import Api, ApiError, error_response


def board_data(api: Api, request: web.Request) -> dict[str, Any]:
    principal = api.principal(request)
    if principal.role != "ops":
        raise ApiError(403, "the board needs an ops token")
    book = api.book
    ordered = sorted(book.kpis.values(), key=lambda k: (k["port"], k["channel"]))
    return {
        "total": len(book.statuses),
        "open": book.open_count(),
        "statuses": dict(sorted(book.status_counts().items())),
        "kpis": ordered,
        "dead_letters": dict(sorted(book.dead_letters.items())),
        "recent": list(book.recent)[:15],
    }


def register(api: Api) -> None:
    app = api.pipeline.app
    static = resources.files("stream.web") / "static"
    page = (static / "board.html").read_text()
    chart = (static / "chart.umd.min.js").read_text()  # Chart.js, served from here: no CDN

    @app.page("/board")
    async def board(self: web.View, request: web.Request) -> web.Response:
        return self.html(page)

    @app.page("/board/chart.js")
    async def chart_js(self: web.View, request: web.Request) -> web.Response:
        return self.text(chart, content_type="text/javascript",
                         headers={"Cache-Control": "max-age=86400"})

    @app.page("/board/data")
    async def data(self: web.View, request: web.Request) -> web.Response:
        try:
            return self.json(board_data(api, request))
        except ApiError as exc:
            return error_response(self, exc)
