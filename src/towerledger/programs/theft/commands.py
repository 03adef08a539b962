"""CLI commands of the theft program (registered onto the main Typer app):

* ``towerledger theft-run YYYY-MM``   measure every remediated case up to the month and
  charge the tower's share of each measured case-month (what the month close does);
* ``towerledger theft-recompute CASE`` the case's baseline and every measurable month again.
"""

from typing import Annotated

import typer


def register(app):
    app.command("theft-run")(theft_run)
    app.command("theft-recompute")(theft_recompute)


def theft_run(month: Annotated[str, typer.Argument(help="YYYY-MM")],
              user: Annotated[str | None, typer.Option(help="record it as this user")] = None):
    """Measure savings (节省电费) up to MONTH and push the savings shares (效益分成)."""
    from towerledger import cli

    cli.setup_django()
    from towerledger.programs.theft.services import run_month

    first = cli.parse_month(month, "month")
    with cli._progress() as bar:
        task = bar.add_task("偷电整治 theft savings", total=1)
        result = run_month(first, cli.resolve_user(user))
        bar.update(task, completed=1)
    cli.console.print(f"{first:%Y-%m}: 计量 measured {result['measured']} 个案件月 case-months, "
                      f"分成明细 share lines {result['share_lines']}")


def theft_recompute(case_no: Annotated[str, typer.Argument(help="TC000001")],
                    user: Annotated[str | None, typer.Option(help="record it as this user")]
                    = None):
    """Recompute a case's baseline and measured savings (a month already shared is kept)."""
    from towerledger import cli

    cli.setup_django()
    from towerledger.programs.theft.models import Case
    from towerledger.programs.theft.services import recompute

    case = Case.objects.filter(case_no=case_no).first()
    if case is None:
        cli.console.print(f"[red]没有案件 / no case {case_no}[/red]")
        raise typer.Exit(1)
    rows = recompute(cli.resolve_user(user), case.pk)
    case.refresh_from_db()
    cli.console.print(f"{case.case_no}: 基线 baseline {case.baseline_per_day} kWh/天 day; "
                      f"{len(rows)} 个月 months")
    for r in rows:
        cli.console.print(f"  {r.month:%Y-%m} {r.actual_per_day} × {r.days} × {r.unit_price} "
                          f"→ {r.savings}")
