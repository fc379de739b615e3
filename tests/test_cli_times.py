"""Every command option that takes a time reads it one way (``stream.cli.common.instant``):
RFC 3339 with its offset; anything else is a usage error (exit 2) naming the option,
before the command touches a broker or a file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from stream.cli import app
from stream.cli.common import instant

COMMANDS = [
    ["whatif", "--policy", "stream/policy.toml", "events.jsonl", "--since"],
    ["eta-check", "events.jsonl", "--until"],
    ["simulate", "--count", "1", "--start"],
    ["subscriptions", "replay", "sub-1", "--since"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(("given", "said"), [
    ("last week", "not an RFC 3339 time"),
    ("2026-06-01T00:00:00", "give the time's offset"),
])
def test_a_time_without_its_offset_or_not_a_time_is_a_usage_error(
    command: list[str], given: str, said: str
) -> None:
    result = CliRunner().invoke(app, [*command, given])
    assert result.exit_code == 2, result.output
    assert f"{command[-1]}: {said}" in result.stderr


def test_a_time_is_read_with_its_offset() -> None:
    assert instant("2026-05-09T13:00:00+08:00", "--since") == datetime(
        2026, 5, 9, 13, tzinfo=timezone(timedelta(hours=8)))
    assert instant("2026-05-09T05:00:00Z", "--since") == datetime(2026, 5, 9, 5, tzinfo=UTC)
    assert instant(None, "--since") is None
