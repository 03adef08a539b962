"""Ingest streams an hourly readings file into the Parquet store in bounded memory."""

from datetime import date
from decimal import Decimal

import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from towerledger.meters import store
from towerledger.synth.meters import generate

BLOCK = 256 << 10


def test_memory_does_not_grow_with_the_file(tmp_path):
    peaks = {}
    for n in (60, 240):
        mp = generate(tmp_path / f"gen{n}", n, date(2026, 3, 1), csv=True)
        src = mp.readings[0]
        assert src.endswith(".csv") and mp.rows == n * 31 * 24
        root = str(tmp_path / f"store{n}")
        result = store.ingest(src, root=root, block_size=BLOCK)
        assert (result.rows, result.months) == (mp.rows, ["2026-03"])
        assert result.batches >= 4 * (n // 60)
        peaks[n] = result.peak_arrow_bytes
        stored = pq.ParquetFile(result.files[0]).read()
        assert stored.schema == store.READINGS and len(stored) == mp.rows
        whole = pacsv.read_csv(src)
        assert pc.sum(stored["kwh"]).as_py() == \
            Decimal(str(round(pc.sum(whole["kwh"]).as_py(), 3)))
        assert pc.sum(stored["dc_current_a"]).as_py() == \
            Decimal(str(round(pc.sum(whole["dc_current_a"]).as_py(), 2)))
        del whole, stored
        # the same file again: stored once
        again = store.ingest(src, root=root, block_size=BLOCK)
        assert again.skipped and not again.files
        assert len(list((tmp_path / f"store{n}" / "month=2026-03").glob("*.parquet"))) == 1
    # four times the rows, not four times the memory: one block and the writer
    assert peaks[240] < 1.5 * peaks[60] + (1 << 20)
    assert peaks[240] < 4 * BLOCK * 8


def test_timestamps_split_into_month_partitions(tmp_path):
    src = tmp_path / "fsu.csv"
    src.write_text("site_code,ts,kwh,dc_current_a\n"
                   "S1,2026-02-28 23:00:00,1.250,40.10\n"
                   "S1,2026-03-01 00:00:00,,40.20\n"
                   "S2,2026-03-01 01:00:00,2.500,\n", encoding="utf-8")
    result = store.ingest(src, root=str(tmp_path / "store"))
    assert result.rows == 3 and result.months == ["2026-02", "2026-03"]
    files = {m: next((tmp_path / "store" / f"month={m}").glob("*.parquet")) for m in result.months}
    march = pq.ParquetFile(files["2026-03"]).read().to_pylist()
    assert march == [
        {"site_code": "S1", "read_date": date(2026, 3, 1), "read_hour": 0, "kwh": None,
         "dc_current_a": Decimal("40.20")},
        {"site_code": "S2", "read_date": date(2026, 3, 1), "read_hour": 1,
         "kwh": Decimal("2.500"), "dc_current_a": None}]
    feb = pq.ParquetFile(files["2026-02"]).read().to_pylist()
    assert feb[0]["read_hour"] == 23 and feb[0]["kwh"] == Decimal("1.250")


def test_a_bad_file_is_refused_whole(tmp_path):
    src = tmp_path / "bad.csv"
    lines = ["site_code,read_date,read_hour,kwh,dc_current_a"]
    lines += [f"S1,2026-03-0{d},{h},1.000,40.00" for d in range(1, 4) for h in range(24)]
    lines.append("S1,2026-03-04,0,abc,40.00")
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(store.IngestError, match="bad.csv"):
        store.ingest(src, root=str(tmp_path / "store"), block_size=1024)
    assert not list((tmp_path / "store").rglob("*.parquet*"))
