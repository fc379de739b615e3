"""``customs-stream eta-check``: forecasts made from what was known then, listed so that
anyone can check the figures, and scored against the releases."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from stream.cli import app
from stream.ingest import Decoded, decode
from stream.settings import Settings, policy_of
from stream.tools.eta.check import EtaCheck, check_file
from stream.tools.scenario import Message, read_scenario
from tests.builders import enrolled
from tests.conftest import ROOT

MONTH = ROOT / "tests" / "scenarios" / "07-port-month" / "events.jsonl"


def instant(text: str) -> datetime:
    assert text.endswith("Z"), text  # RFC 3339, in UTC
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_json_report_lists_every_forecast_and_scores_the_released() -> None:
    result = CliRunner().invoke(app, ["eta-check", str(MONTH), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    forecasts = report["forecasts"]
    assert len(forecasts) == report["forecasts_made"] > 200
    made = [f for f in forecasts if f["p50_at"] is not None]
    assert len(forecasts) - len(made) == report["insufficient_history"] > 0
    for f in made:
        p10, p50, p90 = (instant(f[k]) for k in ("p10_at", "p50_at", "p90_at"))
        # Conditional on the time already waited: never before the moment it is made.
        assert instant(f["made_at"]) <= p10 <= p50 <= p90, f
        assert 0 <= f["p_within_24h"] <= 1 and f["basis"]["as_of"] == f["made_at"]
        assert f["basis"]["n"] >= 20
    released = [f for f in made if f["released_at"] is not None]
    assert report["scored"] == len(released) == report["naive"]["scored"]
    inside = sum(instant(f["p10_at"]) <= instant(f["released_at"]) <= instant(f["p90_at"])
                 for f in released)
    assert report["coverage_p10_p90"] == round(inside / len(released), 4)
    by_p50 = sum(instant(f["released_at"]) <= instant(f["p50_at"]) for f in released)
    assert report["share_before_p50"] == round(by_p50 / len(released), 4)
    assert set(report["by_port_and_channel"]) >= {"CNNGB/GREEN", "CNNGB/STANDARD"}
    waited = [f for f in released if instant(f["made_at"]) > instant(f["declared_at"])]
    assert 0 < len(waited) == report["after_waiting"]["conditional"]["scored"] < len(released)


def test_a_forecast_reads_nothing_from_after_its_moment() -> None:
    """Each forecast, made again from only the messages of events up to its moment, is
    the same: no look-ahead (and so nothing of the declaration's own release)."""
    policy = policy_of(Settings())
    messages = [m for m in read_scenario(MONTH) if isinstance(m, Message)]
    whole = EtaCheck(policy)
    whole.run(messages)
    picked = random.Random(5).sample([f for f in whole.forecasts if f.conditional], 8)
    for forecast in picked:
        known = [m for m in messages if before(m, forecast.made_at)]
        truncated = EtaCheck(policy)
        truncated.run(known)
        again = [f for f in truncated.forecasts if f.declaration_id == forecast.declaration_id
                 and f.made_at == forecast.made_at]
        assert again and again[-1] == forecast


def before(message: Message, t: datetime) -> bool:
    """The message's event happened at ``t`` or before (unreadable ones are kept)."""
    decoded = decode(message.topic, message.key, message.value)
    return not isinstance(decoded, Decoded) or decoded.event.occurred_at <= t


def test_forecasts_outside_since_until_are_not_kept() -> None:
    everything = check_file(MONTH, policy_of(Settings()))
    moments = sorted(f.made_at for f in everything.forecasts)
    since, until = moments[len(moments) // 3], moments[2 * len(moments) // 3]
    window = check_file(MONTH, policy_of(Settings()), since=since, until=until)
    assert [f for f in everything.forecasts if since <= f.made_at < until] == window.forecasts


def test_a_bad_time_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eta-check", str(MONTH), "--since", "yesterday"])
    assert result.exit_code == 2 and "not an RFC 3339 time" in result.output
    missing = CliRunner().invoke(app, ["eta-check", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 1 and "not found" in missing.output


def test_regular_forecasts_while_open_read_nothing_from_after_their_moment() -> None:
    """``--every``: forecasts also every 12 hours of each open declaration's wait, besides
    those at its status changes; each made again from only the messages before its
    moment (and one unrelated later fact, so that time moves past it) is the same."""
    policy, every = policy_of(Settings()), timedelta(hours=12)
    plain, check = check_file(MONTH, policy), check_file(MONTH, policy, every=every)
    changes = {(f.declaration_id, f.made_at) for f in plain.forecasts}
    regular = [f for f in check.forecasts if (f.declaration_id, f.made_at) not in changes]
    assert len(check.forecasts) == len(plain.forecasts) + len(regular)
    assert len(regular) > 2 * len(plain.forecasts)
    for f in regular:
        waited = f.made_at - f.declared_at
        assert waited > timedelta(0) and waited % every == timedelta(0), f
        released_at = check.released_at(f.declaration_id)
        assert released_at is None or f.made_at < released_at  # only while open
    messages = [m for m in read_scenario(MONTH) if isinstance(m, Message)]
    for forecast in random.Random(7).sample([f for f in regular if f.conditional], 5):
        later = enrolled((forecast.made_at + timedelta(seconds=1)).isoformat(),
                         firm_id="91330206MA2A000000")
        known = [m for m in messages if before(m, forecast.made_at - timedelta(microseconds=1))]
        truncated = EtaCheck(policy, every=every)
        truncated.run([*known, Message("firms", b"91330206MA2A000000",
                                       json.dumps(later).encode())])
        again = [f for f in truncated.forecasts if f.declaration_id == forecast.declaration_id
                 and f.made_at == forecast.made_at]
        assert again == [forecast]
