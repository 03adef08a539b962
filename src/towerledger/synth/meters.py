"""Hourly smart-meter and FSU readings of a synthetic province, with injected theft (偷电).

The province is ``synth.province.build`` (same seed, same sites and tenancies). Each site
draws its tenancies' DC load × 53.5 V × its PUE × the season, with a daily shape and noise,
every hour of the month; 85 % of the sites have a smart meter (kWh), every site an FSU (DC
current). The months before come as the daily store (what earlier runs of the job leave),
the month's bills per monthly account as the ledger would export them, and on a few
accounts the bill is inflated (the landlord's meter runs ahead of the site: theft, the truth
the bench measures precision and recall against).

Everything is generated with numpy a block of sites at a time and streamed to Parquet, so
100,000 sites × 720 hours (72 M rows) never sit in memory at once.
"""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from towerledger.meters import analyse as an
from towerledger.meters import store
from towerledger.synth.province import VOLTAGE, Province, build, month_add
from towerledger.synth.usage import SEASON, active_days

BLOCK = 2000          # sites per generated block
SHAPE = 1 + 0.12 * np.sin((np.arange(24) - 8) / 24 * 2 * np.pi)   # a day's load shape
SHAPE = SHAPE / SHAPE.mean()


def decimals(scaled: np.ndarray, dtype: pa.DataType) -> pa.Array:
    """Non-negative integers in units of the last place → a decimal128 array, no Python
    objects (16-byte little-endian values, high word 0)."""
    words = np.zeros((len(scaled), 2), dtype=np.int64)
    words[:, 0] = scaled
    return pa.Array.from_buffers(dtype, len(scaled), [None, pa.py_buffer(words.tobytes())])


def strings(codes: list[str], repeat: int) -> pa.Array:
    idx = np.repeat(np.arange(len(codes), dtype=np.int32), repeat)
    return pa.DictionaryArray.from_arrays(pa.array(idx), pa.array(codes)).cast(pa.string())


@dataclass
class MeterProvince:
    province: Province
    month: date
    seed: int
    theft_rate: float
    readings: list[str] = field(default_factory=list)   # Parquet files of the month
    history: list[str] = field(default_factory=list)    # the daily store, 3 months before
    bills: list[dict] = field(default_factory=list)
    bill_sites: list[dict] = field(default_factory=list)
    tenancy_starts: list[dict] = field(default_factory=list)
    theft: set[int] = field(default_factory=set)        # bill ids with injected theft
    rows: int = 0

    def inputs(self, work: Path) -> dict[str, list[str]]:
        return {"readings": self.readings, "history": self.history,
                "bills": [an.write_input(work, "bills", self.bills)],
                "bill_sites": [an.write_input(work, "bill_sites", self.bill_sites)],
                "tenancy_starts": [an.write_input(work, "tenancy_starts", self.tenancy_starts)],
                "remediations": []}


def _site_arrays(p: Province, lo: date, hi: date):
    """Per site: mean kW (what it really draws), DC amps, smart meter or not."""
    days = (hi - lo).days + 1
    kw, amps, smart = [], [], []
    for s in p.sites:
        a_days = sum(float(t.dc_a) * active_days(t.start, t.end, lo, hi) for t in s.tenancies)
        if s.decommissioned and lo > s.decommissioned:
            a_days = 0.0
        mean_a = a_days / days
        kw.append(mean_a * float(VOLTAGE) * s.pue * SEASON[lo.month] / 1000 if mean_a else 0.3)
        amps.append(mean_a)
        smart.append(s.smart)
    return np.array(kw), np.array(amps), np.array(smart)


def _month_block(codes, kw, amps, smart, lo: date, days: int, rng: np.random.Generator):
    """One block of sites' hourly rows: (table, true kWh per site in thousandths)."""
    n, hours = len(codes), days * 24
    load = kw[:, None] * np.tile(SHAPE, days)[None, :] * rng.uniform(0.97, 1.03, (n, hours))
    wh = np.rint(load * 1000).astype(np.int64)                 # kWh in thousandths
    ca = np.rint(amps[:, None] * 100 * rng.uniform(0.98, 1.02, (n, hours))).astype(np.int64)
    epoch = (lo - date(1970, 1, 1)).days
    day_idx = np.tile(np.repeat(np.arange(days, dtype=np.int32), 24), n) + epoch
    kwh = decimals(wh.ravel(), store.READINGS.field("kwh").type)
    mask = np.repeat(~smart, hours)
    if mask.any():
        kwh = _null_where(kwh, mask)
    table = pa.Table.from_arrays([
        strings(codes, hours),
        pa.Array.from_buffers(pa.date32(), n * hours, [None, pa.py_buffer(day_idx.tobytes())]),
        pa.array(np.tile(np.arange(24, dtype=np.int8), n * days)),
        kwh,
        decimals(ca.ravel(), store.READINGS.field("dc_current_a").type),
    ], schema=store.READINGS)
    return table, wh.sum(axis=1)


def _null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    """``arr`` with nulls where ``mask`` is true (a validity bitmap over the same values)."""
    valid = np.packbits(~mask, bitorder="little")
    return pa.Array.from_buffers(arr.type, len(arr), [pa.py_buffer(valid.tobytes()),
                                                      arr.buffers()[1]])


