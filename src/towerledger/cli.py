"""The ``towerledger`` command. Every subcommand honours DATABASE_URL (unset: embedded SQLite)."""

import os
import re
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console(stderr=True)


class Towerledger(typer.Typer):
    """The command: a user's mistake ends in one bilingual line and a non-zero exit, never a
    traceback (``explain``). TOWERLEDGER_TRACEBACK=1 shows the traceback of an
    unexpected error (for developers)."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 — every error ends in one line
            code, line = explain(exc)
            if os.environ.get("TOWERLEDGER_TRACEBACK") == "1":
                raise
            console.print(f"[red]{escape(line)}[/red]", soft_wrap=True, highlight=False)
            sys.exit(code)


def explain(exc: BaseException) -> tuple[int, str]:
    """(exit code, one bilingual line) for an error that ended a command."""
    from towerledger.domain.errors import DomainError

    if isinstance(exc, DomainError):
        return 1, " ".join(str(exc).split())
    if _missing_table(exc):
        return 3, ("数据库尚未建表，请先运行 `towerledger migrate` / the database has no "
                   "tables yet: run `towerledger migrate` first")
    if _database_error(exc):
        return 3, f"数据库错误 / database error: {' '.join(str(exc).split())[:300]}"
    if isinstance(exc, ValueError):
        return 2, f"参数有误 / invalid value: {' '.join(str(exc).split())[:300]}"
    return 4, (f"内部错误 / internal error: {type(exc).__name__}: "
               f"{' '.join(str(exc).split())[:300]} (TOWERLEDGER_TRACEBACK=1 shows where)")


def _database_error(exc) -> bool:
    try:
        from django.db import DatabaseError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, DatabaseError)


def _missing_table(exc) -> bool:
    """SQLite: "no such table: x"; PostgreSQL: 'relation "x" does not exist'."""
    text = str(exc)
    return _database_error(exc) and ("no such table" in text or (
        "relation" in text and "does not exist" in text))


def parse_date(text: str | None, option: str = "--date"):
    """A date option: YYYY-MM-DD, or None when not given; anything else is refused in one
    bilingual line naming the option."""
    from datetime import date

    from towerledger.domain.errors import DomainError

    if text is None or text == "":
        return None
    s = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        try:
            return date.fromisoformat(s)
        except ValueError:  # 2026-02-30: shaped like a date, but none
            pass
    raise DomainError(f"{option} 应为 YYYY-MM-DD 格式的日期（例如 2026-11-30）：{text}",
                      f"{option} must be a date YYYY-MM-DD (e.g. 2026-11-30): {text}")


def parse_month(text: str | None, option: str = "--month"):
    """A month option: YYYY-MM → the month's first day, or None when not given."""
    from datetime import date

    from towerledger.domain.errors import DomainError

    if text is None or text == "":
        return None
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if m and 1 <= int(m[2]) <= 12:
        return date(int(m[1]), int(m[2]), 1)
    raise DomainError(f"{option} 应为 YYYY-MM 格式的月份（例如 2026-11）：{text}",
                      f"{option} must be a month YYYY-MM (e.g. 2026-11): {text}")


def one_of(value: str, allowed, option: str) -> str:
    """``value`` if it is one of ``allowed``, else a one-line bilingual refusal."""
    from towerledger.domain.errors import DomainError

    if value not in allowed:
        known = ", ".join(allowed)
        raise DomainError(f"{option} 无效：{value}（可选：{known}）",
                          f"{option} {value!r} is not known (one of: {known})")
    return value


