"""The package's shape holds: imports point down the layers (import-linter, configured in
pyproject.toml), every folder and module of stream/ is in exactly one place of that
picture, docs/architecture.md names each of them, and no module is over ~300 lines."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def contracts() -> dict[str, dict[str, list[str]]]:
    return {c["name"]: c for c in CONFIG["contracts"]}


def layer_packages() -> list[str]:
    [layers] = [c for c in CONFIG["contracts"] if c["type"] == "layers"]
    return [p.strip() for layer in layers["layers"] for p in layer.split("|")]


def plumbing() -> list[str]:
    [rule] = [c for c in CONFIG["contracts"] if "plumbing" in c["name"]]
    return list(rule["source_modules"])


def lint(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT)], cwd=cwd, capture_output=True, text=True, env=env,
                          check=False, timeout=120)


def test_imports_point_down_the_layers() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"Contracts: {len(CONFIG['contracts'])} kept, 0 broken." in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    for package in ("stream", "schemas"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.jar", "static"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    upward = tmp_path / "stream" / "runtime" / "outbox.py"
    upward.write_text(upward.read_text() + "\nfrom stream.agents import lifecycle  # noqa\n")
    impure = tmp_path / "stream" / "core" / "kpi.py"
    impure.write_text(impure.read_text() + "\nimport faust  # noqa\n")
    result = lint(tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert "stream.runtime.outbox -> stream.agents.lifecycle" in result.stdout
    assert "stream.core.kpi -> faust" in result.stdout
    assert "2 broken" in result.stdout


def test_every_part_of_the_package_has_its_place_and_its_words_in_the_docs() -> None:
    stream = ROOT / "stream"
    folders = {f"stream.{p.name}" for p in stream.iterdir()
               if p.is_dir() and (p / "__init__.py").exists()}
    modules = {f"stream.{p.stem}" for p in stream.glob("*.py") if p.stem not in (
        "__init__", "__main__")}
    placed = set(layer_packages()) | {"stream.core"}
    assert folders == placed, folders ^ placed
    assert modules == set(plumbing()), modules ^ set(plumbing())
    assert len(modules) <= 10  # at most ~10 modules beside the layers
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    for name in sorted(folders | modules):
        path = name.replace(".", "/")
        assert f"`{path}/`" in architecture or f"`{path}.py`" in architecture, name


def test_no_module_is_over_300_lines() -> None:
    sizes = {p.relative_to(ROOT): len(p.read_text().splitlines())
             for p in (ROOT / "stream").rglob("*.py")}
    assert sizes
    assert {p: n for p, n in sizes.items() if n > 300} == {}
