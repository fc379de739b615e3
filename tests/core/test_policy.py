from __future__ import annotations

from pathlib import Path

import pytest

from stream.core.policy import PolicyError, load_policy
from stream.settings import DEFAULT_POLICY


def test_the_default_policy_is_the_contracts() -> None:
    policy = load_policy(DEFAULT_POLICY)
    assert policy.version == "2026-04-10"
    assert policy.green_channel.required_certificates == ("ISO9001", "ISO14001")
    assert len(policy.returns.inter_district_districts) == 20
    assert policy.classification["bearing"] == ("8482",)  # type: ignore[index]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.toml")


def test_bad_toml_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("version = ")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(bad)


def test_invalid_values_name_the_field(tmp_path: Path) -> None:
    text = DEFAULT_POLICY.read_text().replace("inspection_rate = 0.02", "inspection_rate = 2")
    bad = tmp_path / "p.toml"
    bad.write_text(text)
    with pytest.raises(PolicyError, match=r"green_channel\.inspection_rate"):
        load_policy(bad)


def test_unknown_product_categories_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text(DEFAULT_POLICY.read_text().replace('toy = ["9503"]', 'spaceship = ["8802"]'))
    with pytest.raises(PolicyError, match="spaceship"):
        load_policy(bad)


def test_scope_widens_without_code(tmp_path: Path) -> None:
    wider = DEFAULT_POLICY.read_text().replace(
        'scope = [{ port = "CNNGB", port_area = "BEILUN" }]',
        'scope = [{ port = "CNNGB", port_area = "BEILUN" }, { port = "CNDLC" }]',
    )
    path = tmp_path / "p.toml"
    path.write_text(wider)
    policy = load_policy(path)
    assert any(entry.covers("CNDLC", "DAYAOWAN") for entry in policy.green_channel.scope)
