"""CLI commands of bills and payments (registered onto the main Typer app)."""

from datetime import date
from pathlib import Path
from typing import Annotated

import typer


def register(app):
    """Add ``pay`` and ``audit`` to ``app``."""
    app.command()(pay)
    app.command()(audit)


def pay(
    bills: Annotated[list[str] | None, typer.Argument(
        help="bills as ACCOUNT_NO/BILL_NO (缴费单)")] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", exists=True, dir_okay=False, help="a payments file: bill_no, account_no, "
        "paid_date, payment_ref")] = None,
    paid_date: Annotated[str | None, typer.Option("--date", help="paid date, YYYY-MM-DD "
                                                  "(default today)")] = None,
    ref: Annotated[str, typer.Option(help="payment reference (one bill only)")] = "",
    user: Annotated[str | None, typer.Option(help="record the payment as this user")] = None,
    reason: Annotated[str, typer.Option(help="why (kept in the audit log)")] = "",
):
    """Pay bills (支付/垫付): named ones, or a payments file. Idempotent by payment_ref."""
    from towerledger import cli

    paid_on = cli.parse_date(paid_date, "--date") or date.today()
    cli.setup_django()
    if file:
        return cli.import_(kind="payments", file=file, keep_going=False, user=user,
                           reason=reason)
    if not bills:
        cli.console.print("[red]给出缴费单或 --file / name bills or give --file[/red]")
        raise typer.Exit(2)
    from towerledger.bills.models import Bill
    from towerledger.bills.services import ServiceError, pay_bills

    ids = []
    for key in bills:
        account_no, _, bill_no = key.partition("/")
        bill = Bill.objects.filter(account__account_no=account_no, bill_no=bill_no) \
            .exclude(status=Bill.Status.VOID).order_by("dup_seq").last()
        if bill is None:
            cli.console.print(f"[red]缴费单不存在 / no such bill: {key}[/red]")
            raise typer.Exit(1)
        ids.append(bill.pk)
    try:
        result = pay_bills(ids, cli.resolve_user(user),
                           paid_on,
                           reason=reason, payment_ref=ref)
    except ServiceError as exc:
        cli.console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    cli.console.print(f"已支付 paid {len(result.paid)}, 此前已支付 already paid "
                      f"{len(result.already_paid)}, 稽核拦截 blocked {len(result.blocked)}")
    if result.blocked:
        raise typer.Exit(1)


def audit(
    month: Annotated[str | None, typer.Option(help="bills whose period starts in YYYY-MM")] = None,
    unpaid: Annotated[bool, typer.Option(help="only unpaid bills")] = False,
    user: Annotated[str | None, typer.Option(help="run as this user (their scope)")] = None,
):
    """Run the audit rules (稽核) again on stored bills, with progress."""
    from towerledger import cli

    first = cli.parse_month(month, "--month")
    cli.setup_django()
    from towerledger.bills.models import Bill, Flag
    from towerledger.bills.services import reaudit

    qs = Bill.objects.exclude(status=Bill.Status.VOID)
    if first:
        qs = qs.filter(period_start__year=first.year, period_start__month=first.month)
    if unpaid:
        qs = qs.filter(status=Bill.Status.UNPAID)
    ids = list(qs.values_list("pk", flat=True))
    with cli._progress() as bar:
        task = bar.add_task("稽核 audit", total=len(ids))
        found = reaudit(ids, cli.resolve_user(user),
                        progress=lambda n: bar.advance(task, n))
    open_flags = Flag.objects.filter(bill_id__in=ids, status=Flag.Status.OPEN).count()
    cli.console.print(f"稽核 audited {len(ids)} 张缴费单 bills: {found} findings, "
                      f"{open_flags} open flags")
