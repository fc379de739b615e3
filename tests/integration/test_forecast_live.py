"""Expected release end to end: a real worker publishes each declaration's forecast basis,
its read model builds the history from it, and its port answers the forecast of an open
declaration (times here are relative to now: the API forecasts at its own clock)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stream.settings import Settings
from stream.tools.replay import ReplayRun
from stream.tools.scenario import Message
from tests.builders import filed, lifecycle
from tests.conftest import CACHE
from tests.integration.conftest import until
from tests.integration.test_api import OPS, free_port, get, write_tokens

pytestmark = pytest.mark.broker
OPEN_ID = "310020260000008999"
HOURS = [2.0 + 1.5 * n for n in range(22)]  # 22 past clearances of one group


def messages(now: datetime) -> Iterator[Message]:
    for n, hours in enumerate(HOURS):
        declaration_id = f"3100202600000080{n:02d}"
        declared_at = now - timedelta(days=3) + timedelta(minutes=n)
        released_at = declared_at + timedelta(hours=hours)
        for topic, document in (
            ("declarations", filed(declared_at.isoformat(), declaration_id=declaration_id)),
            ("releases", lifecycle("GoodsReleased", released_at.isoformat(), declaration_id)),
        ):
            yield Message(topic, declaration_id.encode(), json.dumps(document).encode())
    opened = filed((now - timedelta(hours=1)).isoformat(), declaration_id=OPEN_ID)
    yield Message("declarations", OPEN_ID.encode(), json.dumps(opened).encode())


async def test_a_worker_forecasts_an_open_declaration_from_the_clearances_it_published(
    kafka: str, tmp_path: Path,
) -> None:
    settings = Settings(broker=kafka, cache_dir=CACHE, data_dir=tmp_path / "worker",
                        web_enabled=False, commit_interval=0.2, partitions=4)
    tokens = tmp_path / "tokens.toml"
    write_tokens(tokens)
    port, now = free_port(), datetime.now(UTC)
    async with ReplayRun(settings, web_enabled=True, web_port=port, tokens_file=tokens) as run:
        await run.play(list(messages(now)))

        def forecast_read() -> bool:
            status, body = get(port, f"/declarations/{OPEN_ID}", OPS)
            return status == 200 and body.get("expected_release") is not None
        await until(forecast_read, timeout=60)
        _, body = get(port, f"/declarations/{OPEN_ID}", OPS)
        _, metrics = get(port, "/metrics")
        _, board = get(port, "/board/data", OPS)
        _, released = get(port, "/declarations/310020260000008000", OPS)
    expected = body["expected_release"]
    assert expected["basis"]["n"] == len(HOURS)  # every clearance took over the hour waited
    assert expected["basis"]["group"] == {"port": "CNNGB", "channel": "STANDARD",
                                          "goods": "bearing", "inspected": False}
    declared_at = datetime.fromisoformat(body["declared_at"])
    for p in (10, 50, 90):
        hours = sorted(HOURS)[math.ceil(p / 100 * len(HOURS)) - 1]
        assert datetime.fromisoformat(expected[f"p{p}_at"]) == declared_at + timedelta(
            hours=hours), p
    assert expected["p_within_24h"] == round(sum(h <= 24 for h in HOURS) / len(HOURS), 4)
    # Filings read when 20 clearances were already in were forecast, and scored at their
    # release; how many depends on the order the partitions were read in.
    assert re.search(r"^customs_forecasts_scored \d+\.0$", metrics, re.M), metrics[-2000:]
    [row] = board["kpis"]
    assert row["expected_band"]["n"] == len(HOURS)
    assert released["status"] == "RELEASED" and released["expected_release"] is None
    assert released["expected_release_note"] == "NOT_OPEN"
