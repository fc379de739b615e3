"""``customs-stream tokens``: API tokens, kept in the tokens file as hashes only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stream.cli.common import fail as _fail
from stream.cli.common import settings_or_exit as _settings
from stream.read.web import auth

tokens_app = typer.Typer(
    help="API bearer tokens: the file keeps their hashes; a new token is shown once.",
    no_args_is_help=True,
)

FileOption = Annotated[
    Path | None,
    typer.Option("--file", help="Tokens file (default: CUSTOMS_STREAM_TOKENS_FILE)"),
]


def _file(given: Path | None) -> Path:

    path = given or _settings().tokens_file
    if path is None:
        _fail("name the tokens file with --file or CUSTOMS_STREAM_TOKENS_FILE")
    return path


@tokens_app.command("add")
def tokens_add(
    buyer: Annotated[str | None, typer.Option(help="A buyer's token, by buyer id")] = None,
    ops: Annotated[str | None, typer.Option(help="An operator's token, by name: sees all")] = None,
    file: FileOption = None,
) -> None:
    """Make a token and print it once (stdout); the file keeps only its hash."""

    if (buyer is None) == (ops is None):
        _fail("give exactly one of --buyer BUYER_ID and --ops NAME")
    path = _file(file)
    try:
        if buyer is not None:
            token, principal = auth.add(path, "buyer", buyer_id=buyer)
        else:
            token, principal = auth.add(path, "ops", name=ops)
    except (auth.TokensError, ValueError) as exc:
        _fail(str(exc).splitlines()[0])
    typer.echo(f"added {principal.id} ({principal.role} {buyer or ops}) to {path}; "
               "the token, shown only now:", err=True)
    typer.echo(token)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (tok-…), see `tokens list`")],
    file: FileOption = None,
) -> None:
    """Remove a token; running workers stop accepting it within a few seconds."""

    try:
        gone = auth.revoke(_file(file), token_id)
    except auth.TokensError as exc:
        _fail(str(exc))
    typer.echo(f"revoked {gone.id} ({gone.role} {gone.buyer_id or gone.name or ''})".rstrip())


@tokens_app.command("list")
def tokens_list(file: FileOption = None) -> None:
    """The tokens in the file: id, role and whom they are for (never the hashes)."""

    try:
        principals = auth.Tokens.load(_file(file)).principals
    except auth.TokensError as exc:
        _fail(str(exc))
    for p in principals:
        typer.echo(f"{p.id}  {p.role:<5}  {p.buyer_id or p.name or ''}")
