"""A webhook receiver as a buyer would write one: it verifies every delivery's signature
with the ``standardwebhooks`` package and keeps what it received. The demo shows it on
the board; the tests and ``bench.webhooks`` make it fail on purpose (``answer``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    at: float
    webhook_id: str
    declaration_id: str
    sequence: int
    replay: bool
    verified: bool
    signatures: int
    answered: int
    query: str  # the subscribed URL's query string: which subscription this came through
    update: dict[str, Any]


# What to answer a delivery: an HTTP status, given the id and the update.
Answer = Callable[[str, dict[str, Any]], int]


@dataclass
class Receiver:
    secrets: list[str]  # any of them verifies (a rotation's old and new)
    answer: Answer = lambda _id, _update: 200
    received: list[Received] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    def verified(self, body: bytes, headers: dict[str, str]) -> bool:
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
                return True
            except WebhookVerificationError:
                continue
        return False

    async def _take(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        try:
            update = orjson.loads(body)
        except orjson.JSONDecodeError:
            return web.Response(status=400)
        webhook_id = request.headers.get("webhook-id", "")
        verified = self.verified(body, headers)
        status = self.answer(webhook_id, update) if verified else 401
        self.received.append(Received(
            time.time(), webhook_id, str(update.get("declaration_id")),
            int(update.get("sequence", 0)), request.headers.get("webhook-replay") == "true",
            verified, len(request.headers.get("webhook-signature", "").split()), status,
            request.query_string, update,
        ))
        return web.Response(status=status)

    async def _show(self, request: web.Request) -> web.Response:
        """What was received, the latest first (the demo prints this address)."""
        latest = [
            {"at": r.at, "webhook_id": r.webhook_id, "status": r.update.get("status"),
             "codes": r.update.get("codes"), "verified": r.verified, "answered": r.answered,
             "replay": r.replay}
            for r in reversed(self.received[-50:])
        ]
        body = {"received": len(self.received), "verified": sum(r.verified for r in self.received),
                "latest": latest}
        return web.Response(body=orjson.dumps(body, option=orjson.OPT_INDENT_2),
                            content_type="application/json")

    def delivered(self) -> list[Received]:
        """The deliveries answered with 2xx, in the order they came."""
        return [r for r in self.received if 200 <= r.answered < 300]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve; returns the URL to subscribe."""
        app = web.Application()
        app.router.add_post("/hook", self._take)
        app.router.add_get("/", self._show)
        # Stopping waits at most a second for requests in progress (aiohttp's: a minute).
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://{host}:{bound}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
