from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stream.read.web import auth
from stream.read.web.auth import Principal, Tokens, TokensError, TokenStore, digest

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


def store_of(path: Path, monkeypatch: pytest.MonkeyPatch) -> TokenStore:
    monkeypatch.setattr(auth, "RELOAD_EVERY", 0.0)  # look at the file at every request
    return TokenStore(path)


@pytest.mark.parametrize("breakage", ["not utf-8", "a directory", "removed"])
def test_a_tokens_file_that_cannot_be_read_closes_the_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    breakage: str,
) -> None:
    path = tmp_path / "tokens.toml"
    hashed_file(path, **{OPS: ("ops", None)})
    store = store_of(path, monkeypatch)
    assert store.current().authenticate(f"Bearer {OPS}") is not None
    path.unlink()
    if breakage == "not utf-8":
        path.write_bytes(b'[[token]]\nname = "\xff\xfe"\n')
    elif breakage == "a directory":
        path.mkdir()
    assert store.current().authenticate(f"Bearer {OPS}") is None  # closed, never a 500
    assert store.current().principals == ()  # and still closed at the next look
    assert "401 until it is mended" in caplog.text and digest(OPS) not in caplog.text
    if path.is_dir():
        path.rmdir()
    else:
        path.unlink(missing_ok=True)
    hashed_file(path, **{OPS: ("ops", None)})  # mended: the same file as before
    assert store.current().authenticate(f"Bearer {OPS}") is not None


def test_a_file_replaced_by_a_rename_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tokens.toml"
    hashed_file(path, **{OPS: ("ops", None), BUYER: ("buyer", "buyer-001")})
    store = store_of(path, monkeypatch)
    assert store.current().authenticate(f"Bearer {BUYER}") is not None
    # The same size and times, another file: as a deployment's tool may replace it.
    replacement = tmp_path / "next.toml"
    hashed_file(replacement, **{OPS: ("ops", None), "x" * len(BUYER): ("buyer", "buyer-001")})
    stat = path.stat()
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert replacement.stat().st_size == stat.st_size
    replacement.replace(path)
    assert store.current().authenticate(f"Bearer {BUYER}") is None


def test_adding_and_revoking_keep_the_files_owner_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    auth.add(path, "ops", name="first")
    assert path.stat().st_mode & 0o777 == 0o600  # a new file: its owner's only
    path.chmod(0o640)
    if os.geteuid() == 0:  # as root, give it to another user, as a deployment would
        os.chown(path, 4321, 4321)
    _, second = auth.add(path, "buyer", buyer_id="buyer-001")
    auth.revoke(path, second.id)
    assert path.stat().st_mode & 0o777 == 0o640
    if os.geteuid() == 0:
        assert (path.stat().st_uid, path.stat().st_gid) == (4321, 4321)
    assert [p.name for p in Tokens.load(path).principals] == ["first"]
    assert not list(tmp_path.glob(".tokens.toml.*"))  # no draft left behind
