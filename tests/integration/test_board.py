"""The status board in headless Chromium (Debian's chromium), showing real pipeline data."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser

from stream.replay import ReplayRun
from tests.integration.test_api import BUYER_1, OPS, get

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


class Rendered(HTMLParser):
    """The text of every element with an id, as rendered: scripts and styles left out
    (the page's own script holds every string it may show)."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.texts: dict[str, str] = {}
        self.text = ""
        self._open: list[tuple[str, str | None]] = []
        self._skip = 0
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self._open.append((tag, dict(attrs).get("id")))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            opened, _ = self._open.pop()
            if opened in ("script", "style"):
                self._skip -= 1
            if opened == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text += data
        for _, element_id in self._open:
            if element_id:
                self.texts[element_id] = self.texts.get(element_id, "") + data

    def of(self, element_id: str) -> str:
        return self.texts.get(element_id, "").strip()


async def test_the_board_shows_live_pipeline_data(served: tuple[int, ReplayRun]) -> None:
    port, _ = served
    page = Rendered(await asyncio.to_thread(
        dump_dom, f"http://127.0.0.1:{port}/board#token={OPS}"
    ))
    _, data = get(port, "/board/data", OPS)
    # Every figure below is one only a fetch of /board/data could have put on the page.
    assert re.fullmatch(r"live · updated .+", page.of("state"))
    assert page.of("error") == ""
    assert page.of("total") == str(data["total"]) and data["total"] > 0
    assert page.of("open") == str(data["open"])
    assert "310020260000000601" in page.of("recent")  # a declaration just processed
    assert "DEPARTED" in page.of("statuses") and "RELEASED" in page.of("statuses")
    assert "CNNGBGREEN" in page.of("kpis").replace(" ", "")  # the KPI table's first cells
    assert "KEY_MISMATCH" in page.of("dead")  # dead letters by code


async def test_the_board_asks_for_a_token(served: tuple[int, ReplayRun]) -> None:
    port, _ = served
    page = Rendered(await asyncio.to_thread(dump_dom, f"http://127.0.0.1:{port}/board"))
    assert page.of("error").startswith("Cannot load the board:")
    assert page.of("error").endswith("(open the address with #token=<ops token>)")
    assert page.of("state") == "connecting…"
    # No declaration data without a token: nothing rendered from the data endpoint.
    assert page.of("total") == "0" and page.of("recent") == "" and page.of("kpis") == ""
    assert "3100202600" not in page.text


async def test_a_buyer_token_cannot_read_the_board_data(served: tuple[int, ReplayRun]) -> None:
    port, _ = served
    status, body = get(port, "/board/data", BUYER_1)
    assert status == 403 and "statuses" not in body
