from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.runtime.pipeline import Pipeline
from stream.settings import DEFAULT_POLICY, Settings
from tests.agents.conftest import Captured, read_from
from tests.builders import DECL, FIRM, filed, lifecycle, model

OPEN, LATER, NEWEST = "310020260000000102", "310020260000000103", "310020260000000104"


@pytest.fixture
def pipeline_settings(tmp_path: Path) -> Settings:
    policy = tmp_path / "policy.toml"
    policy.write_text(DEFAULT_POLICY.read_text().replace("closed_days = 400", "closed_days = 30"))
    return Settings(web_enabled=False, data_dir=tmp_path, partitions=1, store="memory://",
                    policy_file=policy)


def _departed(declaration_id: str) -> list[dict[str, Any]]:
    return [
        filed(declaration_id=declaration_id),
        lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00", declaration_id),
        lifecycle("GoodsDeparted", "2026-05-10T08:00:00+08:00", declaration_id),
    ]


async def test_a_declaration_closed_past_retention_is_removed_with_its_firm_listing(
    pipeline: Pipeline, captured: Captured
) -> None:
    messages = [
        *_departed(DECL),
        filed(declaration_id=OPEN),  # never closes
        *_departed(LATER),
        lifecycle("BondedZoneEntered", "2026-06-05T08:00:00+08:00", LATER),  # closed later
    ]
    state = pipeline.tables["declaration-state"]
    listing = pipeline.tables["firm-declarations"]
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        for offset, document in enumerate(messages):
            key, topic = document["declaration_id"], model(document).topic
            await agent.put(json.dumps(document).encode(),
                            **read_from(topic, key, offset, partitions=1))
        assert DECL in state and DECL in str(listing.get(f"0:{FIRM}:2026-05"))
        updates = len(captured.sent)
        # Stream time moves to 15 June: what closed before 16 May is past 30 days.
        newest = filed(declaration_id=NEWEST, at="2026-06-15T09:00:00+08:00")
        await agent.put(json.dumps(newest).encode(),
                        **read_from("declarations", NEWEST, 99, partitions=1))
        assert DECL not in state
        assert {OPEN, LATER, NEWEST} <= set(state.keys())
        assert DECL not in str(listing.get(f"0:{FIRM}:2026-05"))
        assert OPEN in str(listing.get(f"0:{FIRM}:2026-05"))
        assert pipeline.metrics.declarations_removed._value.get() == 1
        # Removal publishes nothing: buyers keep the declaration's last status.
        assert [(s.topic, s.key) for s in captured.sent[updates:]] == [
            ("declaration-status", NEWEST), ("release-decisions", NEWEST),
            ("forecast-basis", NEWEST)]
        # A declaration that closed later goes when its own latest event is past.
        final = filed(declaration_id=NEWEST, at="2026-07-20T09:00:00+08:00", event_id="late")
        await agent.put(json.dumps(final).encode(),
                        **read_from("declarations", NEWEST, 100, partitions=1))
        assert LATER not in state and OPEN in state


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(8999, 12, 30),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)),
                                               timezone(timedelta(hours=-10))])))
def test_the_day_and_month_keys_are_strftime_s(t: datetime) -> None:
    from schemas.types import utc_day
    from stream.agents.firm_facts import _month

    assert utc_day(t) == t.astimezone(UTC).strftime("%Y-%m-%d")
    assert _month(t) == t.astimezone(UTC).strftime("%Y-%m")
