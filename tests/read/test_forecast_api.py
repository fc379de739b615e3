"""Expected release through the HTTP routes (the same mount as a worker's port and an API
replica's), on a read model filled as the feed fills it: it moves as time passes, shows
in a buyer's listing and on the board, and its running calibration is on /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import generate_latest

from stream.core.forecast_basis import Basis
from stream.core.policy import load_policy
from stream.metrics import Metrics
from stream.read.web.api import Api
from stream.read.web.auth import TokenStore
from stream.read.web.mount import mount
from stream.settings import DEFAULT_POLICY
from tests.read.test_forecasts import GROUP, OPEN_ID, T0, filed, format_z, with_history
from tests.web.test_auth import hashed_file

OPS, BUYER = "ops-token-0123456789", "buyer-1-token-0123456789"
DECLARED_AT = T0 + timedelta(days=3)


class Served:
    def __init__(self, client: TestClient[Any, Any], api: Api, metrics: Metrics) -> None:
        self.client, self.api, self.metrics = client, api, metrics
        self.now = DECLARED_AT
        api.clock = lambda: self.now

    async def get(self, path: str, token: str = OPS) -> Any:
        response = await self.client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status == 200, await response.text()
        return await response.json()


@pytest_asyncio.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    store = with_history(tmp_path / "read")
    store.apply_basis(filed(DECLARED_AT))
    store.apply_status({"declaration_id": OPEN_ID, "sequence": 1, "status": "ACCEPTED",
                        "buyer_id": "buyer-001", "declared_at": format_z(DECLARED_AT)})
    store.commit({})
    tokens = tmp_path / "tokens.toml"
    hashed_file(tokens, **{OPS: ("ops", None), BUYER: ("buyer", "buyer-001")})
    app, metrics = web.Application(), Metrics()

    class Feed:
        malformed = 0

    api = mount(app.router, store, Feed(), TokenStore(tokens), load_policy(DEFAULT_POLICY),
                ready=lambda: True, metrics=metrics)
    async with TestClient(TestServer(app)) as client:
        yield Served(client, api, metrics)
    store.close()


async def test_the_forecast_of_an_open_declaration_moves_as_time_passes(
    served: Served,
) -> None:
    first = (await served.get(f"/declarations/{OPEN_ID}"))["expected_release"]
    served.now = DECLARED_AT + timedelta(hours=6, minutes=30)
    later = (await served.get(f"/declarations/{OPEN_ID}", BUYER))["expected_release"]
    # Filed: all 25 past clearances (2 to 26 hours); 6.5 hours on: the 20 of 7 hours or more.
    assert (first["basis"]["n"], later["basis"]["n"]) == (25, 20)
    assert first["p10_at"] == format_z(DECLARED_AT + timedelta(hours=4))
    assert later["p10_at"] == format_z(DECLARED_AT + timedelta(hours=8))
    assert later["p50_at"] > first["p50_at"] and later["p_within_24h"] < first["p_within_24h"]
    assert later["basis"]["as_of"] == format_z(served.now)
    served.now = DECLARED_AT + timedelta(hours=8)
    gone = await served.get(f"/declarations/{OPEN_ID}")
    assert gone["expected_release"] is None
    assert gone["expected_release_note"] == "INSUFFICIENT_HISTORY"
    assert gone["status"] == "ACCEPTED" and gone["sequence"] == 1  # the update, as published


async def test_a_buyers_listing_and_the_board_show_it(served: Served) -> None:
    page = await served.get("/buyers/buyer-001/declarations", BUYER)
    [item] = page["items"]
    assert item["expected_release"]["p50_at"] == format_z(DECLARED_AT + timedelta(hours=14))
    store = served.api.read_model
    for channel in ("GREEN", "STANDARD"):
        store.apply_kpi(f"CNNGB/{channel}", {"port": "CNNGB", "channel": channel})
    board = await served.get("/board/data")
    assert [k["expected_band"] for k in board["kpis"]] == [
        {"n": 25, "p10_hours": 4.0, "p50_hours": 14.0, "p90_hours": 24.0},
        None,  # no clearances of the standard channel
    ]


async def test_the_running_calibration_is_on_metrics(served: Served) -> None:
    store = served.api.read_model
    released_at = DECLARED_AT + timedelta(hours=30)  # after the forecast's p90 (24 h)
    store.apply_basis(Basis(OPEN_ID, GROUP, DECLARED_AT, False, released_at, 30.0,
                            released_at))
    text = generate_latest(served.metrics.registry).decode()
    assert "customs_forecasts_scored 1.0" in text
    assert "customs_forecast_coverage_ratio 0.0" in text
    assert "customs_forecast_by_p50_ratio 0.0" in text
