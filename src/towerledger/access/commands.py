"""``towerledger user …``: people and access from the command line (registered by cli.py).

The same services as the province admin's pages (access.people, access.tokens), the same
audit log (``--by`` names who did it; without it the change is the system's). A password or
token the system makes up is printed once on standard output; messages go to standard error.
"""

from typing import Annotated

import typer

user_app = typer.Typer(help="People and access: users, roles, passwords, API tokens "
                            "(人员与权限)", no_args_is_help=True)
token_app = typer.Typer(help="An operator user's API tokens (接口令牌)", no_args_is_help=True)
user_app.add_typer(token_app, name="token")

ROLES = "PROVINCE_ADMIN | CITY_CLERK | OPERATOR | VIEWER"
By = Annotated[str | None, typer.Option("--by", help="record the change as this user")]
Reason = Annotated[str, typer.Option(help="why (kept in the audit log)")]


def register(app):
    app.add_typer(user_app, name="user")


def _cli():
    from towerledger import cli

    cli.setup_django()
    return cli


def _fail(cli, zh, en):
    cli.console.print(f"[red]{zh} / {en}[/red]", soft_wrap=True)  # one line, however long
    raise typer.Exit(1)


def _role(cli, role):
    from towerledger.access.models import Role

    if role is None:
        return None
    value = role.strip().upper().replace("-", "_")
    if value not in Role.values:
        _fail(cli, f"未知角色 {role!r}，可选 {ROLES}", f"unknown role {role!r}; one of {ROLES}")
    return value


def _related(cli, field, value):
    """The city (by name) or operator (by code) a profile points to; "" clears it. Looked up
    through the Profile's foreign key: access sits below org and does not import it."""
    from towerledger.access.models import Profile

    if value is None or value == "":
        return value
    model = Profile._meta.get_field(field).related_model
    key = "name" if field == "city" else "code__iexact"
    row = model.objects.filter(**{key: value.strip()}).first()
    if row is None:
        known = ", ".join(model.objects.order_by(key.split("__")[0])
                          .values_list(key.split("__")[0], flat=True))
        _fail(cli, f"没有这个{'地市' if field == 'city' else '运营商'}：{value}（可选：{known}）",
              f"no such {field}: {value} (known: {known})")
    return row


def _run(cli, service, *args, **kwargs):
    from towerledger.domain.errors import DomainError

    try:
        return service(*args, **kwargs)
    except DomainError as exc:
        cli.console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None


def _shown_once(cli, what_zh, what_en, secret):
    cli.console.print(f"{what_zh}，只显示这一次 / {what_en}, shown only this once:")
    typer.echo(secret)


@user_app.command("create")
def create(
    username: str,
    role: Annotated[str, typer.Option(help=ROLES)],
    city: Annotated[str | None, typer.Option(help="city name: clerks; operator users "
                                                   "optionally")] = None,
    operator: Annotated[str | None, typer.Option(help="operator code, e.g. CMCC: operator "
                                                       "users")] = None,
    password: Annotated[str | None, typer.Option(help="a temporary password; without it one "
                                                       "is generated and printed once")] = None,
    name: Annotated[str, typer.Option(help="the person's name")] = "",
    email: str = "",
    by: By = None,
    reason: Reason = "",
):
    """Create a user with a role and scope (新建用户)."""
    cli = _cli()
    from towerledger.access.people import create_user

    user, generated = _run(cli, create_user, username, _role(cli, role),
                           city=_related(cli, "city", city),
                           operator=_related(cli, "operator", operator), password=password,
                           name=name, email=email, by=cli.resolve_user(by), reason=reason)
    cli.console.print(f"[green]已创建 / created[/green] {user.username}")
    if generated:
        _shown_once(cli, "初始密码", "temporary password", generated)


@user_app.command("edit")
def edit(
    username: str,
    role: Annotated[str | None, typer.Option(help=ROLES)] = None,
    city: Annotated[str | None, typer.Option(help='city name; "" clears it')] = None,
    operator: Annotated[str | None, typer.Option(help='operator code; "" clears it')] = None,
    name: Annotated[str | None, typer.Option(help="the person's name")] = None,
    email: str | None = None,
    by: By = None,
    reason: Reason = "",
):
    """Change a user's role, scope, name or e-mail (修改用户)."""
    cli = _cli()
    from towerledger.access.people import update_user

    user = _run(cli, update_user, cli.resolve_user(username), role=_role(cli, role),
                city=_related(cli, "city", city), operator=_related(cli, "operator", operator),
                name=name, email=email, by=cli.resolve_user(by), reason=reason)
    cli.console.print(f"[green]已保存 / saved[/green] {user.username}")


