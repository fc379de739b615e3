"""What every command shares: the settings (or a clear error) and how a command fails."""

from __future__ import annotations

from typing import NoReturn

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
