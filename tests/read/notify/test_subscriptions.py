"""Signing secrets are stored sealed, shown once, and rotated with a 24-hour overlap."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from stream.read.notify.subscriptions import (
    ROTATION_OVERLAP,
    SecretBox,
    SubscriptionError,
    new_subscription,
    rotated,
)
from stream.settings import Settings

T0 = 1_800_000_000.0


def box() -> SecretBox:
    return SecretBox(Settings(webhook_key=SecretStr(Fernet.generate_key().decode())))


def test_the_stored_form_never_holds_the_secret_in_clear() -> None:
    sealer = box()
    made, secret = new_subscription(sealer, "buyer-001", "https://erp.example/h", [], [], [], T0)
    stored = made.model_dump_json()
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert "secrets" not in made.shown()
    assert sealer.in_force(made, T0) == [secret]


def test_a_rotation_signs_with_both_for_24_hours_then_the_new_one_alone() -> None:
    sealer = box()
    made, old = new_subscription(sealer, "buyer-001", "https://erp.example/h", [], [], [], T0)
    turned, new = rotated(sealer, made, T0 + 10)
    assert sealer.in_force(turned, T0 + 11) == [new, old]
    assert sealer.in_force(turned, T0 + 10 + ROTATION_OVERLAP + 1) == [new]
    again, newest = rotated(sealer, turned, T0 + 20)  # the previous one overlaps, not older
    assert sealer.in_force(again, T0 + 21) == [newest, new]


def test_another_key_or_none_is_a_clear_error_without_the_key() -> None:
    made, _ = new_subscription(box(), "buyer-001", "https://erp.example/h", [], [], [], T0)
    with pytest.raises(SubscriptionError, match="another CUSTOMS_STREAM_WEBHOOK_KEY"):
        box().in_force(made, T0)
    with pytest.raises(SubscriptionError, match="is not set"):
        SecretBox(Settings())
    with pytest.raises(SubscriptionError, match="not a key") as raised:
        SecretBox(Settings(webhook_key=SecretStr("hunter2-not-a-key")))
    assert "hunter2" not in str(raised.value)