@user_app.command("deactivate")
def deactivate(username: str, reason: Reason = "", by: By = None):
    """Deactivate a user: no login, no API calls (停用)."""
    cli = _cli()
    from towerledger.access.people import set_active

    _run(cli, set_active, cli.resolve_user(username), False, by=cli.resolve_user(by),
         reason=reason)
    cli.console.print(f"已停用 / deactivated: {username}")


@user_app.command("activate")
def activate(username: str, reason: Reason = "", by: By = None):
    """Let a deactivated user log in again (启用)."""
    cli = _cli()
    from towerledger.access.people import set_active

    _run(cli, set_active, cli.resolve_user(username), True, by=cli.resolve_user(by),
         reason=reason)
    cli.console.print(f"已启用 / active again: {username}")


@user_app.command("reset-password")
def reset_password(
    username: str,
    password: Annotated[str | None, typer.Option(help="the new password; without it one is "
                                                       "generated and printed once")] = None,
    by: By = None,
    reason: Reason = "",
):
    """Reset a user's password (重置密码)."""
    cli = _cli()
    from towerledger.access.people import reset_password as reset

    generated = _run(cli, reset, cli.resolve_user(username), password,
                     by=cli.resolve_user(by), reason=reason)
    cli.console.print(f"[green]已重置 / reset[/green] {username}")
    if generated:
        _shown_once(cli, "新密码", "new password", generated)


@user_app.command("list")
def list_(
    role: Annotated[str | None, typer.Option(help=ROLES)] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="deactivated users too")] = False,
):
    """List users with role, scope and state (用户列表)."""
    cli = _cli()
    from django.contrib.auth import get_user_model
    from rich.console import Console
    from rich.table import Table

    qs = get_user_model().objects.select_related("profile__city", "profile__operator")
    if role:
        qs = qs.filter(profile__role=_role(cli, role))
    if not inactive:
        qs = qs.filter(is_active=True)
    table = Table("username", "name", "role", "city", "operator", "state", "last login")
    for u in qs.order_by("username"):
        p = getattr(u, "profile", None)
        table.add_row(u.username, u.get_full_name(), p.role if p else "-",
                      p.city.name if p and p.city_id else "-",
                      p.operator.code if p and p.operator_id else "-",
                      "active 有效" if u.is_active else "deactivated 已停用",
                      f"{u.last_login:%Y-%m-%d %H:%M}" if u.last_login else "-")
    Console().print(table)


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option("--name", help="what it is for, e.g. CMCC-ERP")],
    by: By = None,
):
    """Issue an API token to an operator user; printed once, only its hash is kept."""
    cli = _cli()
    from towerledger.access.tokens import issue_token

    token, raw = _run(cli, issue_token, cli.resolve_user(username), name,
                      by=cli.resolve_user(by))
    _shown_once(cli, f"令牌 {token.pk}", f"token {token.pk}", raw)


@token_app.command("list")
def token_list(username: Annotated[str | None, typer.Argument()] = None):
    """A user's tokens (all users' without USERNAME): never the tokens, only prefixes."""
    cli = _cli()
    from rich.console import Console
    from rich.table import Table

    from towerledger.access.models import ApiToken

    qs = ApiToken.objects.select_related("user").order_by("id")
    if username:
        qs = qs.filter(user=cli.resolve_user(username))
    table = Table("id", "user", "name", "prefix", "created", "last used", "state")
    for t in qs:
        table.add_row(str(t.pk), t.user.username, t.name, t.prefix + "…",
                      f"{t.created_at:%Y-%m-%d %H:%M}",
                      f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-",
                      "revoked 已吊销" if t.revoked else "active 有效")
    Console().print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(metavar="ID")], reason: Reason = "",
                 by: By = None):
    """Revoke a token: calls with it answer 401 from now on (吊销)."""
    cli = _cli()
    from towerledger.access.models import ApiToken
    from towerledger.access.tokens import revoke_token

    if not ApiToken.objects.filter(pk=token_id).exists():
        _fail(cli, f"令牌不存在：{token_id}", f"no such token: {token_id}")
    token = revoke_token(token_id, by=cli.resolve_user(by), reason=reason)
    cli.console.print(f"已吊销 / revoked: {token.pk} {token.name} ({token.user.username})")
