"""The routes the worker's web server really registers: only documented ones, each
either on the public list or behind a token (checked on a live worker in
tests/integration/test_security.py)."""

from __future__ import annotations

from pathlib import Path

from stream.read.web import guard
from stream.read.web.guard import PROTECTED, PUBLIC
from stream.settings import Settings
from stream.worker.app import build_pipeline


async def test_only_documented_routes_are_registered(tmp_path: Path) -> None:
    pipeline = build_pipeline(Settings(web_enabled=True, data_dir=tmp_path, web_port=16066))
    pipeline.app.web.init_server()  # what the worker does when its web server starts
    router = guard.router(pipeline.app)  # the aiohttp router behind Faust's web server
    routes = {r.resource.canonical for r in router.routes() if r.resource is not None}
    assert routes == PUBLIC | PROTECTED, routes ^ (PUBLIC | PROTECTED)
    assert not any(r.startswith(("/table", "/router", "/graph", "/stats")) for r in routes)
