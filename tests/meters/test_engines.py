"""The one job definition gives identical results on Apache Spark (local mode) and DuckDB.

Small, irregular data on purpose: random kWh to the Wh and DC currents to the 0.01 A, a site
with an FSU but no smart meter (kWh NULL), a day with missing hours, a 3-site account, a
step up explained by a new tenancy, a theft, a 2-month bill reaching into the daily store,
a remediated site. One Spark session for the module (local[1], 2 shuffle partitions, no UI).
"""

import random
import shutil
from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from towerledger.meters import analyse as an
from towerledger.meters import store
from towerledger.meters.engines import DuckDBEngine, SparkEngine, spark_session

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17")

FEB, MAR = date(2026, 2, 1), date(2026, 3, 1)
SITES = {  # site: (kWh per hour around, DC A around); None = no smart meter
    "S1": (4.0, 40), "S2": (3.0, 30), "S3": (1.0, 10), "S4": (2.0, 20), "S5": (None, 25),
    "S6": (2.5, 28),
}


def readings(rng: random.Random, month: date, theft_step: dict) -> pa.Table:
    start, end = an.month_bounds(month)
    cols = {f.name: [] for f in store.READINGS}
    day = start
    while day <= end:
        for code, (kwh, amps) in SITES.items():
            for h in range(24):
                if code == "S2" and day == date(2026, 3, 9) and h in (3, 4):
                    continue   # two hours missing: not a whole day
                factor = theft_step.get(code, 1.0) if month == MAR else 1.0
                value = None if kwh is None else Decimal(
                    f"{kwh * factor * rng.uniform(0.9, 1.1):.3f}")
                cols["site_code"].append(code)
                cols["read_date"].append(day)
                cols["read_hour"].append(h)
                cols["kwh"].append(value)
                cols["dc_current_a"].append(Decimal(f"{amps * rng.uniform(0.95, 1.05):.2f}"))
        day += timedelta(days=1)
    return pa.Table.from_pydict(cols, schema=store.READINGS)


def bill(pk, start, end, kwh, n_sites):
    return {"bill_id": pk, "period_start": start, "period_end": end,
            "days": (end - start).days + 1, "kwh": Decimal(kwh),
            "baseline_start": an.months_back(start, 3), "n_sites": n_sites}


@pytest.fixture(scope="module")
def spark():
    session = spark_session("local[1]", small=True)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("meters-engines")
    rng = random.Random(18)
    # S6's use steps up 1.6× in March: a new tenancy explains it (not theft)
    for month in (FEB, MAR):
        d = root / "readings" / f"month={month:%Y-%m}"
        d.mkdir(parents=True)
        pq.write_table(readings(rng, month, {"S6": 1.6}), d / "part-0.parquet")
    # February's daily store, made once (by DuckDB) and read by both engines as history
    feb = DuckDBEngine()
    an.analyse(feb, an.params_for(FEB), {"readings": [str(root / "readings/month=2026-02")]},
               root / "work-feb", daily_out=str(root / "daily/month=2026-02"))
    feb.close()
    bills = [bill(1, MAR, date(2026, 3, 31), "6100.00", 1),       # S1 ×2 of ~2,976: theft
             bill(2, MAR, date(2026, 3, 31), "2950.50", 2),       # S2 + S3, S2 not whole
             bill(3, FEB, date(2026, 3, 31), "2830.00", 1),       # S4 over Feb + Mar
             bill(4, MAR, date(2026, 3, 31), "1500.00", 1),       # S5: DC load only
             bill(5, MAR, date(2026, 3, 31), "2980.00", 1),       # S6 step up, new tenancy
             bill(6, MAR, date(2026, 3, 31), "9000.00", 3)]       # S1 + S3 + S4
    links = [(1, "S1"), (2, "S2"), (2, "S3"), (3, "S4"), (4, "S5"), (5, "S6"), (6, "S1"),
             (6, "S3"), (6, "S4")]
    work = root / "work-mar"
    return {
        "readings": [str(root / "readings/month=2026-03")],
        "history": [str(root / "daily/month=2026-02")],
        "bills": [an.write_input(work, "bills", bills)],
        "bill_sites": [an.write_input(work, "bill_sites",
                                      [{"bill_id": b, "site_code": s} for b, s in links])],
        "tenancy_starts": [an.write_input(work, "tenancy_starts", [
            {"site_code": "S6", "start_date": date(2026, 3, 1)},
            {"site_code": "S1", "start_date": date(2020, 1, 1)}])],
        "remediations": [an.write_input(work, "remediations", [
            {"site_code": "S4", "detected_on": date(2026, 3, 1),
             "remediated_on": date(2026, 3, 10), "baseline_start": date(2025, 12, 1),
             "unit_price": Decimal("0.6500")}])],
        "root": root,
    }


