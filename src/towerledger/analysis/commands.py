"""CLI: `towerledger close YYYY-MM` and `towerledger report kpi`."""

from pathlib import Path
from typing import Annotated

import typer

report_app = typer.Typer(help="Reports (报表)", no_args_is_help=True)


def register(app):
    app.command(name="close")(close)
    app.command(name="check")(check)
    app.command(name="deadlines")(deadlines)
    app.add_typer(report_app, name="report")
    report_app.command(name="kpi")(kpi)


def close(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="close as of YYYY-MM-DD "
                                              "(default today)")] = None,
    user: Annotated[str | None, typer.Option(help="close as this user")] = None,
):
    """Close a month (月结): deadlines, books check, KPI snapshots, lock. Safe to re-run."""
    from towerledger import cli
    from towerledger.settlement.commands import _month

    first, as_of_day = _month(month), cli.parse_date(as_of, "--as-of")
    cli.setup_django()
    from towerledger.analysis.close import LABELS, STEPS, CloseError, close_month

    with cli._progress() as bar:
        task = bar.add_task("月结 close", total=len(STEPS))
        seen = []

        def step(name):
            if seen:
                bar.advance(task)
            seen.append(name)
            bar.update(task, description=LABELS[name])

        try:
            mc = close_month(first, cli.resolve_user(user), as_of_day, progress=step)
        except CloseError as exc:
            cli.console.print(f"[red]{exc}[/red]")
            for p in exc.problems:
                cli.console.print(f"  ✗ {p}")
            raise typer.Exit(1) from None
        bar.update(task, completed=len(STEPS))
    cli.console.print(f"[green]{month} 已关账 closed[/green] {mc.summary}")


def kpi(
    month: Annotated[str, typer.Option(help="YYYY-MM (a closed month)")],
    city: Annotated[str | None, typer.Option(help="a city: its counties")] = None,
    operator: Annotated[str, typer.Option(help="an operator code, or * for all")] = "*",
    output: Annotated[Path | None, typer.Option(help="also write XLSX here")] = None,
):
    """The month's KPIs from its snapshot (月度分析), by city or a city's counties."""
    from towerledger import cli
    from towerledger.settlement.commands import _month

    cli.setup_django()
    from rich.table import Table

    from towerledger.analysis.report import KPI_COLUMNS, kpi_rows

    rows = kpi_rows(_month(month), city=city, operator=operator)
    if not rows:
        cli.console.print(f"[red]{month} 没有快照（先关账）/ no snapshot: close the month "
                          "first[/red]")
        raise typer.Exit(1)
    table = Table(*(zh for _, zh, _ in KPI_COLUMNS), title=f"{month} 月度分析 KPIs "
                  f"({city or '全省'} · {operator})")
    for r in rows:
        table.add_row(*(fmt(r[name]) for name, _, fmt in KPI_COLUMNS))
    cli.console.print(table)
    if output:
        from towerledger.exchange.files import write_table

        write_table(output, [name for name, _, _ in KPI_COLUMNS],
                    ([r[name] for name, _, _ in KPI_COLUMNS] for r in rows))
        cli.console.print(f"→ {output}")


def check():
    """Check the books (对账检查): trial balance zero, every paid bill fully allocated,
    ledger accounts equal to their lines. Exits non-zero on any problem."""
    from towerledger import cli

    cli.setup_django()
    from towerledger.analysis.books import check_books

    problems = check_books()
    for p in problems:
        cli.console.print(f"[red]✗[/red] {p}")
    if problems:
        raise typer.Exit(1)
    cli.console.print("[green]✓ 账务检查通过 books check out[/green]")


def deadlines(
    on: Annotated[str | None, typer.Option("--date", help="as of YYYY-MM-DD (default today)")]
    = None,
):
    """Daily deadlines: deem confirmed the lines past their confirm-by date (where the
    agreement says so), mark disputes past their resolve-by date overdue (逾期), then
    refresh the open months' provisional KPI figures (暂定指标)."""
    from towerledger import cli

    cli.setup_django()
    from towerledger.analysis import live
    from towerledger.settlement.services import run_deadlines

    today = cli.parse_date(on, "--date")
    result = run_deadlines(today)
    cli.console.print(f"视同确认 deemed confirmed {result.deemed:,}; "
                      f"争议逾期 disputes overdue {result.overdue:,}")
    months = live.refresh(today)
    cli.console.print("暂定指标 provisional figures: "
                      + (", ".join(f"{m:%Y-%m}" for m in months) or "—"))

