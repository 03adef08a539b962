"""The Parquet store of hourly smart-meter and FSU readings, outside the ledger database.

Layout (Hive-style, one directory per month, so an engine reads only the month it needs)::

    <METERS_STORE>/month=YYYY-MM/part-<file hash>.parquet   hourly readings (ingest)
    <METERS_DAILY>/month=YYYY-MM/*.parquet                  per-site daily figures (the job)

``METERS_STORE`` defaults to ``DATA_DIR / "meters"``, ``METERS_DAILY`` to
``DATA_DIR / "meters_daily"`` and ``METERS_RUNS`` (a run's small inputs: bills, tenancies)
to ``DATA_DIR / "meters_runs"``; all three may be object-storage URIs
(``s3a://bucket/meters``) for Spark on a cluster, whose executors must read them.

``ingest`` turns an hourly CSV or Parquet file into the store batch by batch (pyarrow's
streaming CSV reader or Parquet row groups): memory is one batch and the open writers, never
the whole file. The part file is named by the source file's hash, so ingesting the same file
twice stores it once.
"""

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.conf import settings

READINGS = pa.schema([
    ("site_code", pa.string()),
    ("read_date", pa.date32()),
    ("read_hour", pa.int8()),
    ("kwh", pa.decimal128(10, 3)),
    ("dc_current_a", pa.decimal128(8, 2)),
])
DAILY = pa.schema([
    ("site_code", pa.string()),
    ("read_date", pa.date32()),
    ("kwh", pa.decimal128(18, 3)),
    ("kwh_hours", pa.int64()),
    ("dc_sum", pa.decimal128(18, 2)),
    ("dc_hours", pa.int64()),
])
BATCH_BYTES = 8 << 20   # CSV block size: the unit of memory of the streaming path


def _root(name: str, default: str) -> str:
    """A Django setting ``name``, else the environment's ``TOWERLEDGER_<name>``, else
    ``DATA_DIR / default``."""
    return str(getattr(settings, name, None) or os.environ.get(f"TOWERLEDGER_{name}")
               or Path(settings.DATA_DIR) / default)


def readings_root() -> str:
    return _root("METERS_STORE", "meters")


def daily_root() -> str:
    return _root("METERS_DAILY", "meters_daily")


def runs_root() -> str:
    return _root("METERS_RUNS", "meters_runs")


def month_dir(root: str, month: date) -> str:
    return f"{root.rstrip('/')}/month={month:%Y-%m}"


def is_local(root: str) -> bool:
    return "://" not in root


def filesystem(uri: str):
    """pyarrow's filesystem and path for a URI; Hadoop's s3a:// is pyarrow's s3://."""
    from pyarrow import fs

    return fs.FileSystem.from_uri(uri.replace("s3a://", "s3://", 1))


def month_files(root: str, month: date) -> list[str]:
    """The Parquet files of a month (local store), or the month's directory when it exists
    (object storage: Spark lists it itself)."""
    where = month_dir(root, month)
    if not is_local(root):
        from pyarrow import fs

        system, path = filesystem(where)
        return [where] if system.get_file_info(path).type == fs.FileType.Directory else []
    return sorted(str(p) for p in Path(where).glob("*.parquet"))


def empty_file(path: Path, schema: pa.Schema) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(schema.empty_table(), path)
    return str(path)


class IngestError(ValueError):
    """A readings file that cannot be read as readings (nothing of it was stored)."""