app = Towerledger(help="towerledger — 铁塔电费管理 site electricity fees", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "towerledger.config.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:  # e.g. production without SECRET_KEY: say why, plainly
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def development_mode():
    """The demo and the development server run with TOWERLEDGER_DEBUG=1 unless it is set."""
    os.environ.setdefault("TOWERLEDGER_DEBUG", "1")


def resolve_user(username: str | None):
    if not username:
        return None
    from django.contrib.auth import get_user_model

    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        console.print(f"[red]用户不存在 / no such user: {username}[/red]")
        raise typer.Exit(2) from None


@app.command()
def migrate():
    """Create or upgrade the database (建库/升级)."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="sites | tenancies | accounts | rules | …")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    keep_going: Annotated[bool, typer.Option(
        "--keep-going", help="store the good rows; set the bad ones aside in the error report")] = False,
    user: Annotated[str | None, typer.Option(help="record the change as this user")] = None,
    reason: Annotated[str, typer.Option(help="why (kept in the audit log)")] = "",
    create_org: Annotated[bool, typer.Option(
        "--create-org", help="sites: create the provinces and cities the file names "
        "(province admins only; otherwise an unknown city is a row error)")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="tell what the import would change (new, changed, ended, "
        "unchanged) and write nothing")] = False,
):
    """Import a CSV or XLSX file (导入). All-or-nothing unless --keep-going."""
    setup_django()
    from towerledger.exchange.registry import KINDS
    from towerledger.exchange.services import run_import

    importable = [k for k, v in KINDS.items() if v.importable]
    if kind not in importable:
        console.print(f"[red]未知类型 / unknown kind {kind!r}; known: {', '.join(importable)}[/red]")
        raise typer.Exit(2)
    with _progress() as bar:
        task = bar.add_task(f"{kind}: {file.name}", total=None)

        def tick(stage, done, total):
            bar.update(task, description=f"{kind} {stage}", completed=done, total=total or None)

        started = time.perf_counter()
        result = run_import(kind, file, resolve_user(user), keep_going=keep_going,
                            progress=tick, reason=reason, create_org=create_org,
                            preview=dry_run)
        took = time.perf_counter() - started
    if result.preview is not None:
        _report_preview(result)
        raise typer.Exit(1 if result.errors else 0)
    _report(result)
    # the import's own time, start-up aside (bench/run.py reads this line: IMPORT_TOOK)
    console.print(f"用时 took {took:.3f} s")
    if not result.stored or result.errors:
        raise typer.Exit(1)


def _progress():
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def _report_preview(result):
    """导入预览: every change the file would make, nothing written."""
    p, c = result.preview, result.counts
    console.print(f"[yellow]预览，未写入任何数据 / preview, nothing written[/yellow] "
                  f"{result.filename}: 新增 new {len(p.new)}, 变更 changed {len(p.changed)} "
                  f"(终止 ended {len(p.ended)}), 删除 removed {len(p.removed)}, "
                  f"未变 unchanged {p.unchanged} · 行 rows: 新增 created {c.created}, "
                  f"更新 updated {c.updated}, 未变 unchanged {c.unchanged}")
    ended = {id(x) for x in p.ended}
    table = Table("", "键 key", "字段 field", "原值 before", "新值 after")
    for mark, changes in (("+", p.new), ("~", p.changed), ("-", p.removed)):
        for ch in changes:
            tag = "终止 ended" if id(ch) in ended else mark
            for i, (f, before, after) in enumerate(ch.fields or [("", "", "")]):
                table.add_row(tag if i == 0 else "", ch.label if i == 0 else "", f, before,
                              after)
    console.print(table)
    if result.errors:
        _report(result)


def _report(result):
    c = result.counts
    if result.stored:
        console.print(f"[green]已导入 / imported[/green] {result.filename}: {result.rows} 行 rows, "
                      f"新增 created {c.created}, 更新 updated {c.updated}, "
                      f"未变 unchanged {c.unchanged}"
                      + (f", 搁置 set aside {result.set_aside}" if result.set_aside else ""))
    else:
        console.print(f"[red]未导入，未写入任何数据 / rejected, nothing written[/red]: "
                      f"{result.filename}, {result.error_count or len(result.errors)} 个错误 errors")
    if result.errors:
        table = Table("行 row", "列 column", "原因 reason", show_lines=False)
        for e in result.errors[:30]:
            table.add_row(str(e.row or "-"), e.column, f"{e.zh} / {e.en}")
        console.print(table)
        total = max(result.error_count, len(result.errors))
        if total > 30:
            console.print(f"… 另有 {total - 30} 个错误 / more errors")
    if result.error_report:
        console.print(f"错误报告 / error report: {result.error_report}")
    _report_outcome(result.outcome or {})


def _report_outcome(outcome: dict):
    """What storing led to: bills a finding holds (and why), how receipts were matched."""
    for key, zh, en in (("held", "被拦截暂停（未支付、明细未推送）", "held by a blocking finding"),
                        ("noted", "有分摊提示", "with allocation findings")):
        if outcome.get(f"{key}_count"):
            console.print(f"[yellow]{outcome[f'{key}_count']} 张缴费单{zh} / bills {en}[/yellow]")
            for b in outcome[key]:
                why = "; ".join(f"{code} {zh_} / {en_}" for code, _, zh_, en_ in b["findings"])
                console.print(f"  {b['account_no']}/{b['bill_no']}: {why}", soft_wrap=True,
                              highlight=False)
    if "receipts" in outcome:
        counts = ", ".join(f"{rule} {n}" for rule, n in sorted(outcome["receipts"].items()))
        console.print(f"核销方式 matched by: {counts or '—'}")
        table = Table("回款 receipt", "金额 amount", "已核销 applied", "核销方式 matched by")
        for row in outcome["rows"][:30]:
            table.add_row(row[0], row[2], row[3], row[5])
        console.print(table)


@app.command()
def template(
    kind: str,
    output: Annotated[Path | None, typer.Option(help="file to write (.xlsx or .csv)")] = None,
):
    """Write an empty import template with Chinese headers (导入模板)."""
    setup_django()
    from towerledger.exchange.export import write_template

    target = write_template(kind, output or Path(f"{kind}_template.xlsx"))
    console.print(f"模板 / template: {target}")


@app.command()
def export(
    kind: str,
    format: Annotated[str, typer.Option("--format", help="csv | xlsx")] = "csv",
    output: Annotated[Path | None, typer.Option(help="file; standard output when omitted")] = None,
    user: Annotated[str | None, typer.Option(help="export what this user may see")] = None,
):
    """Export a kind with canonical English column names (导出)."""
    setup_django()
    from towerledger.exchange.export import export_kind
    from towerledger.exchange.registry import KINDS

    one_of(format, ("csv", "xlsx"), "--format")
    one_of(kind, [k for k, v in KINDS.items() if v.export_rows is not None], "kind 类型")
    if output is None:        # standard output carries the rows: no bar to mix into them
        n = export_kind(kind, resolve_user(user), format, output)
        return
    with _progress() as bar:
        task = bar.add_task(f"导出 export {kind}", total=None)
        n = export_kind(kind, resolve_user(user), format, output,
                        progress=lambda done: bar.update(task, completed=done))
        bar.update(task, total=n or 1, completed=n or 1)
    if output:
        console.print(f"导出 / exported {n} rows → {output}")


@app.command()
def serve(
    addr: Annotated[str, typer.Option(help="address:port")] = "127.0.0.1:8000",
):
    """Serve the web site (development server; use a WSGI server in production)."""
    development_mode()
    setup_django()
    from django.core.management import call_command

    call_command("runserver", addr, use_reloader=False)


@app.command()
def worker():
    """Run the background task worker (imports, long jobs, the daily deadlines)."""
    setup_django()
    from django.core.management import call_command

    from towerledger.analysis.tasks import schedule

    if schedule():
        console.print("已安排每日期限任务 daily deadlines scheduled")

    call_command("db_worker")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def django(args: Annotated[list[str], typer.Argument(help="a Django management command")]):
    """Run any Django management command (createsuperuser, shell, …)."""
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line([sys.argv[0], *args])


# Each business area adds its own subcommands: a module with ``register(app)``.
EXTENSIONS = ("towerledger.synth.commands", "towerledger.bills.commands",
              "towerledger.settlement.commands", "towerledger.collection.commands",
              "towerledger.analysis.commands", "towerledger.meters.commands",
              "towerledger.api.commands", "towerledger.access.commands",
              "towerledger.programs.accruals.commands", "towerledger.programs.theft.commands")


def _register_extensions():
    import importlib

    for name in EXTENSIONS:
        importlib.import_module(name).register(app)


_register_extensions()

if __name__ == "__main__":
    app()
