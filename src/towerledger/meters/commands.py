"""CLI of the meter analytics: ``towerledger analytics ingest FILE`` and
``towerledger analytics run --month YYYY-MM [--engine duckdb|spark]``."""

from pathlib import Path
from typing import Annotated

import typer

analytics = typer.Typer(help="动环/智能电表分析 meter analytics (Parquet store, DuckDB or Spark)",
                        no_args_is_help=True)


def register(app):
    app.add_typer(analytics, name="analytics")


@analytics.command("ingest")
def ingest(path: Annotated[Path, typer.Argument(help="hourly readings, CSV or Parquet: "
                                                "site_code, ts | read_date+read_hour, kwh, "
                                                "dc_current_a")]):
    """Stream an hourly readings file into the Parquet store (month partitions), in bounded
    memory; the same file twice is stored once."""
    from towerledger import cli

    cli.setup_django()
    from towerledger.meters.store import IngestError
    from towerledger.meters.store import ingest as run_ingest

    size = path.stat().st_size
    try:
        with cli._progress() as bar:
            task = bar.add_task("入库 ingest", total=None)
            result = run_ingest(path, progress=lambda n: bar.update(task, advance=n))
            bar.update(task, total=result.rows, completed=result.rows)
    except IngestError as e:
        cli.console.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None
    if result.skipped and not result.files:
        cli.console.print(f"已入库过 already ingested: {path.name}")
        return
    cli.console.print(f"已入库 ingested {result.rows:,} 行 rows ({size / 1e6:.1f} MB) → "
                      f"{', '.join(result.months)}")


@analytics.command("run")
def run(
    month: Annotated[str, typer.Option(help="YYYY-MM: the month of readings to analyse")],
    engine: Annotated[str, typer.Option(help="duckdb (embedded, default) or spark")] = "duckdb",
    master: Annotated[str, typer.Option(help="Spark master (local[1], spark://…)")] = "local[1]",
):
    """Daily use and DC load per site, baselines, theft suspicion and savings for a month;
    figures into the ledger, THEFT_SUSPECT and BENCH_SMART into the audit queue."""
    from towerledger import cli

    cli.setup_django()
    from towerledger.meters.services import TOTAL_STEPS, run_month

    first = cli.parse_month(month)
    if engine not in ("duckdb", "spark"):
        cli.console.print(f"[red]未知引擎 unknown engine {engine} (duckdb | spark)[/red]")
        raise typer.Exit(2)
    session = None
    if engine == "spark":
        from towerledger.meters.engines import spark_session

        session = spark_session(master)
    with cli._progress() as bar:
        task = bar.add_task(f"分析 analyse {first:%Y-%m} ({engine})", total=TOTAL_STEPS)
        result = run_month(first, engine=engine, session=session,
                           progress=lambda name: bar.update(
                               task, advance=1, description=f"{engine}: {name}"))
    if session is not None:
        session.stop()
    cli.console.print(
        f"{first:%Y-%m} ({engine}): 电表日 meter days {result.meter_days:,}, 站址月 site months "
        f"{result.site_months:,}, 评分账单 bills scored {result.bills_scored:,}, 偷电嫌疑 "
        f"suspects {len(result.suspects):,}, 节能 savings {result.savings:,}")
