"""CLI commands of the synthetic province (registered onto the main Typer app)."""

import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer


def register(app):
    """Add ``generate`` and ``demo`` to ``app``."""
    app.command()(generate)
    app.command()(demo)


def _generate(out: Path, sites: int, months: int, seed: int, smart_months: int):
    from towerledger import cli
    from towerledger.synth.files import generate as write_files

    with cli._progress() as bar:
        task = bar.add_task("生成 generate", total=months)
        written = write_files(out, sites, months, seed, date.today(),
                              smart_months=smart_months,
                              progress=lambda m: bar.update(task, advance=1,
                                                            description=f"生成 {m:%Y-%m}"))
    counts = ", ".join(f"{k} {v:,}" for k, v in written.counts.items())
    cli.console.print(f"[green]已生成 generated[/green] → {out}: {counts}")
    return written


def generate(
    sites: Annotated[int, typer.Option(help="number of sites")] = 3000,
    months: Annotated[int, typer.Option(help="months of bills, ending last month")] = 12,
    seed: Annotated[int, typer.Option(help="same seed, same province")] = 1,
    out: Annotated[Path, typer.Option(help="directory for the files")] = Path("synth"),
    smart_months: Annotated[int, typer.Option(help="months with FSU smart-meter days")] = 3,
):
    """Write a synthetic province as import files, with injected anomalies (truth.csv)."""
    _generate(out, sites, months, seed, smart_months)


def import_files(written, user=None) -> None:
    """Import master data, then each month's sub-meter, smart-meter and bill files."""
    from towerledger import cli
    from towerledger.exchange.registry import KINDS
    from towerledger.exchange.services import run_import

    plan = [(k, p) for k, p in written.master.items()]
    plan += [(k, m[k]) for m in written.months for k in ("submeter", "smartmeter", "bills")
             if k in m and k in KINDS]
    with cli._progress() as bar:
        overall = bar.add_task("导入 import", total=len(plan))
        for kind, path in plan:
            bar.update(overall, description=f"导入 {path.name}")
            result = run_import(kind, path, user, reason="演示数据 demo data",
                                create_org=kind == "sites")  # the province is new
            if not result.stored:
                cli._report(result)
                raise typer.Exit(1)
            bar.advance(overall)


def build_story(written, seed: int = 1) -> list:
    """Master data, the demo users, then the year replayed month by month (synth.story);
    returns the demo users (synth.demo.DemoUser)."""
    from towerledger import cli
    from towerledger.exchange.services import run_import
    from towerledger.synth.demo import ensure_demo_users
    from towerledger.synth.story import replay

    with cli._progress() as bar:
        task = bar.add_task("导入 import", total=len(written.master) + len(written.months))
        for kind, path in written.master.items():
            bar.update(task, description=f"导入 {path.name}")
            result = run_import(kind, path, None, reason="演示数据 demo data",
                                create_org=kind == "sites")  # the province is new
            if not result.stored:
                cli._report(result)
                raise typer.Exit(1)
            bar.advance(task)
        users = ensure_demo_users()
        replay(written, seed=seed, progress=lambda m: bar.update(
            task, advance=1, description=f"演示年度 replay {m:%Y-%m}"))
    return users


def demo(
    sites: Annotated[int, typer.Option(help="number of sites")] = 3000,
    months: Annotated[int, typer.Option(help="months of history")] = 12,
    seed: Annotated[int, typer.Option()] = 1,
    addr: Annotated[str, typer.Option(help="address:port to serve on")] = "127.0.0.1:8000",
    serve: Annotated[bool, typer.Option(help="serve the site when ready")] = True,
):
    """Build the demo province into the database (once) and serve it (演示)."""
    from towerledger import cli

    # DEBUG off, as users will see it (the product's own error pages, no debug page); plain
    # HTTP and static files from the package on this machine (settings.DEMO)
    os.environ.setdefault("TOWERLEDGER_DEMO", "1")
    cli.setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from rich.table import Table

    from towerledger.sites.models import Site
    from towerledger.synth.demo import ensure_demo_users

    call_command("migrate", interactive=False, verbosity=0)
    if not Site.objects.exists():
        written = _generate(settings.DATA_DIR / "synth", sites, months, seed, smart_months=3)
        users = build_story(written, seed)
    else:
        cli.console.print("演示数据已存在 / demo data already built "
                          f"({Site.objects.count():,} sites)")
        users = ensure_demo_users()
    table = Table("角色 role", "用户名 username", "密码 password",
                  title=f"towerledger demo → http://{addr}/")
    for u in users:
        # an existing user keeps its own password and role: the demo never resets them
        table.add_row(u.label, u.username, u.password if u.created
                      else "已存在，未改动 / already there, left unchanged")
    cli.console.print(table)
    if serve:
        call_command("runserver", addr, use_reloader=False)
