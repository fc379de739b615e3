from __future__ import annotations

from pathlib import Path

import pytest

from stream.web.auth import Tokens, TokensError

FILE = """
[[token]]
token = "ops-token-0123456789"
role = "ops"

[[token]]
token = "buyer-token-0123456789"
role = "buyer"
buyer_id = "buyer-001"
"""


def test_tokens_name_their_principals(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text(FILE)
    tokens = Tokens.load(path)
    ops = tokens.authenticate("Bearer ops-token-0123456789")
    buyer = tokens.authenticate("Bearer buyer-token-0123456789")
    assert ops is not None and ops.may_see("buyer-009")
    assert buyer is not None and buyer.may_see("buyer-001") and not buyer.may_see("buyer-002")
    assert not buyer.may_see(None)
    assert tokens.authenticate("Bearer nope-0123456789012") is None
    assert tokens.authenticate("ops-token-0123456789") is None  # no scheme
    assert tokens.authenticate(None) is None


@pytest.mark.parametrize("text", [
    '[[token]]\ntoken = "short"\nrole = "ops"\n',
    '[[token]]\ntoken = "buyer-token-0123456789"\nrole = "buyer"\n',
    '[[token]]\ntoken = "ops-token-0123456789"\nrole = "ops"\nbuyer_id = "b"\n',
    '[[token]]\ntoken = "ops-token-0123456789"\nrole = "admin"\n',
    "not toml =",
])
def test_invalid_files_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text(text)
    with pytest.raises(TokensError):
        Tokens.load(path)


def test_no_file_means_no_tokens(tmp_path: Path) -> None:
    assert Tokens.load(None).principals == ()
    with pytest.raises(TokensError, match="not found"):
        Tokens.load(tmp_path / "missing.toml")
