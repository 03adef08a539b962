"""CLI commands of statements, matching and ageing (registered onto the main Typer app)."""

from pathlib import Path
from typing import Annotated

import typer


def register(app):
    """Add ``statements``, ``match`` and ``ageing`` to ``app``."""
    app.command()(statements)
    app.command()(match)
    app.command()(ageing)
    app.command("void-bill")(void_bill)
    app.command("reallocate-bill")(reallocate_bill)


def statements(
    month: Annotated[str, typer.Option(help="YYYY-MM: lines confirmed by the end of it")],
    operator: Annotated[str | None, typer.Option(help="only this operator (CMCC, …)")] = None,
    province: Annotated[bool, typer.Option("--province", help="one statement per operator "
                                           "for the whole province, not per city")] = False,
    user: Annotated[str | None, typer.Option(help="issue as this user")] = None,
):
    """Issue the month's statements (对账单) from confirmed lines not yet on one."""
    from towerledger import cli
    from towerledger.settlement.commands import _month

    cli.setup_django()
    from rich.table import Table

    from towerledger.collection.services import issue_statements

    issued = issue_statements(_month(month), cli.resolve_user(user), operator,
                              by_city=not province)
    table = Table("对账单 statement", "运营商 operator", "地市 city", "明细 lines",
                  "应收 receivable", title=f"{month} 对账单 statements")
    for st in issued:
        table.add_row(st.number, st.operator.code, st.city.name if st.city else "全省",
                      f"{st.lines_count:,}", f"{st.receivable:,.2f}")
    cli.console.print(table if issued else "没有待出对账单的明细 / no confirmed lines to state")


def match(user: Annotated[str | None, typer.Option(help="record as this user")] = None):
    """Match every receipt with an unapplied amount (自动核销) and say how."""
    from towerledger import cli

    cli.setup_django()
    from towerledger.collection.services import auto_match

    stages = {"matching": "核销 matching", "writing": "写入 writing"}
    with cli._progress() as bar:
        task = bar.add_task(stages["matching"], total=None)
        r = auto_match(user=cli.resolve_user(user), progress=lambda stage, done, total: bar.update(
            task, description=stages[stage], completed=done, total=total))
    rules = ", ".join(f"{k} {v}" for k, v in sorted(r.by_rule.items())) or "—"
    cli.console.print(f"核销 applied {r.applied:,.2f} 元 in {r.applications:,} 笔 "
                      f"applications ({rules}); 未匹配 unmatched {len(r.unmatched):,}")


def ageing(
    by: Annotated[str, typer.Option(help="operator | city | county | site")] = "operator",
    output: Annotated[Path | None, typer.Option(help="write XLSX here")] = None,
    user: Annotated[str | None, typer.Option(help="scope as this user")] = None,
):
    """Ageing of outstanding receivables (账龄) by days since push."""
    from towerledger import cli

    cli.setup_django()
    from rich.table import Table

    from towerledger.collection.services import BUCKETS, GROUPS
    from towerledger.collection.services import ageing as run

    cli.one_of(by, list(GROUPS), "--by")
    rows = run(cli.resolve_user(user), by)
    labels = [label for _, _, label in BUCKETS]
    table = Table(by, "明细 lines", "未收 outstanding", *labels, title="账龄 ageing")
    for r in rows:
        table.add_row(r["key"], f"{r['lines']:,}", f"{r['total']:,.2f}",
                      *(f"{r['buckets'][k]:,.2f}" for k in labels))
    cli.console.print(table)
    if output:
        from towerledger.exchange.files import write_table

        write_table(output, [by, "lines", "outstanding", *labels],
                    ([r["key"], r["lines"], r["total"], *(r["buckets"][k] for k in labels)]
                     for r in rows), fmt="xlsx")
        cli.console.print(f"→ {output}")


def _correct(name: str, account: str, bill_no: str, reason: str, yes: bool, user):
    from towerledger import cli

    cli.setup_django()
    from towerledger.bills.models import Bill
    from towerledger.collection import corrections
    from towerledger.settlement.commands import run_correction

    b = Bill.objects.filter(account__account_no=account, bill_no=bill_no).order_by(
        "-dup_seq").first()
    if b is None:
        cli.console.print(f"[red]缴费单不存在 / no such bill: {account}/{bill_no}[/red]")
        raise typer.Exit(1)
    work = getattr(corrections, name)
    run_correction(lambda: work(b.pk, cli.resolve_user(user), reason, preview=not yes),
                   not yes)


def void_bill(
    account: Annotated[str, typer.Option(help="account number (户号)")],
    bill: Annotated[str, typer.Option(help="bill number")],
    reason: Annotated[str, typer.Option(help="why (required)")],
    yes: Annotated[bool, typer.Option("--yes", help="apply; without it, only preview")] = False,
    user: Annotated[str | None, typer.Option(help="record it as this user")] = None,
):
    """冲销: void a bill — its lines superseded by reversal lines of 0, pushed with the
    reason; write-offs go back to unapplied cash. Without --yes it only previews."""
    _correct("void_bill", account, bill, reason, yes, user)


def reallocate_bill(
    account: Annotated[str, typer.Option(help="account number (户号)")],
    bill: Annotated[str, typer.Option(help="bill number")],
    reason: Annotated[str, typer.Option(help="why (required)")],
    yes: Annotated[bool, typer.Option("--yes", help="apply; without it, only preview")] = False,
    user: Annotated[str | None, typer.Option(help="record it as this user")] = None,
):
    """重新分摊: allocate a bill again with today's master data and push the difference per
    tenancy as adjustment lines. Without --yes it only previews."""
    _correct("reallocate_bill", account, bill, reason, yes, user)