def generate(out: Path, n_sites: int, month: date, seed: int = 7, theft_rate: float = 0.02,
             csv: bool = False, months: int | None = None,
             first_month: date | None = None) -> MeterProvince:
    """Write the month's hourly readings (Parquet, or CSV with ``csv``) and the 3 months of
    daily store before it under ``out``; returns the bills, links and the theft truth.

    ``months`` and ``first_month`` give the province's window as ``synth.files`` built it
    (the demo: 6 months before today's): the same seed then gives the same sites and
    tenancies, so the readings match the demo's bills."""
    first = month_add(month, -3)
    p = build(n_sites, months or 4, seed, first_month or first)
    mp = MeterProvince(p, month, seed, theft_rate)
    rng = np.random.default_rng(seed)
    codes = [s.code for s in p.sites]
    # the daily store: three months before
    for m in range(3):
        lo = month_add(first, m)
        hi = month_add(lo, 1) - timedelta(days=1)
        days = (hi - lo).days + 1
        kw, amps, smart = _site_arrays(p, lo, hi)
        d = Path(store.month_dir(str(out / "daily"), lo))
        d.mkdir(parents=True, exist_ok=True)
        path = d / "part-0.parquet"
        with pq.ParquetWriter(path, store.DAILY, compression="zstd") as w:
            for i in range(0, n_sites, BLOCK * 4):
                sl = slice(i, i + BLOCK * 4)
                n = len(codes[sl])
                wh = np.rint(kw[sl, None] * 24 * 1000 * rng.uniform(0.97, 1.03, (n, days))
                             ).astype(np.int64)
                dc = np.rint(amps[sl, None] * 2400 * np.ones((n, days))).astype(np.int64)
                epoch = (lo - date(1970, 1, 1)).days
                day_idx = np.tile(np.arange(days, dtype=np.int32), n) + epoch
                mask = np.repeat(~smart[sl], days)
                kwh = _null_where(decimals(wh.ravel(), store.DAILY.field("kwh").type), mask)
                w.write_table(pa.Table.from_arrays([
                    strings(codes[sl], days),
                    pa.Array.from_buffers(pa.date32(), n * days,
                                          [None, pa.py_buffer(day_idx.tobytes())]),
                    kwh,
                    pa.array(np.where(mask, 0, 24).astype(np.int64)),
                    decimals(dc.ravel(), store.DAILY.field("dc_sum").type),
                    pa.array(np.full(n * days, 24, dtype=np.int64)),
                ], schema=store.DAILY))
        mp.history.append(str(path))
    # the month's hourly readings
    lo, hi = an.month_bounds(month)
    days = (hi - lo).days + 1
    kw, amps, smart = _site_arrays(p, lo, hi)
    d = Path(store.month_dir(str(out / "readings"), month))
    d.mkdir(parents=True, exist_ok=True)
    path = d / ("readings.csv" if csv else "part-0.parquet")
    true_kwh = np.zeros(n_sites, dtype=np.int64)
    writer = None
    try:
        for i in range(0, n_sites, BLOCK):
            sl = slice(i, i + BLOCK)
            table, used = _month_block(codes[sl], kw[sl], amps[sl], smart[sl], lo, days, rng)
            true_kwh[sl] = used
            mp.rows += len(table)
            if writer is None:
                writer = pacsv.CSVWriter(path, table.schema) if csv else \
                    pq.ParquetWriter(path, store.READINGS, compression="zstd")
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    mp.readings.append(str(path))
    _bills(mp, p, true_kwh, lo, hi)
    mp.tenancy_starts = [{"site_code": s.code, "start_date": t.start}
                         for s in p.sites for t in s.tenancies]
    return mp


def _bills(mp: MeterProvince, p: Province, true_kwh: np.ndarray, lo: date, hi: date):
    """One bill per monthly metered account: what its sites used, as the landlord's or the
    grid's meter reads it (±3 %; on 10 % of them 5–20 % high — losses, drift — and still
    clean); on ``theft_rate`` of them 1.6–2.6 times that (theft)."""
    rng = random.Random(mp.seed * 31 + 5)
    index = {s.code: i for i, s in enumerate(p.sites)}
    days = (hi - lo).days + 1
    for account in p.accounts:
        if account.lump or account.cycle != 1:
            continue
        codes = [c for c, _ in account.splits]
        used = sum(int(true_kwh[index[c]]) for c in codes) / 1000
        if used <= 0:
            continue
        factor = rng.uniform(0.97, 1.03)
        if rng.random() < 0.10:   # a landlord meter reading high (line losses, drift): clean
            factor = rng.uniform(1.05, 1.20)
        bill_id = len(mp.bills) + 1
        if rng.random() < mp.theft_rate:
            factor = rng.uniform(1.6, 2.6)
            mp.theft.add(bill_id)
        mp.bills.append({"bill_id": bill_id, "period_start": lo, "period_end": hi,
                         "days": days, "kwh": Decimal(f"{used * factor:.2f}"),
                         "baseline_start": an.months_back(lo, 3), "n_sites": len(codes)})
        mp.bill_sites += [{"bill_id": bill_id, "site_code": c} for c in codes]