def daily_rows(directory) -> list[dict]:
    table = pq.read_table(sorted(str(p) for p in directory.glob("*.parquet")))
    return an.normalise(table.to_pylist())


def test_spark_and_duckdb_give_identical_results(spark, inputs):
    root = inputs.pop("root")
    params = an.params_for(MAR)
    duck = DuckDBEngine()
    a = an.analyse(duck, params, inputs, root / "work-duck",
                   daily_out=str(root / "out-duck"), count_daily=True)
    duck.close()
    sp = SparkEngine(session=spark, cache=False)   # tiny data: caching costs more
    b = an.analyse(sp, params, inputs, root / "work-spark",
                   daily_out=str(root / "out-spark"), count_daily=True)
    sp.close()
    inputs["root"] = root

    assert a.site_month == b.site_month and len(a.site_month) == 6
    assert a.theft == b.theft and len(a.theft) == 6
    assert a.savings == b.savings and len(a.savings) == 1
    assert a.daily_rows == b.daily_rows == 6 * 31
    assert daily_rows(root / "out-duck") == daily_rows(root / "out-spark")

    theft = {r["bill_id"]: r for r in a.theft}
    # bill 1: S1 billed twice its meter; bill 6: 9,000 kWh for S1 + S3 + S4 (≈ 5,200 metered)
    assert [k for k, r in sorted(theft.items()) if r["suspect"]] == [1, 6]
    assert theft[1]["score_num"] == theft[1]["score_den"] == 10
    assert theft[2]["smart_kwh"] is None            # S2 has a day without all its hours
    assert theft[3]["smart_kwh"] is not None        # February from the daily store
    assert theft[4]["smart_ratio"] is None and theft[4]["dc_ratio"] is not None
    assert theft[5]["new_tenancy"] == 1 and theft[5]["step_hit"] == 0
    assert theft[5]["step_ratio"] > Decimal("1.3")  # a step up, explained
    assert theft[6]["smart_hit"] == theft[6]["dc_hit"] == 1
    saving = a.savings[0]
    assert saving["site_code"] == "S4" and saving["days"] == 22


@pytest.mark.django_db
def test_the_ledger_gets_the_same_figures_from_either_engine(spark, province, settings,
                                                              tmp_path):
    """run_month on Spark stores what run_month on DuckDB stored (one month, no history)."""
    from tests.meters.test_job import bill, write_readings
    from towerledger.bills.models import Flag, MeterDay
    from towerledger.meters.models import SiteMonth, TheftScore
    from towerledger.meters.services import run_month

    settings.DATA_DIR = tmp_path
    settings.METERS_STORE = str(tmp_path / "meters")
    settings.METERS_DAILY = str(tmp_path / "meters_daily")
    write_readings(tmp_path / "hourly.parquet")
    store.ingest(tmp_path / "hourly.parquet")
    theft = bill("A-100", "A100-202603", MAR, date(2026, 3, 31), "5184.00", "1.1000")
    bill("A-200", "A200-202603", MAR, date(2026, 3, 31), "3000.00", "0.6200")

    def figures():
        return (sorted(MeterDay.objects.values_list("site_id", "date", "kwh", "dc_current_a")),
                sorted(SiteMonth.objects.values_list("site_id", "kwh", "kwh_per_day",
                                                     "dc_benchmark_kwh", "baseline_per_day")),
                sorted(TheftScore.objects.values_list("bill_id", "score", "suspect",
                                                      "smart_kwh", "dc_benchmark_kwh")))

    duck = run_month(MAR)
    first = figures()
    sp = run_month(MAR, engine=SparkEngine(session=spark, cache=False))
    assert (sp.engine, sp.suspects, sp.meter_days) == ("spark", [theft.pk], 4 * 31)
    assert (duck.suspects, duck.meter_days) == ([theft.pk], 4 * 31)
    assert figures() == first
    assert set(TheftScore.objects.values_list("engine", flat=True)) == {"spark"}
    assert Flag.objects.filter(bill=theft, code="THEFT_SUSPECT").count() == 1
