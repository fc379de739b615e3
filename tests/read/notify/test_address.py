"""Where a webhook may go, checked at subscription and at delivery on the address
actually connected to (a real aiohttp client and server on this machine)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from stream.read.notify import sender
from stream.read.notify.address import allowed, url_problem


@pytest.mark.parametrize("url", [
    "http://erp.buyer.example/hook",  # http, not to this machine
    "https://10.0.0.7/hook", "https://192.168.1.2/hook", "https://169.254.169.254/latest",
    "https://[::1]/hook", "https://127.0.0.1/hook", "https://[::ffff:10.0.0.1]/hook",
    "https://user:pass@erp.buyer.example/hook", "ftp://erp.buyer.example/", "not a url",
    "https://erp.buyer.example:0/", "https://" + "a" * 2100 + ".example/",
])
def test_refused_when_subscribing(url: str) -> None:
    assert url_problem(url, loopback_ok=True) is not None


def test_accepted_when_subscribing() -> None:
    assert url_problem("https://erp.buyer.example/hooks/customs", False) is None
    assert url_problem("https://93.184.216.34/hook", False) is None
    assert url_problem("http://127.0.0.1:8080/hook", loopback_ok=True) is None
    assert url_problem("http://localhost:8080/hook", loopback_ok=True) is None
    assert url_problem("http://127.0.0.1:8080/hook", loopback_ok=False) is not None


def test_only_global_addresses_are_allowed() -> None:
    assert allowed("93.184.216.34", False) and allowed("2606:4700::1111", False)
    for inside in ("10.1.2.3", "172.16.0.1", "100.64.0.1", "127.0.0.1", "::1", "fe80::1",
                   "0.0.0.0", "::ffff:192.168.0.1", "fd00::1", "not-an-ip"):
        assert not allowed(inside, False), inside
    assert allowed("127.0.0.1", True) and not allowed("10.1.2.3", True)


@asynccontextmanager
async def serving(
    take: Callable[[web.Request], Awaitable[web.Response]],
) -> AsyncIterator[int]:
    """A server on 127.0.0.1 answering POST /hook and /elsewhere; yields its port."""
    app = web.Application()
    app.router.add_post("/hook", take)
    app.router.add_post("/elsewhere", take)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


async def test_a_name_that_resolves_inside_is_refused_and_nothing_is_sent() -> None:
    got: list[str] = []

    async def take(request: web.Request) -> web.Response:
        got.append(request.path)
        return web.Response(status=200)

    async with serving(take) as port:
        async with sender.session(loopback_ok=False) as client:
            answer = await sender.post(client, f"http://localhost:{port}/hook", b"{}", {}, 5)
        assert answer.refused and answer.status is None and "no public address" in answer.problem
        assert got == []
        async with sender.session(loopback_ok=True) as client:  # the same, allowed: sent
            answer = await sender.post(client, f"http://localhost:{port}/hook", b"{}", {}, 5)
        assert answer.status == 200 and got == ["/hook"]


async def test_redirects_are_not_followed() -> None:
    got: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        got.append(request.path)
        raise web.HTTPFound("/elsewhere")

    async with serving(moved) as port:
        async with sender.session(loopback_ok=True) as client:
            answer = await sender.post(client, f"http://127.0.0.1:{port}/hook", b"{}", {}, 5)
        assert answer.status == 302 and got == ["/hook"]


def test_retry_after_reads_seconds_and_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert sender.retry_after("120", now) == 120
    assert sender.retry_after("Sun, 29 Nov 2026 12:05:00 GMT", now) == 300
    assert sender.retry_after("soon", now) is None and sender.retry_after(None, now) is None