@dataclass
class IngestResult:
    rows: int = 0
    batches: int = 0
    months: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped: bool = False
    peak_arrow_bytes: int = 0   # largest Arrow memory in use between batches


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _batches(path: Path, block_size: int):
    if path.suffix.lower() == ".parquet":
        pf = pq.ParquetFile(path)
        yield from pf.iter_batches(batch_size=max(1024, block_size // 64))
        return
    # CSV: site_code, then either ts ("YYYY-MM-DD HH:MM[:SS]") or read_date + read_hour,
    # kwh, dc_current_a (empty = none)
    convert = pacsv.ConvertOptions(
        column_types={"site_code": pa.string(), "kwh": pa.decimal128(10, 3),
                      "dc_current_a": pa.decimal128(8, 2), "read_date": pa.date32(),
                      "read_hour": pa.int8(), "ts": pa.timestamp("s")},
        strings_can_be_null=False)
    # pyarrow's streaming CSV reader reads ahead of its consumer (the whole of a local file
    # when parsing is slower than the disk): cut the file at line ends ourselves instead, so
    # memory is one block (readings hold no quoted line breaks)
    options = pacsv.ReadOptions(use_threads=False)
    with path.open("rb") as f:
        header, rest = f.readline(), b""
        while True:
            data = f.read(block_size)
            if not data:
                break
            data = rest + data
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            chunk, rest = data[:cut], data[cut:]
            yield from pacsv.read_csv(pa.py_buffer(header + chunk), read_options=options,
                                      convert_options=convert).to_batches()
            del chunk, data
        if rest.strip():
            yield from pacsv.read_csv(pa.py_buffer(header + rest), read_options=options,
                                      convert_options=convert).to_batches()


def _normalise(batch: pa.RecordBatch) -> pa.Table:
    table = pa.Table.from_batches([batch])
    names = table.column_names
    if "ts" in names:
        ts = table.column("ts")
        table = table.append_column("read_date", pc.cast(ts, pa.date32()))
        table = table.append_column("read_hour", pc.cast(pc.hour(ts), pa.int8()))
    cols = []
    for f in READINGS:
        if f.name in table.column_names:
            cols.append(pc.cast(table.column(f.name), f.type))
        else:
            cols.append(pa.nulls(len(table), f.type))
    return pa.Table.from_arrays(cols, schema=READINGS)


def ingest(path: Path, root: str | None = None, block_size: int = BATCH_BYTES,
           progress: Callable[[int], None] | None = None) -> IngestResult:
    """Stream ``path`` (CSV or Parquet of hourly readings) into the store's month partitions."""
    path = Path(path)
    root = root or readings_root()
    tag = file_hash(path)
    result = IngestResult()
    before = pa.total_allocated_bytes()   # Arrow memory held by others (not ours)
    writers: dict[str, pq.ParquetWriter] = {}
    targets: dict[str, Path] = {}
    try:
        for batch in _batches(path, block_size):
            table = _normalise(batch)
            result.rows += len(table)
            result.batches += 1
            months = pc.strftime(pc.cast(table.column("read_date"), pa.timestamp("s")),
                                 format="%Y-%m")
            for month in pc.unique(months).to_pylist():
                part = table.filter(pc.equal(months, month))
                if month not in writers:
                    target = Path(root) / f"month={month}" / f"part-{tag}.parquet"
                    if target.exists():   # this very file was ingested before
                        result.skipped = True
                        writers[month] = None
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    tmp = target.with_suffix(".parquet.tmp")
                    writers[month] = pq.ParquetWriter(tmp, READINGS, compression="zstd")
                    targets[month] = target
                if writers[month] is not None:
                    writers[month].write_table(part)
            result.peak_arrow_bytes = max(result.peak_arrow_bytes,
                                          pa.total_allocated_bytes() - before)
            if progress:
                progress(len(table))
    except BaseException as e:
        for month, w in writers.items():
            if w is not None:
                w.close()
                targets[month].with_suffix(".parquet.tmp").unlink(missing_ok=True)
        if isinstance(e, pa.ArrowInvalid | pa.ArrowTypeError | KeyError):
            raise IngestError(f"读数文件有误，未入库 bad readings file, nothing stored: "
                              f"{path.name}: {e}") from e
        raise
    for month, w in writers.items():
        if w is not None:
            w.close()
            targets[month].with_suffix(".parquet.tmp").rename(targets[month])
            result.files.append(str(targets[month]))
    result.months = sorted(writers)
    return result
