"""The official AsyncAPI parser accepts the published document with no error (installed
by `make test` into .cache/node)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".cache" / "node"


def test_the_official_parser_reports_no_error() -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for the AsyncAPI parser"
    assert (NODE_MODULES / "node_modules" / "@asyncapi" / "parser").is_dir(), (
        "the AsyncAPI parser is missing: `make test` installs it (make asyncapi-parser)"
    )
    result = subprocess.run(
        [node, "check/asyncapi_check.mjs", str(NODE_MODULES), "asyncapi.json"],
        cwd=ROOT / "schemas", capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("0 errors"), result.stdout


def test_the_check_fails_on_a_broken_document(tmp_path: Path) -> None:
    broken = tmp_path / "asyncapi.json"
    broken.write_text('{"asyncapi": "3.0.0", "info": {"title": 7}}')
    result = subprocess.run(
        ["node", str(ROOT / "schemas" / "check" / "asyncapi_check.mjs"), str(NODE_MODULES),
         str(broken)], capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1 and "errors" in result.stdout
