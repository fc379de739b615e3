"""The what-if HTML report opened in headless Chromium: the chart is drawn from the
report's own data, offline (Chart.js is inlined in the page)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.integration.browser import dump_dom
from tests.whatif.test_command import MONTH, whatif


def test_the_report_draws_its_chart_in_a_browser(wider: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    code, out, _ = whatif("--policy", str(wider), str(MONTH), "--json", "--html", str(page))
    assert code == 0
    groups = json.loads(out)["distributions"]["groups"]
    assert len(groups) >= 2
    dom = dump_dom(page.as_uri())
    # Set by the page's script only once Chart.js has drawn every group's bars.
    assert re.search(rf'<body[^>]*data-chart="drawn {len(groups)}"', dom)
    assert "would have been green" in dom
