"""Run the job (``job.STEPS``) on an engine over Parquet inputs; no database here, so the bench
and a cluster driver use it as it is. ``services.run_month`` adds the ledger's side: the bills
and tenancies as inputs, the figures back into the ledger and the audit queue."""

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from towerledger.meters import job, store
from towerledger.meters.engines import Engine

BILLS = pa.schema([("bill_id", pa.int64()), ("period_start", pa.date32()),
                   ("period_end", pa.date32()), ("days", pa.int64()),
                   ("kwh", pa.decimal128(14, 2)), ("baseline_start", pa.date32()),
                   ("n_sites", pa.int64())])
BILL_SITES = pa.schema([("bill_id", pa.int64()), ("site_code", pa.string())])
TENANCY_STARTS = pa.schema([("site_code", pa.string()), ("start_date", pa.date32())])
REMEDIATIONS = pa.schema([("site_code", pa.string()), ("detected_on", pa.date32()),
                          ("remediated_on", pa.date32()), ("baseline_start", pa.date32()),
                          ("unit_price", pa.decimal128(8, 4))])
SCHEMAS = {"bills": BILLS, "bill_sites": BILL_SITES, "tenancy_starts": TENANCY_STARTS,
           "remediations": REMEDIATIONS, "readings": store.READINGS, "history": store.DAILY}


def months_back(d: date, n: int) -> date:
    """The same day ``n`` months earlier (the month's last day when it has fewer days)."""
    y, m = divmod(d.year * 12 + d.month - 1 - n, 12)
    last = month_bounds(date(y, m + 1, 1))[1]
    return date(y, m + 1, min(d.day, last.day))


def month_bounds(month: date) -> tuple[date, date]:
    start = month.replace(day=1)
    nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, nxt - timedelta(days=1)


def params_for(month: date, **thresholds) -> job.Params:
    start, end = month_bounds(month)
    return job.Params(start, end, months_back(start, 3), **thresholds)


def write_input(directory: Path | str, name: str, rows: list[dict]) -> str:
    """A small input (bills, tenancies…) as one Parquet file with its fixed schema, in a
    local directory or under an object-storage URI (s3a://…) a cluster reads."""
    schema = SCHEMAS[name]
    table = pa.Table.from_pylist(rows, schema=schema) if rows else schema.empty_table()
    if not store.is_local(str(directory)):
        uri = f"{str(directory).rstrip('/')}/{name}.parquet"
        system, path = store.filesystem(uri)
        pq.write_table(table, path, filesystem=system)
        return uri
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.parquet"
    pq.write_table(table, path)
    return str(path)


def history_files(month: date, first: date, root: str | None = None) -> list[str]:
    """The daily store's files of the months from ``first`` up to the one before ``month``."""
    root = root or store.daily_root()
    files = []
    m = first.replace(day=1)
    while m < month.replace(day=1):
        files += store.month_files(root, m)
        m = month_bounds(m)[1] + timedelta(days=1)
    return files


@dataclass
class Results:
    site_month: list[dict] = field(default_factory=list)
    theft: list[dict] = field(default_factory=list)
    savings: list[dict] = field(default_factory=list)
    daily_rows: int = 0


def analyse(engine: Engine, params: job.Params, inputs: dict[str, list[str]], work: Path,
            daily_out: str | None = None, progress: Callable[[str], None] | None = None,
            collect_site_month: bool = True, count_daily: bool = False) -> Results:
    """Register ``inputs`` (view → Parquet files; a missing or empty list reads as an empty
    table), run every step, write ``daily`` to ``daily_out`` when given, and return the
    outputs as rows normalised the same way whatever the engine."""
    for view in job.INPUTS:
        paths = [p for p in inputs.get(view) or []]
        if not paths:
            paths = [store.empty_file(work / "empty" / f"{view}.parquet", SCHEMAS[view])]
        engine.register(view, paths)
    engine.run(job.render(params), progress)
    out = Results()
    if daily_out:
        if store.is_local(daily_out):
            shutil.rmtree(daily_out, ignore_errors=True)
        engine.write("daily", daily_out)
    if count_daily:
        out.daily_rows = engine.count("daily")
    if collect_site_month:
        out.site_month = normalise(engine.rows("site_month"))
    out.theft = normalise(engine.rows("theft"))
    out.savings = normalise(engine.rows("savings"))
    return out


def number(value, places: str = "0.0001"):
    """Both engines' numbers as Decimal at a fixed scale: DOUBLEs from their shortest repr
    (the same bits give the same Decimal), DECIMALs as they are."""
    if value is None or isinstance(value, bool | int | str | date):
        return value
    if isinstance(value, float):
        value = Decimal(repr(value))
    return value.quantize(Decimal(places), ROUND_HALF_UP)


def normalise(rows: list[dict]) -> list[dict]:
    out = [{k: number(v) for k, v in r.items()} for r in rows]
    return sorted(out, key=lambda r: tuple(str(v) for v in r.values()))
