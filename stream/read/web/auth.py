"""Bearer tokens for the HTTP API. The file holds only each token's SHA-256, never the
token itself; ``customs-stream tokens add`` makes a token, prints it once and writes
its hash::

    [[token]]
    id = "tok-6c1f0a9e"          # names the token (to revoke it); not a secret
    sha256 = "9f86d0…"           # SHA-256 of the token, hex
    role = "ops"                 # sees everything
    name = "control-room"

    [[token]]
    id = "tok-2b7d44c1"
    sha256 = "60303a…"
    role = "buyer"
    buyer_id = "buyer-001"       # sees only this buyer's declarations

Tokens are 256 random bits, so a plain SHA-256 is enough: there is nothing to guess.
The worker reads the file again when it changes. No token or hash is ever written to a
log line or an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

log = logging.getLogger(__name__)
RELOAD_EVERY = 1.0  # seconds between looks at the file


class TokensError(ValueError):
    """The tokens file is missing or invalid (the message holds no secret)."""


def digest(token: str) -> str:
    # Header bytes that are not UTF-8 reach us as surrogates (aiohttp): hash them as sent.
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^tok-[0-9a-f]{8}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", repr=False)
    role: Literal["ops", "buyer"]
    buyer_id: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, max_length=64)

    @model_validator(mode="after")
    def _buyers_name_their_buyer(self) -> Principal:
        if (self.role == "buyer") != (self.buyer_id is not None):
            raise ValueError("a buyer token names its buyer_id; an ops token does not")
        return self

    def may_see(self, buyer_id: str | None) -> bool:
        return self.role == "ops" or (buyer_id is not None and buyer_id == self.buyer_id)


class _TokensFile(BaseModel):
    token: list[Principal] = Field(default_factory=list)


def _describe(exc: ValidationError) -> str:
    """What is wrong, by place, without the values (which may be secrets)."""
    return "; ".join(
        f"token entry {'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)
    )


def parse(text: str, path: Path) -> tuple[Principal, ...]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TokensError(f"tokens file {path} is not TOML ({exc.args[0][:80]})") from None
    for entry in data.get("token", []) if isinstance(data, dict) else []:
        if isinstance(entry, dict) and "token" in entry:
            raise TokensError(
                f"tokens file {path} holds a plain token; tokens are kept as hashes: "
                "make them with `customs-stream tokens add`"
            )
    try:
        return tuple(_TokensFile.model_validate(data).token)
    except ValidationError as exc:
        raise TokensError(f"tokens file {path} is invalid: {_describe(exc)}") from None


@dataclass(frozen=True)
class Tokens:
    principals: tuple[Principal, ...] = ()

    @classmethod
    def load(cls, path: Path | None) -> Tokens:
        if path is None:
            return cls()
        try:
            text = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise TokensError(f"tokens file not found: {path}") from None
        except OSError as exc:  # permissions, a directory in its place, ...
            raise TokensError(f"tokens file {path} cannot be read ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise TokensError(f"tokens file {path} is not UTF-8 text") from None
        return cls(parse(text, path))

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal a ``Bearer`` header names, or None."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        offered = digest(authorization.removeprefix("Bearer ").strip()).encode()
        found = None
        for principal in self.principals:  # compare with every hash, in constant time
            if hmac.compare_digest(offered, principal.sha256.encode()):
                found = principal
        return found


@dataclass
class TokenStore:
    """The tokens of a file, read again when the file changes. A file that turns
    invalid or unreadable closes the API (no principal) until it is mended: a
    revocation must never be undone by a typo. Its state (inode, size, times) is
    remembered only once it was read whole, so a file that could not be read is tried
    again at the next look, and a file replaced by a rename is seen as changed."""

    path: Path | None
    tokens: Tokens = field(default_factory=Tokens)
    _seen: tuple[int, ...] | None = None
    _looked: float = 0.0

    def __post_init__(self) -> None:
        self.tokens = Tokens.load(self.path)  # at start, an invalid file is an error
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, ...] | None:
        if self.path is None:
            return None
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_ino, stat.st_dev, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns

    def current(self) -> Tokens:
        now = time.monotonic()
        if self.path is None or now - self._looked < RELOAD_EVERY:
            return self.tokens
        self._looked = now
        stamp = self._stamp()
        if stamp is None or stamp != self._seen:
            try:
                self.tokens = Tokens.load(self.path)
            except TokensError as exc:
                if self.tokens.principals or self._seen is not None:
                    log.error("%s; every data endpoint answers 401 until it is mended", exc)
                self.tokens, self._seen = Tokens(), None
            else:
                self._seen = stamp
                log.info("tokens file read again: %d tokens", len(self.tokens.principals))
        return self.tokens


# -- managing the file (``customs-stream tokens``) ----------------------------------------

def _entry(principal: Principal) -> str:
    lines = ["[[token]]"]
    for name in ("id", "sha256", "role", "buyer_id", "name"):
        value = getattr(principal, name)
        if value is not None:
            lines.append(f"{name} = {json.dumps(value)}")  # a TOML basic string
    return "\n".join(lines) + "\n"


def write(path: Path, principals: tuple[Principal, ...]) -> None:
    """Write the file whole, replacing it atomically: a new file readable by its owner
    only; a file that exists keeps its owner and mode (a service may read it as its
    own user). The draft is private from the moment it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        before: os.stat_result | None = path.stat()
    except FileNotFoundError:
        before = None
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write("\n".join(_entry(p) for p in principals))
            if before is not None:
                if (before.st_uid, before.st_gid) != (os.geteuid(), os.getegid()):
                    os.fchown(file.fileno(), before.st_uid, before.st_gid)
                os.fchmod(file.fileno(), before.st_mode & 0o777)
        draft.replace(path)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise


def add(path: Path, role: Literal["ops", "buyer"], buyer_id: str | None = None,
        name: str | None = None) -> tuple[str, Principal]:
    """A new token: returns it (to be shown once) and the entry written for it."""
    current = Tokens.load(path).principals if path.exists() else ()
    token = secrets.token_urlsafe(32)
    principal = Principal(
        id=f"tok-{secrets.token_hex(4)}", sha256=digest(token), role=role,
        buyer_id=buyer_id, name=name,
    )
    write(path, (*current, principal))
    return token, principal


def revoke(path: Path, token_id: str) -> Principal:
    current = Tokens.load(path).principals
    gone = [p for p in current if p.id == token_id]
    if not gone:
        raise TokensError(f"no token {token_id} in {path}")
    write(path, tuple(p for p in current if p.id != token_id))
    return gone[0]
