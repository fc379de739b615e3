"""The release policy: a versioned TOML file, validated on load."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas.events import ProductCategory

Digits = Annotated[str, Field(pattern=r"^\d{2,10}$")]
Rate = Annotated[float, Field(ge=0, le=1)]


class PolicyError(ValueError):
    """The policy file is missing or does not describe a valid policy."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScopeEntry(_Frozen):
    port: str = Field(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$")
    port_area: str | None = None  # None: every area of the port

    def covers(self, port: str | None, port_area: str | None) -> bool:
        return self.port == port and (self.port_area is None or self.port_area == port_area)


class GreenChannelPolicy(_Frozen):
    program: str
    scope: tuple[ScopeEntry, ...]
    hs_headings: tuple[Digits, ...]
    required_certificates: tuple[str, ...] = Field(min_length=1)
    return_lookback_days: int = Field(ge=0)
    max_returns: int = Field(ge=0)
    inspection_rate: Rate


class ReturnsPolicy(_Frozen):
    inter_district_districts: frozenset[Annotated[str, Field(pattern=r"^\d{4}$")]]


class PerishablePolicy(_Frozen):
    hs_prefixes: tuple[Digits, ...] = ()


class RetentionPolicy(_Frozen):
    # Days a closed declaration (departed, withdrawn, returned) is kept after its latest
    # event, in stream time; then it is removed from state (see stream.core.retention).
    closed_days: int = Field(400, ge=1)


class LimitsPolicy(_Frozen):
    # What one declaration's state may hold, so that no producer can make it too large to
    # store: a new event past either limit is refused (a LIMIT_EXCEEDED dead letter).
    max_events_per_declaration: int = Field(500, ge=1)
    # The events' stored JSON, added up. The state's changelog accepts three times the
    # largest input (stream.runtime.pipeline), which this default leaves well inside.
    max_declaration_bytes: int = Field(4 * 1024 * 1024, ge=64 * 1024)


class Policy(_Frozen):
    version: str = Field(min_length=1)
    # A secret in production (CUSTOMS_STREAM_SAMPLING_SALT replaces it): whoever knows it
    # can choose declaration ids that escape inspection. Never shown in a repr.
    sampling_salt: str = Field(min_length=1, repr=False)
    standard_inspection_rate: Rate
    on_schedule_grace_hours: float = Field(ge=0)
    green_channel: GreenChannelPolicy
    returns: ReturnsPolicy
    classification: dict[ProductCategory, tuple[Digits, ...]] = Field(default_factory=dict)
    perishable: PerishablePolicy = PerishablePolicy()
    retention: RetentionPolicy = RetentionPolicy()
    limits: LimitsPolicy = LimitsPolicy()
    # Ports that metrics name; any other is reported as "other", so that no input can
    # grow the number of time series. The green channel's ports are always named.
    reported_ports: tuple[Annotated[str, Field(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$")], ...] = ()

    def port_label(self, port: str | None) -> str:
        """A port as a metric label: itself if the policy names it, else "other"."""
        named = port in self.reported_ports or any(e.port == port for e in self.green_channel.scope)
        return port if port is not None and named else "other"

    @field_validator("classification")
    @classmethod
    def _each_category_has_prefixes(
        cls, value: dict[ProductCategory, tuple[str, ...]]
    ) -> dict[ProductCategory, tuple[str, ...]]:
        empty = sorted(category for category, prefixes in value.items() if not prefixes)
        if empty:
            raise ValueError(f"categories without HS prefixes: {', '.join(empty)}")
        return value


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file; errors name the file and the offending field."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise PolicyError(f"policy file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {path} is not valid TOML: {exc}") from exc
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise PolicyError(f"policy file {path} is invalid: {problems}") from exc


def with_salt(policy: Policy, salt: str | None) -> Policy:
    """The policy with the deployment's secret sampling salt, when one is set."""
    return policy if salt is None else policy.model_copy(update={"sampling_salt": salt})
