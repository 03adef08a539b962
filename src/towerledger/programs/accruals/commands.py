"""CLI of the accruals program: ``gl-export`` (总账凭证) and ``accruals`` (the month's 暂估,
for a close run elsewhere, and the reversals of bills arrived)."""

from pathlib import Path
from typing import Annotated

import typer


def register(app):
    app.command("gl-export")(gl_export)
    app.command("accruals-reverse")(accruals_reverse)


def gl_export(
    month: Annotated[str, typer.Option(help="YYYY-MM: the month's journal")],
    out: Annotated[Path, typer.Option(help="the file to write (.csv or .xlsx)")],
    format: Annotated[str, typer.Option("--format", help="csv | xlsx")] = "csv",
):
    """Export a month's journal as general-ledger vouchers (总账凭证) for the ERP: one voucher
    per (date, kind), mapped to the company's 科目 (the GL mapping page); the last row states
    the totals. Accounts without a mapping refuse the export, named."""
    from towerledger import cli

    cli.setup_django()
    from towerledger.exchange.files import write_csv, write_xlsx
    from towerledger.programs.accruals import gl

    first = cli.parse_month(month)
    cli.one_of(format, ("csv", "xlsx"), "--format")
    vouchers = gl.vouchers(first)
    with cli._progress() as bar:
        task = bar.add_task(f"总账凭证 GL vouchers {first:%Y-%m}", total=len(vouchers) or 1)
        headers, rows = gl.table(vouchers, progress=lambda n: bar.update(task, advance=n))
        if format == "xlsx":
            write_xlsx(str(out), headers, rows, sheet=f"GL {first:%Y-%m}")
        else:
            with Path(out).open("w", encoding="utf-8-sig", newline="") as f:
                write_csv(f, headers, rows)
        bar.update(task, completed=len(vouchers) or 1)
    debit = sum((v.debit for v in vouchers), 0)
    credit = sum((v.credit for v in vouchers), 0)
    cli.console.print(f"凭证 vouchers {len(vouchers):,}; 借方合计 debit {debit:,.2f} = "
                      f"贷方合计 credit {credit:,.2f} → {out}")


def accruals_reverse(
    user: Annotated[str | None, typer.Option(help="record it as this user")] = None,
):
    """Reverse the accruals (暂估冲回) whose bills have now arrived (provinces that reverse
    when the bill arrives); idempotent."""
    from towerledger import cli

    cli.setup_django()
    from towerledger.programs.accruals.services import reverse_covered

    n = reverse_covered(user=cli.resolve_user(user))
    cli.console.print(f"已冲回 reversed {n:,} 笔暂估 accruals")
