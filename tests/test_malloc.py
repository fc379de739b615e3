from __future__ import annotations

import pytest
from typer.testing import CliRunner

from stream import cli, malloc
from stream.worker import process as worker


def test_the_arena_limit_takes_on_glibc() -> None:
    assert malloc.limit_arenas()


def test_a_worker_limits_its_arenas_before_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []

    def limit() -> bool:
        order.append("arenas")
        return True

    monkeypatch.setattr(malloc, "limit_arenas", limit)
    monkeypatch.setattr(worker, "run_worker", lambda _: order.append("worker"))
    result = CliRunner().invoke(cli.app, ["worker"])
    assert result.exit_code == 0, result.output
    assert order == ["arenas", "worker"]
