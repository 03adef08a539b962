"""CLI commands of allocation and confirmation (registered onto the main Typer app)."""

from datetime import date
from typing import Annotated

import typer


def register(app):
    """Add ``allocate`` to ``app`` (``deadlines`` is analysis's: it refreshes the open
    months' live figures too)."""
    app.command()(allocate)


def _month(text: str) -> date:
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise typer.BadParameter(f"月份格式应为 YYYY-MM / month must be YYYY-MM: {text}") \
            from None


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
