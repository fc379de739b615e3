"""What every command shares: the settings (or a clear error) and how a command fails."""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn, overload

import typer
from pydantic import ValidationError

from stream.kafka import configure
from stream.settings import Settings


def settings_or_exit() -> Settings:
    """The settings from the environment, taken by every client of this process; a
    setting that is wrong ends the command, named, without its value (maybe a secret)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CUSTOMS_STREAM_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        fail(f"invalid settings: {problems}")
    configure(settings)
    return settings


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@overload
def instant(text: str, option: str) -> datetime: ...
@overload
def instant(text: None, option: str) -> None: ...
def instant(text: str | None, option: str) -> datetime | None:
    """An option's RFC 3339 time, with its offset (a time without one would be read in
    the machine's local time); one that is not ends the command as a usage error."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: not an RFC 3339 time: {text!r}", 2)
    if value.utcoffset() is None:
        fail(f"{option}: give the time's offset (e.g. {text}Z or {text}+08:00)", 2)
    return value
