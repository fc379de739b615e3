"""Bearer tokens for the HTTP API, from a TOML file::

    [[token]]
    token = "a-long-random-secret"
    role = "ops"                 # sees everything

    [[token]]
    token = "another-secret"
    role = "buyer"
    buyer_id = "buyer-001"       # sees only this buyer's declarations
"""

from __future__ import annotations

import hmac
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class TokensError(ValueError):
    """The tokens file is missing or invalid."""


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    token: str = Field(min_length=16)
    role: Literal["ops", "buyer"]
    buyer_id: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _buyers_name_their_buyer(self) -> Principal:
        if (self.role == "buyer") != (self.buyer_id is not None):
            raise ValueError("a buyer token names its buyer_id; an ops token does not")
        return self

    def may_see(self, buyer_id: str | None) -> bool:
        return self.role == "ops" or (buyer_id is not None and buyer_id == self.buyer_id)


class _TokensFile(BaseModel):
    token: list[Principal] = Field(default_factory=list)


@dataclass(frozen=True)
class Tokens:
    principals: tuple[Principal, ...] = ()

    @classmethod
    def load(cls, path: Path | None) -> Tokens:
        if path is None:
            return cls()
        try:
            data = tomllib.loads(path.read_text())
            parsed = _TokensFile.model_validate(data)
        except FileNotFoundError as exc:
            raise TokensError(f"tokens file not found: {path}") from exc
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            raise TokensError(f"tokens file {path} is invalid: {exc}") from exc
        return cls(tuple(parsed.token))

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal a ``Bearer`` header names, or None."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        offered = authorization.removeprefix("Bearer ").strip().encode()
        found = None
        for principal in self.principals:  # compare with every token, in constant time
            if hmac.compare_digest(offered, principal.token.encode()):
                found = principal
        return found
