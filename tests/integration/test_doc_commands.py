"""Every command in a fenced ``sh`` block of the README and docs/ is run: here, at smoke
size on the test broker, when it ends by itself; by the test named for it when it runs
until stopped (a worker, an API replica, the demo) or is the test suite itself. A
command added to the docs without either fails this test."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from stream.settings import Settings
from tests.conftest import CACHE, ROOT, names_a_test

DOCS = [ROOT / "README.md", ROOT / "SECURITY.md", *sorted((ROOT / "docs").glob("*.md"))]
# Commands that run until stopped, or that are this suite: the test that runs each.
COMMANDS, BROKER = "tests/integration/test_commands.py", "tests/integration/test_broker_cli.py"
REPLICAS = "tests/integration/test_api_replicas.py"
RUN_ELSEWHERE = {
    "make demo": f"{COMMANDS}::test_demo_serves_the_board_and_stops_on_ctrl_c",
    "make test": ".ci/run (CI runs it on every change)",
    "customs-stream broker start": f"{BROKER}::test_start_status_stop",
    "customs-stream broker stop": f"{BROKER}::test_start_status_stop",
    "customs-stream worker":
        f"{COMMANDS}::test_a_worker_refuses_topics_with_other_partition_counts",
    "customs-stream api": f"{REPLICAS}::test_replicas_answer_as_the_worker_and_resume_from_disk",
    "curl": "tests/integration/test_api.py::test_access_rules_and_endpoints",
    "customs-stream notifier":
        "tests/integration/test_webhooks.py::test_a_killed_notifier_loses_nothing_and_never_goes_back",
    # They need a webhook key and a subscription's id: run in that order by this test.
    "customs-stream subscriptions": f"{COMMANDS}::test_the_subscriptions_commands",
}


def fenced_commands() -> list[tuple[str, str]]:
    """(document, command) for every command of every ``sh`` block."""
    found = []
    for doc in DOCS:
        for block in re.findall(r"```sh\n(.*?)```", doc.read_text(), flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():
                command = line.split("  #")[0].strip()
                if command:
                    found.append((doc.name, command))
    return found


def named(command: str) -> str:
    """What a command is, in RUN_ELSEWHERE's terms."""
    words = shlex.split(command.replace("$TOKEN", "TOKEN").replace("…", "x"))
    program = words[0].removeprefix(".venv/bin/")
    if program == "customs-stream":
        return " ".join([program, *[w for w in words[1:3] if not w.startswith("-")]][:3]) \
            if words[1] == "broker" else f"{program} {words[1]}"
    return program if program != "make" else command


def test_the_docs_show_commands() -> None:
    commands = fenced_commands()
    assert len(commands) >= 12  # README's set-up and what to run next, operations, what-if


def test_each_exported_setting_is_a_setting() -> None:
    exported = [c for _, c in fenced_commands() if c.startswith("export ")]
    assert exported
    fields = {f"CUSTOMS_STREAM_{name.upper()}" for name in Settings.model_fields}
    for line in exported:
        variable = line.removeprefix("export ").split("=")[0]
        assert variable in fields, line


def test_each_long_running_command_names_a_test_that_exists() -> None:
    for target in RUN_ELSEWHERE.values():
        if "::" not in target:
            continue
        assert names_a_test(target), target


@pytest.mark.timeout(900)
def test_each_command_that_ends_by_itself_runs(kafka: str, tmp_path: Path) -> None:
    ran = 0
    env = {
        **os.environ, "CUSTOMS_STREAM_BROKER": kafka, "CUSTOMS_STREAM_CACHE_DIR": str(CACHE),
        "CUSTOMS_STREAM_TOPIC_PREFIX": f"docs-{uuid.uuid4().hex[:8]}",
    }
    for doc, command in fenced_commands():
        if command.startswith("export ") or named(command) in RUN_ELSEWHERE:
            continue
        words = shlex.split(command)
        assert words[0] == ".venv/bin/customs-stream", f"{doc}: {command}"
        arguments = [str(ROOT / w) if (ROOT / w).exists() and "/" in w else w
                     for w in words[1:]]
        result = subprocess.run([sys.executable, "-m", "stream", *arguments], env=env,
                                cwd=tmp_path, capture_output=True, text=True, timeout=300,
                                check=False)
        assert result.returncode == 0, f"{doc}: {command}\n{result.stderr[-3000:]}"
        ran += 1
    assert ran >= 4  # topics, replay, whatif, tokens add
