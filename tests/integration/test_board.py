"""The status board in headless Chromium (Debian's chromium), showing real pipeline data."""

from __future__ import annotations

import asyncio
import re
import urllib.error
import urllib.request
from html.parser import HTMLParser

from stream.tools.replay import ReplayRun
from tests.integration.browser import dump_dom, evaluate
from tests.integration.test_api import BUYER_1, OPS, get


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


# Waits for the board's first render, then reports its layout and its chart's data.
LAYOUT = """
new Promise((resolve, reject) => {
  const deadline = Date.now() + 20000;
  (function check() {
    const rows = document.querySelectorAll("#kpis tr").length;
    const chart = typeof Chart === "undefined" ? undefined : Chart.getChart("chart");
    if (rows && chart) {
      const box = document.getElementById("clearance");
      resolve({
        viewport: window.innerWidth, page: document.documentElement.scrollWidth,
        section: [box.scrollWidth, box.clientWidth],
        labels: chart.data.labels,
        datasets: chart.data.datasets.map((d) => [d.label, d.data]),
      });
    } else if (Date.now() > deadline) reject(new Error("the board did not render"));
    else setTimeout(check, 100);
  })();
})
"""


async def test_the_clearance_table_fits_1366_pixels_beside_its_chart(
    served: tuple[int, ReplayRun],
) -> None:
    port, _ = served
    _, data = get(port, "/board/data", OPS)
    seen = await evaluate(f"http://127.0.0.1:{port}/board#token={OPS}", LAYOUT, width=1366)
    assert seen["viewport"] == 1366
    assert seen["page"] <= seen["viewport"]  # no scrolling sideways ...
    assert seen["section"][0] <= seen["section"][1]  # ... nor inside the clearance table
    ports = list(dict.fromkeys(k["port"] for k in data["kpis"]))
    assert seen["labels"] == ports
    green = {k["port"]: k["mean_clearance_hours"] for k in data["kpis"] if k["channel"] == "GREEN"}
    standard = {k["port"]: k["mean_clearance_hours"]
                for k in data["kpis"] if k["channel"] == "STANDARD"}
    assert green and standard  # both channels shown, per port, from the KPIs
    assert dict(seen["datasets"])["green · mean h"] == [green.get(p) for p in ports]
    assert dict(seen["datasets"])["standard · mean h"] == [standard.get(p) for p in ports]


ADDRESS = """
new Promise((resolve, reject) => {
  const deadline = Date.now() + 20000;
  (function check() {
    if (document.querySelectorAll("#kpis tr").length) resolve(location.href);
    else if (Date.now() > deadline) reject(new Error("the board did not render"));
    else setTimeout(check, 100);
  })();
})
"""


async def test_the_token_leaves_the_address_bar_once_the_board_has_read_it(
    served: tuple[int, ReplayRun],
) -> None:
    port, _ = served
    shown = await evaluate(f"http://127.0.0.1:{port}/board#token={OPS}", ADDRESS, width=1366)
    assert shown == f"http://127.0.0.1:{port}/board"  # rendered with data, under its CSP
    assert OPS not in shown


def test_every_answer_carries_the_security_headers(served: tuple[int, ReplayRun]) -> None:
    port, _ = served
    paths = ["/board", "/board/board.js", "/board/chart.js", "/board/data", "/health",
             "/declarations/310020260000000601", "/no/such/page"]
    assert paths
    for path in paths:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                         headers={"Authorization": f"Bearer {OPS}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                headers = answer.headers
        except urllib.error.HTTPError as refused:
            headers = refused.headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
