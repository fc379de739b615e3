"""Secret settings: used where they are needed, shown nowhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from stream.core.policy import load_policy
from stream.settings import DEFAULT_POLICY, Settings, policy_of
from stream.worker.process import _worker_env

SALT = "a-production-salt-nobody-knows"


def test_the_sampling_salt_from_the_settings_replaces_the_policy_files() -> None:
    assert policy_of(Settings()).sampling_salt == load_policy(DEFAULT_POLICY).sampling_salt
    policy = policy_of(Settings(sampling_salt=SecretStr(SALT)))
    assert policy.sampling_salt == SALT and SALT not in repr(policy)
    assert SALT not in repr(Settings(sampling_salt=SecretStr(SALT)))


def test_a_worker_process_is_handed_the_secret_itself(tmp_path: Path) -> None:
    env = _worker_env(Settings(sampling_salt=SecretStr(SALT), cors_origins=["https://a.example"]))
    assert env["CUSTOMS_STREAM_SAMPLING_SALT"] == SALT
    assert env["CUSTOMS_STREAM_CORS_ORIGINS"] == '["https://a.example"]'


def test_ports_outside_the_policy_are_other_in_metrics() -> None:
    policy = load_policy(DEFAULT_POLICY)
    assert policy.port_label("CNNGB") == "CNNGB" and policy.port_label("CNSHA") == "CNSHA"
    assert policy.port_label("USLAX") == "other" and policy.port_label(None) == "other"


def test_the_kafka_password_may_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "pipeline"
    secret.write_text("pw-from-a-file\n")
    settings = Settings(kafka_password_file=secret)
    assert settings.kafka_password is not None
    assert settings.kafka_password.get_secret_value() == "pw-from-a-file"
    assert "pw-from-a-file" not in repr(settings)
    given = Settings(kafka_password_file=secret, kafka_password=SecretStr("given"))
    assert given.kafka_password is not None and given.kafka_password.get_secret_value() == "given"
    secret.write_bytes(b"\xff\xfe not text")
    with pytest.raises(ValidationError) as raised:
        Settings(kafka_password_file=secret)
    assert "cannot be read" in str(raised.value) and "not text" not in str(raised.value)
