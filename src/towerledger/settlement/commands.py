"""CLI commands of allocation and confirmation (registered onto the main Typer app)."""

from datetime import date
from typing import Annotated

import typer


def register(app):
    """Add ``allocate`` to ``app`` (``deadlines`` is analysis's: it refreshes the open
    months' live figures too)."""
    app.command()(allocate)
    app.command("refund")(refund)


def _month(text: str, option: str = "month") -> date:
    """YYYY-MM → its first day; anything else ends the command in one bilingual line."""
    from towerledger import cli

    return cli.parse_month(text, option)


def allocate(
    month: Annotated[str | None, typer.Option(help="YYYY-MM: bills paid in this month and "
                                              "its lump sums (default: every paid bill)")] = None,
    user: Annotated[str | None, typer.Option(help="record it as this user")] = None,
):
    """Allocate (分摊) paid bills not yet allocated and push their lines; lines already
    pushed are never rewritten. With --month also the month's lump-sum (包干) lines."""
    from towerledger import cli

    cli.setup_django()
    from towerledger.settlement.allocate import allocate_bills, unallocated
    from towerledger.settlement.services import lump_sums

    first = _month(month) if month else None
    who = cli.resolve_user(user)
    total = unallocated(month=first).count()
    with cli._progress() as bar:
        task = bar.add_task("分摊 allocate", total=total or 1)
        result = allocate_bills(user=who, month=first,
                                progress=lambda n: bar.update(task, advance=n))
        bar.update(task, completed=total or 1)
    lumps = lump_sums(first, who) if first else 0
    cli.console.print(
        f"已分摊 allocated {result.bills:,} 张账单 bills → {result.lines:,} 条明细 lines, "
        f"推送 pushed {result.pushed:,} (当日 T+0 {result.same_day:,}); "
        f"包干 lump sums {lumps:,}; 提示 flags {len(result.flags):,}")
    for bill, site, code, message in result.flags[:20]:
        cli.console.print(f"  [yellow]{code}[/yellow] bill {bill} {site}: {message}")


# ---- corrections (调账): void-bill and reallocate-bill are collection's (they may touch
# receipts); the refund and the printing of a plan are here ----------------------------------

def print_plan(plan, preview: bool):
    """Every line a correction pushes (or would push), before and after."""
    from rich.table import Table

    from towerledger import cli

    if plan.already:
        cli.console.print(f"{plan.subject}: 已处理，无需再做 / already done, nothing to change")
        return
    table = Table("站址 site", "租户 tenancy", "运营商 operator", "调前 before", "调后 after",
                  "差额 difference", "替代 supersedes", "新明细 line",
                  title=f"{plan.action} {plan.subject}" + (" 预览 preview" if preview else ""))
    for c in plan.changes:
        table.add_row(c.site, c.tenancy or "铁塔 tower", c.operator or "—",
                      "—" if c.before is None else f"{c.before:,.2f}", f"{c.after:,.2f}",
                      f"{c.difference:,.2f}", f"L{c.supersedes}" if c.supersedes else "—",
                      f"L{c.line}" if c.line else "—")
    cli.console.print(table)
    cli.console.print(f"合计差额 total difference {plan.total_difference:,.2f}"
                      + ("；未写入 nothing written (--yes to apply)" if preview else ""))


def run_correction(work, preview: bool):
    """Run a correction service; a refusal is printed in both languages, exit 1."""
    from towerledger import cli
    from towerledger.domain.errors import DomainError

    try:
        plan = work()
    except DomainError as exc:
        cli.console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    print_plan(plan, preview)


def refund(
    account: Annotated[str, typer.Option(help="account number (户号)")],
    refund_no: Annotated[str, typer.Option(help="the refund or credit-note number")],
    amount: Annotated[str, typer.Option(help="yuan, e.g. 120.50")],
    refund_date: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    reason: Annotated[str, typer.Option(help="why (required)")],
    bill: Annotated[str | None, typer.Option(help="the bill number refunded (default: the "
                                             "account's latest paid bill)")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="apply; without it, only preview")] = False,
    user: Annotated[str | None, typer.Option(help="record it as this user")] = None,
):
    """退费: record a grid refund or credit note and push credit lines to the tenancies
    that bore the original bill, by their shares. Without --yes it only previews."""
    from towerledger import cli

    cli.setup_django()
    from towerledger.settlement.refunds import record_refund

    try:
        day = date.fromisoformat(refund_date)
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD: "
                                 f"{refund_date}") from None
    run_correction(lambda: record_refund(account, refund_no, amount, day,
                                         cli.resolve_user(user), reason, bill_no=bill,
                                         preview=not yes), not yes)
