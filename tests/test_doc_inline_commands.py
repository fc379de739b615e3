"""The commands the docs name in running text (not in ``sh`` blocks, which
``tests/integration/test_doc_commands.py`` runs): each must be a command that exists,
with options it takes. A benchmark's figures come from its own run, not from a test:
here its command line is parsed by the benchmark's own parser, and each benchmark runs
at smoke size in ``tests/test_benchmarks.py`` (or its twin on the broker); a
``customs-stream`` command is parsed by the command line's parser."""

from __future__ import annotations

import importlib
import re
import shlex

import pytest
from typer.testing import CliRunner

from stream.cli import app
from tests.benchmarks import IN_PROCESS, ON_THE_BROKER, RUN_ELSEWHERE
from tests.conftest import ROOT, names_a_test

DOCS = [ROOT / "README.md", ROOT / "SECURITY.md", *sorted((ROOT / "docs").glob("*.md"))]
INLINE = re.compile(r"`((?:python -m bench\.|customs-stream )[^`]*)`")
PLACEHOLDER = re.compile(r"^[A-Z]$")  # N, M, W, S in a synopsis


def inline_commands() -> list[tuple[str, list[str]]]:
    found = []
    for doc in DOCS:
        for command in INLINE.findall(doc.read_text()):
            words = shlex.split(" ".join(command.split()))
            found.append((doc.name, ["1" if PLACEHOLDER.match(w) else w for w in words]))
    return found


COMMANDS = inline_commands()


def test_the_docs_name_benchmarks_and_commands_in_their_text() -> None:
    assert sum(words[0] == "python" for _, words in COMMANDS) >= 5
    assert sum(words[0] == "customs-stream" for _, words in COMMANDS) >= 5


def test_each_benchmark_named_is_run_by_a_test() -> None:
    """At smoke size: by ``tests/test_benchmarks.py`` and its twin on the broker, or by
    the test named for it."""
    named = {words[2] for _, words in COMMANDS if words[0] == "python"}
    assert named == {*IN_PROCESS, *ON_THE_BROKER, *RUN_ELSEWHERE}
    for target in RUN_ELSEWHERE.values():
        assert names_a_test(target), target


@pytest.mark.parametrize(("doc", "words"), [c for c in COMMANDS if c[1][0] == "python"],
                         ids=lambda c: " ".join(c) if isinstance(c, list) else c)
def test_each_benchmark_named_takes_the_options_shown(doc: str, words: list[str]) -> None:
    module = importlib.import_module(words[2])
    arguments = module.arguments()
    try:
        arguments.parse_args(words[3:])
    except SystemExit as refused:
        raise AssertionError(f"{doc}: {' '.join(words)}") from refused


@pytest.mark.parametrize(("doc", "words"), [c for c in COMMANDS if c[1][0] == "customs-stream"],
                         ids=lambda c: " ".join(c) if isinstance(c, list) else c)
def test_each_command_named_takes_the_options_shown(doc: str, words: list[str]) -> None:
    result = CliRunner().invoke(app, [*words[1:], "--help"])
    assert result.exit_code == 0, f"{doc}: {' '.join(words)}\n{result.output}"
