"""The status board in headless Chromium (Debian's chromium), showing real pipeline data."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile

from stream.replay import ReplayRun
from tests.integration.test_api import OPS, get

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


async def test_the_board_shows_live_pipeline_data(served: tuple[int, ReplayRun]) -> None:
    port, _ = served
    dom = await asyncio.to_thread(dump_dom, f"http://127.0.0.1:{port}/board#token={OPS}")
    assert "live · updated" in dom  # the page fetched and rendered /board/data
    assert "310020260000000601" in dom  # a declaration the pipeline just processed
    assert "DEPARTED" in dom and "RELEASED" in dom
    assert ">CNNGB<" in dom and ">GREEN<" in dom  # the KPI table
    assert "KEY_MISMATCH" in dom  # dead letters by code
    _, data = get(port, "/board/data", OPS)
    assert f'<span class="big" id="total">{data["total"]}</span>' in dom


async def test_the_board_asks_for_a_token(served: tuple[int, ReplayRun]) -> None:
    port, _ = served
    dom = await asyncio.to_thread(dump_dom, f"http://127.0.0.1:{port}/board")
    assert "Cannot load the board" in dom and "#token=" in dom
