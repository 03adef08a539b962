"""CLI commands of the API (registered onto the main Typer app): ``towerledger token …``."""

from typing import Annotated

import typer

token_app = typer.Typer(help="API tokens for other systems (接口令牌)", no_args_is_help=True)


def register(app):
    """Add ``token`` (create, revoke, list) to ``app``."""
    app.add_typer(token_app, name="token")


@token_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="the user the token acts as (its scope)")],
    name: Annotated[str, typer.Option("--name", help="what the token is for, e.g. CMCC-ERP")],
    by: Annotated[str | None, typer.Option(help="record the change as this user")] = None,
):
    """Create a token and print it once; only its SHA-256 hash is kept."""
    from towerledger import cli

    cli.setup_django()
    from towerledger.api.tokens import create_token

    owner = cli.resolve_user(username)
    token, raw = create_token(owner, name, by=cli.resolve_user(by))
    cli.console.print(f"令牌 {token.pk} 已创建，只显示这一次 / token {token.pk} created; "
                      "it is shown only this once:")
    typer.echo(raw)


@token_app.command("revoke")
def revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="the token's id (token list)")],
    by: Annotated[str | None, typer.Option(help="record the change as this user")] = None,
    reason: Annotated[str, typer.Option(help="why (kept in the audit log)")] = "",
):
    """Revoke a token; calls with it answer 401 from now on."""
    from towerledger import cli

    cli.setup_django()
    from towerledger.api.models import ApiToken
    from towerledger.api.tokens import revoke_token

    try:
        token = revoke_token(token_id, by=cli.resolve_user(by), reason=reason)
    except ApiToken.DoesNotExist:
        cli.console.print(f"[red]令牌不存在 / no such token: {token_id}[/red]")
        raise typer.Exit(1) from None
    cli.console.print(f"已吊销 / revoked: {token.pk} {token.name} ({token.user.username})")


@token_app.command("list")
def list_():
    """List tokens (never the tokens themselves: id, user, name, prefix, dates, state)."""
    from rich.console import Console
    from rich.table import Table

    from towerledger import cli

    cli.setup_django()
    from towerledger.api.models import ApiToken

    table = Table("id", "user", "name", "prefix", "created", "last used", "state")
    for t in ApiToken.objects.select_related("user").order_by("id"):
        table.add_row(str(t.pk), t.user.username, t.name, t.prefix + "…",
                      f"{t.created_at:%Y-%m-%d %H:%M}",
                      f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-",
                      "revoked 已吊销" if t.revoked else "active 有效")
    Console().print(table)  # standard output, like the token itself
