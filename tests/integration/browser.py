"""Headless Chromium driven over the DevTools protocol (with aiohttp's websocket
client): open a page at a given window size and evaluate an expression in it, for what
the DOM alone cannot tell (layout widths, a chart's drawn data); or dump the DOM once
scripts have run."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=8000",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Debian's chromium package is needed (`make test` installs it)"
    return found


def dump_dom(url: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True, text=True, timeout=120,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


FLAGS = [f for f in CHROMIUM_FLAGS if not f.startswith("--virtual-time-budget")]


async def _devtools_port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    marker = profile / "DevToolsActivePort"
    for _ in range(300):
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        if process.poll() is not None:
            raise AssertionError(f"chromium exited ({process.returncode})")
        await asyncio.sleep(0.1)
    raise AssertionError("chromium did not open its DevTools port")


def _launch(url: str, profile: Path, width: int, height: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
         f"--window-size={width},{height}", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: see _stop
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill Chromium with its helper processes: a renderer that outlived the browser
    process went on writing its profile while the folder was being removed (CI:
    "Directory not empty: 'Default'")."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


async def evaluate(url: str, expression: str, width: int = 1366, height: int = 900) -> Any:
    """The value of ``expression`` (awaited if it is a promise) in the page at ``url``."""
    with tempfile.TemporaryDirectory() as folder:
        profile = Path(folder)
        process = await asyncio.to_thread(_launch, url, profile, width, height)
        try:
            port = await _devtools_port(profile, process)
            async with aiohttp.ClientSession() as session:
                return await _evaluate(session, port, expression)
        finally:
            await asyncio.to_thread(_stop, process)


async def _evaluate(session: aiohttp.ClientSession, port: int, expression: str) -> Any:
    async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
        targets = await response.json()
    page = next(t for t in targets if t["type"] == "page")
    ids = itertools.count(1)
    async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
        for _ in range(50):  # the page may not have a context to evaluate in yet
            request = next(ids)
            await ws.send_json({"id": request, "method": "Runtime.evaluate", "params": {
                "expression": expression, "awaitPromise": True, "returnByValue": True}})
            reply = await _reply(ws, request)
            if "result" in reply:
                result = reply["result"]
                assert "exceptionDetails" not in result, result["exceptionDetails"]
                return result["result"].get("value")
            await asyncio.sleep(0.2)
    raise AssertionError(f"the page did not answer: {reply}")


async def _reply(ws: aiohttp.ClientWebSocketResponse, request: int) -> dict[str, Any]:
    async for message in ws:
        reply: dict[str, Any] = message.json()
        if reply.get("id") == request:
            return reply
    raise AssertionError("the DevTools connection closed")
