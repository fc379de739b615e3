"""What stands between the worker's port and the world: only the project's own routes,
JSON for every answer (errors included), and CORS for the origins the settings list.

Faust mounts routes of its own on the same port (``/table/{name}/{key}/`` serves a
table's values, ``/router/`` the partition map, ``/`` a status page): they are turned
off, so that the routes that exist are exactly the documented ones.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
from aiohttp import web as aioweb

log = logging.getLogger(__name__)

PUBLIC = {  # no token needed
    "/health", "/ready", "/metrics", "/board", "/board/chart.js", "/board/board.js",
}
_SUBSCRIPTION = "/buyers/{buyer_id}/subscriptions/{subscription_id}"
PROTECTED = {  # a bearer token needed
    "/declarations/{declaration_id}", "/buyers/{buyer_id}/declarations",
    "/firms/{firm_id}/eligibility", "/kpis", "/board/data",
    "/buyers/{buyer_id}/subscriptions", _SUBSCRIPTION, f"{_SUBSCRIPTION}/deliveries",
    f"{_SUBSCRIPTION}/rotate", f"{_SUBSCRIPTION}/pause", f"{_SUBSCRIPTION}/resume",
    f"{_SUBSCRIPTION}/replay",
}
Handler = Callable[[aioweb.Request], Awaitable[aioweb.StreamResponse]]


def drop_faust_routes(app: Any) -> None:
    """Faust's production index ("/") has no setting of its own: not mounted either."""
    app.web.blueprints._enabled[:] = []


def _json(status: int, message: str, headers: dict[str, str] | None = None) -> aioweb.Response:
    return aioweb.Response(
        body=orjson.dumps({"error": message, "status": status}), status=status,
        content_type="application/json", headers=headers,
    )


def json_errors() -> Any:
    """Every answer JSON: unknown paths and methods, and failures, without details."""

    @aioweb.middleware
    async def middleware(request: aioweb.Request, handler: Handler) -> aioweb.StreamResponse:
        try:
            response = await handler(request)
        except aioweb.HTTPException as exc:
            return _json(exc.status, "no such resource" if exc.status == 404 else exc.reason)
        except Exception:
            log.exception("%s %s failed", request.method, request.rel_url.path)
            return _json(500, "internal error")
        if response.status >= 400 and response.content_type != "application/json":
            reason = "no such resource" if response.status == 404 else (response.reason or "")
            return _json(response.status, reason)
        return response

    return middleware


def cors(origins: Iterable[str]) -> Any:
    """CORS for the listed origins only (a buyer's dashboard on another site)."""
    allowed = frozenset(origins)

    @aioweb.middleware
    async def middleware(request: aioweb.Request, handler: Handler) -> aioweb.StreamResponse:
        origin = request.headers.get("Origin")
        permitted = origin is not None and origin in allowed
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not permitted:
                return _json(403, "origin not allowed")
            response: aioweb.StreamResponse = aioweb.Response(status=204)
            response.headers.update({
                "Access-Control-Allow-Methods": "GET, POST, DELETE",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": "600",
            })
        else:
            response = await handler(request)
        if permitted:
            assert origin is not None
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    return middleware


# On every answer: the board's page runs only its own scripts, talks only to this server,
# is never framed (clickjacking) and no answer is sniffed into another type.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def security_headers() -> Any:
    @aioweb.middleware
    async def middleware(request: aioweb.Request, handler: Handler) -> aioweb.StreamResponse:
        response = await handler(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    return middleware


def middlewares(origins: Iterable[str]) -> list[Any]:
    # Security headers and CORS outermost, so that error answers carry them too.
    return [security_headers(), cors(origins), json_errors()]


def install(app: Any, origins: Iterable[str]) -> None:
    drop_faust_routes(app)
    app.web.web_app.middlewares.extend(middlewares(origins))


def router(app: Any) -> aioweb.UrlDispatcher:
    """The router of the Faust app's web server (aiohttp's), to add the API's routes."""
    found: aioweb.UrlDispatcher = app.web.web_app.router
    return found

