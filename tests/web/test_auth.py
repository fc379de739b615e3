from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stream.web import auth
from stream.web.auth import Principal, Tokens, TokensError, TokenStore, digest

OPS, BUYER = "ops-token-0123456789", "buyer-token-0123456789"
HASH = "0" * 64


def hashed_file(path: Path, **tokens: tuple[str, str | None]) -> None:
    """A tokens file for known tokens: token -> (role, buyer_id)."""
    auth.write(path, tuple(
        Principal(id=f"tok-{n:08x}", sha256=digest(token), role=role,
                  buyer_id=buyer)
        for n, (token, (role, buyer)) in enumerate(tokens.items())
    ))


def test_tokens_name_their_principals(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    hashed_file(path, **{OPS: ("ops", None), BUYER: ("buyer", "buyer-001")})
    assert OPS not in path.read_text() and BUYER not in path.read_text()  # hashes only
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    tokens = Tokens.load(path)
    ops = tokens.authenticate(f"Bearer {OPS}")
    buyer = tokens.authenticate(f"Bearer {BUYER}")
    assert ops is not None and ops.may_see("buyer-009")
    assert buyer is not None and buyer.may_see("buyer-001") and not buyer.may_see("buyer-002")
    assert not buyer.may_see(None)
    assert tokens.authenticate("Bearer nope-0123456789012") is None
    assert tokens.authenticate(OPS) is None  # no scheme
    assert tokens.authenticate(f"Bearer {digest(OPS)}") is None  # the hash is no token
    assert tokens.authenticate(None) is None


SECRET = "s3cret-value-that-must-not-leak"


@pytest.mark.parametrize("text", [
    f'[[token]]\ntoken = "{SECRET}"\nrole = "ops"\n',  # a plain token
    f'[[token]]\nid = "tok-00000001"\nsha256 = "{SECRET}"\nrole = "ops"\n',
    f'[[token]]\nid = "tok-00000001"\nsha256 = "{HASH}"\nrole = "buyer"\nname = "{SECRET}"\n',
    f'[[token]]\nid = "tok-00000001"\nsha256 = "{HASH}"\nrole = "ops"\nbuyer_id = "{SECRET}"\n',
    f'[[token]]\nid = "tok-00000001"\nsha256 = "{HASH}"\nrole = "admin"\n',
    f'[[token]]\nid = "{SECRET}"\nsha256 = "{HASH}"\nrole = "ops"\n',
    f'not toml = "{SECRET}" =',
])
def test_invalid_files_are_refused_without_showing_a_secret(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text(text)
    with pytest.raises(TokensError) as raised:
        Tokens.load(path)
    assert SECRET not in str(raised.value) and HASH not in str(raised.value)


def test_no_file_means_no_tokens(tmp_path: Path) -> None:
    assert Tokens.load(None).principals == ()
    with pytest.raises(TokensError, match="not found"):
        Tokens.load(tmp_path / "missing.toml")


def test_the_store_reads_a_changed_file_and_closes_on_a_broken_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(auth, "RELOAD_EVERY", 0.0)
    path = tmp_path / "tokens.toml"
    hashed_file(path, **{OPS: ("ops", None)})
    store = TokenStore(path)
    assert store.current().authenticate(f"Bearer {OPS}") is not None
    token, added = auth.add(path, "buyer", buyer_id="buyer-007")
    os.utime(path, ns=(1, 10**18))  # a new stamp, whatever the clock's resolution
    assert store.current().authenticate(f"Bearer {token}") == added
    auth.revoke(path, added.id)
    os.utime(path, ns=(1, 2 * 10**18))
    assert store.current().authenticate(f"Bearer {token}") is None
    path.write_text(f'[[token]]\ntoken = "{SECRET}"\nrole = "ops"\n')
    os.utime(path, ns=(1, 3 * 10**18))
    assert store.current().principals == ()  # closed, not the old tokens
    assert SECRET not in caplog.text and digest(OPS) not in caplog.text


def test_tokens_command_shows_a_token_once_and_keeps_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "stream", "tokens", *args, "--file", str(path)],
            capture_output=True, text=True, timeout=60, check=False,
        )

    added = command("add", "--buyer", "buyer-001")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert len(token) >= 43 and token not in path.read_text()
    principal = Tokens.load(path).authenticate(f"Bearer {token}")
    assert principal is not None and principal.buyer_id == "buyer-001"
    listed = command("list")
    assert principal.id in listed.stdout and digest(token) not in listed.stdout
    assert command("add", "--ops", "night-shift").returncode == 0
    assert command("add").returncode == 1  # neither --buyer nor --ops
    assert command("revoke", principal.id).returncode == 0
    assert Tokens.load(path).authenticate(f"Bearer {token}") is None
    assert len(Tokens.load(path).principals) == 1
    assert command("revoke", principal.id).returncode == 1


def test_a_header_that_is_not_utf8_is_no_token_and_no_error() -> None:
    tokens = Tokens((Principal(id="tok-00000000", sha256=digest(OPS), role="ops"),))
    not_utf8 = b"\xa1\xff".decode("utf-8", "surrogateescape")  # as aiohttp hands it over
    assert tokens.authenticate(f"Bearer {not_utf8}") is None
