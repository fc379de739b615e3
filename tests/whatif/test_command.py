"""``customs-stream whatif`` on events files: its three output forms and its errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stream.cli import app

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "stream" / "policy.toml"
MONTH = ROOT / "tests" / "scenarios" / "07-port-month" / "events.jsonl"


def whatif(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["whatif", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_names_the_declarations_that_would_change(wider: Path) -> None:
    code, out, _ = whatif("--policy", str(wider), str(MONTH), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["policies"]["proposed"] == {"version": "2026-12-wider", "file": str(wider)}
    assert report["declarations"] == 400
    # Every change is Shanghai's, and only the port rule was lifted.
    assert report["changed"] > 0 and {c["port"] for c in report["changes"]} == {"CNSHA"}
    assert {c["why"] for c in report["changes"]} == {"PORT_OUT_OF_SCOPE lifted"}
    assert sum(c["declarations"] for c in report["changes"]) == report["changed"]
    assert re.fullmatch(r"CNSHA: \d+ declarations from \d+ firms would have been green "
                        r"\(PORT_OUT_OF_SCOPE lifted\)", report["headlines"][0])
    assert report["clearance"]
    for effect in report["clearance"]:  # faster, and said with the sample behind it
        assert effect["estimated_change_hours"] < 0
        assert effect["proposed"]["sample"] >= 5 and effect["proposed"]["basis"]


def test_the_terminal_report_has_its_tables(wider: Path) -> None:
    code, out, _ = whatif("--policy", str(wider), str(MONTH))
    assert code == 0
    assert "would have been green (PORT_OUT_OF_SCOPE lifted)" in out
    for title in ("Declarations that would change", "Clearance time, filing to release",
                  "Inspections and document holds", "Firms that would gain or lose"):
        assert title in out


def test_the_html_report_carries_the_tables_and_the_chart_data(
    wider: Path, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    code, out, err = whatif("--policy", str(wider), str(MONTH), "--json", "--html", str(page))
    assert code == 0 and f"report written to {page}" in err
    text = page.read_text()
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text,
                     re.S)
    assert data and json.loads(data.group(1)) == json.loads(out)
    assert "<canvas id='chart'" in text and "Chart.js v4" in text  # the library, inlined
    assert text.count("<table>") == 4


def test_the_sampling_salt_is_used_but_never_shown(wider: Path) -> None:
    secret = "s3cret-salt-for-this-test"
    result = CliRunner(env={"CUSTOMS_STREAM_SAMPLING_SALT": secret}).invoke(
        app, ["whatif", "--policy", str(wider), str(MONTH), "--json"])
    assert result.exit_code == 0
    assert secret not in result.stdout and secret not in result.stderr


def test_a_bad_policy_file_is_named_with_its_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(POLICY.read_text().replace("standard_inspection_rate = 0.10",
                                              "standard_inspection_rate = 2"))
    code, _, err = whatif("--policy", str(bad), str(MONTH))
    assert code == 1
    assert f"policy file {bad} is invalid: standard_inspection_rate:" in err
    code, _, err = whatif("--policy", str(tmp_path / "none.toml"), str(MONTH))
    assert code == 1 and "policy file not found" in err


def test_an_unreadable_source_is_a_clear_error(wider: Path, tmp_path: Path) -> None:
    code, _, err = whatif("--policy", str(wider), str(tmp_path / "none.jsonl"))
    assert code == 1 and f"cannot read {tmp_path / 'none.jsonl'}: No such file" in err
    broken = tmp_path / "broken.jsonl"
    broken.write_text(MONTH.read_text().splitlines()[0] + "\n{not json\n")
    code, _, err = whatif("--policy", str(wider), str(broken))
    assert code == 1 and f"{broken}:2: not a JSON line" in err


@pytest.mark.parametrize(("args", "message"), [
    ([], "give an events file or --from-broker"),
    ([str(MONTH), "--from-broker"], "give an events file or --from-broker"),
    ([str(MONTH), "--since", "last week"], "--since: not an RFC 3339 time"),
    ([str(MONTH), "--until", "2026-06-01T00:00:00"], "--until: give the time's offset"),
])
def test_options_that_describe_no_run_are_usage_errors(
    wider: Path, args: list[str], message: str
) -> None:
    code, _, err = whatif("--policy", str(wider), *args)
    assert code == 2 and message in err


def test_since_and_until_narrow_the_declarations(wider: Path) -> None:
    code, out, _ = whatif("--policy", str(wider), str(MONTH), "--json",
                          "--since", "2026-05-10T00:00:00Z", "--until", "2026-05-20T00:00:00Z")
    assert code == 0
    report = json.loads(out)
    assert 0 < report["declarations"] < 400
    assert report["firms_as_of"] == "2026-05-20T00:00:00Z"


def test_a_message_past_what_the_pipeline_can_compute_with_is_only_a_dead_letter(
    wider: Path, tmp_path: Path
) -> None:
    lines = (ROOT / "tests" / "scenarios" / "01-green-channel" / "events.jsonl").read_text()
    far = json.loads(next(line for line in lines.splitlines() if "DeclarationFiled" in line))
    far["value"] = {**far["value"], "event_id": "far", "occurred_at": "9999-12-31T23:59:59-10:00"}
    events = tmp_path / "events.jsonl"
    events.write_text(lines + json.dumps(far) + "\n")
    code, out, err = whatif("--policy", str(wider), str(events), "--json",
                            "--since", "9999-12-31T23:59:59-10:00")
    assert code == 0, err
    code, out, err = whatif("--policy", str(wider), str(events), "--json")
    assert code == 0, err
    assert json.loads(out)["declarations"] > 0
