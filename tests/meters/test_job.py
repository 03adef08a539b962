"""The meter-analytics job on hand-made readings (DuckDB, the default engine).

Province of tests/helpers.py. Hourly readings Dec 2025 – Mar 2026, constant per hour:
* ZZ001 (account A-100): 4.000 kWh/h = 96 kWh/day, from 16 Mar 3.000 kWh/h = 72 kWh/day
  (remediated); FSU DC current 40 A. March: 15 × 96 + 16 × 72 = 2,592 kWh. Its March bill
  says 5,184.00 kWh (twice the meter): theft.
* ZZ002 + ZZ003 (account A-200): 72 + 24 = 96 kWh/day, DC 30 A + 10 A. March bill
  3,000.00 kWh against 2,976 metered: clean.
* LY001 (account A-300, 3-monthly): 48 kWh/day, DC 20 A; bill 1 Jan – 31 Mar 4,320.00 kWh
  (= 48 × 90, read from the daily store of January and February and March's readings).

DC-load benchmark (DOMAIN §5): A × 53.5 V × 24 h × 1.6 ÷ 1000 = A × 2.0544 kWh a day;
ZZ001 in March: 40 × 2.0544 × 31 = 2,547.456 → 2,547.46 kWh.
A-100: bill/smart = 5,184 / 2,592 = 2.0 (≥ 1.3), bill/DC = 5,184 / 2,547.456 = 2.035 (≥ 1.2),
use per day 5,184 / 31 = 167.23 vs the 3-month baseline 96.00 (Dec–Feb, no new tenancy):
all three signals, score 10/10 = 1.00 → THEFT_SUSPECT.
A-200: 3,000 / 2,976 = 1.008, 3,000 / ((30 + 10) × 2.0544 × 31 = 2,547.456) = 1.178,
96.77 / 96.00 = 1.008: no signal, score 0.
Saving of ZZ001 (detected 1 Mar, remediated 16 Mar, price 1.10 yuan/kWh): baseline
96.00/day (Dec–Feb), actual 72.00/day over 16 days → (96 − 72) × 16 = 384.00 kWh × 1.10 =
422.40 yuan.
"""

from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.urls import reverse

from tests.web.test_pages import login
from towerledger.bills.models import Bill, Flag, MeterDay
from towerledger.meters import store
from towerledger.meters.models import Saving, SiteMonth, TheftScore
from towerledger.meters.services import run_month
from towerledger.sites.models import SupplyAccount

FIRST, LAST = date(2025, 12, 1), date(2026, 3, 31)
D = Decimal


def hourly(code: str, day: date) -> tuple[Decimal, Decimal]:
    """(kWh per hour, DC current) of a site on a day."""
    if code == "ZZ001":
        return (D("3.000") if day >= date(2026, 3, 16) else D("4.000")), D("40.00")
    return {"ZZ002": (D("3.000"), D("30.00")), "ZZ003": (D("1.000"), D("10.00")),
            "LY001": (D("2.000"), D("20.00"))}[code]


def write_readings(path):
    rows = {"site_code": [], "read_date": [], "read_hour": [], "kwh": [], "dc_current_a": []}
    day = FIRST
    while day <= LAST:
        for code in ("ZZ001", "ZZ002", "ZZ003", "LY001"):
            kwh, amps = hourly(code, day)
            for h in range(24):
                for k, v in zip(rows, (code, day, h, kwh, amps), strict=True):
                    rows[k].append(v)
        day += timedelta(days=1)
    pq.write_table(pa.Table.from_pydict(rows, schema=store.READINGS), path)
    return len(rows["kwh"])


def bill(account_no, bill_no, start, end, kwh, price):
    kwh, price = D(kwh), D(price)
    return Bill.objects.create(
        account=SupplyAccount.objects.get(account_no=account_no), bill_no=bill_no,
        period_start=start, period_end=end, kwh=kwh, unit_price=price,
        amount=(kwh * price).quantize(D("0.01")))


@pytest.fixture
def meters_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.METERS_STORE = str(tmp_path / "meters")
    settings.METERS_DAILY = str(tmp_path / "meters_daily")
    return tmp_path


@pytest.fixture
def analysed(province, meters_dir):
    n = write_readings(meters_dir / "hourly.parquet")
    result = store.ingest(meters_dir / "hourly.parquet")
    assert result.rows == n == 121 * 4 * 24
    assert result.months == ["2025-12", "2026-01", "2026-02", "2026-03"]
    theft = bill("A-100", "A100-202603", date(2026, 3, 1), date(2026, 3, 31), "5184.00", "1.1000")
    clean = bill("A-200", "A200-202603", date(2026, 3, 1), date(2026, 3, 31), "3000.00", "0.6200")
    quarter = bill("A-300", "A300-2026Q1", date(2026, 1, 1), date(2026, 3, 31), "4320.00",
                   "1.2000")
    for month in (date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)):
        run_month(month)
    remediation = {"site_code": "ZZ001", "detected_on": date(2026, 3, 1),
                   "remediated_on": date(2026, 3, 16), "unit_price": "1.10"}
    steps = []
    result = run_month(date(2026, 3, 1), remediations=[remediation], progress=steps.append)
    return {"theft": theft, "clean": clean, "quarter": quarter, "result": result,
            "steps": steps}


def test_a_theft_site_is_flagged_and_a_clean_one_is_not(analysed):
    theft, clean, quarter = analysed["theft"], analysed["clean"], analysed["quarter"]
    result = analysed["result"]
    assert result.bills_scored == 3 and result.suspects == [theft.pk]
    s = TheftScore.objects.get(bill=theft)
    assert (s.score, s.suspect, s.bill_kwh, s.smart_kwh, s.dc_benchmark_kwh) == (
        D("1.00"), True, D("5184.00"), D("2592.00"), D("2547.46"))
    assert (s.baseline_per_day, s.actual_per_day, s.new_tenancy) == (
        D("96.00"), D("167.23"), False)
    assert s.signals["smart"] and s.signals["dc"] and s.signals["step"]
    c = TheftScore.objects.get(bill=clean)
    assert (c.score, c.suspect, c.smart_kwh, c.dc_benchmark_kwh) == (
        D("0.00"), False, D("2976.00"), D("2547.46"))
    q = TheftScore.objects.get(bill=quarter)
    assert (q.suspect, q.smart_kwh, q.dc_benchmark_kwh) == (False, D("4320.00"), D("3697.92"))

    flag = Flag.objects.get(bill=theft, code="THEFT_SUSPECT")
    assert (flag.severity, flag.status) == ("WARN", Flag.Status.OPEN)
    assert flag.figures["benchmark"] == "2592.00" and flag.figures["actual"] == "5184.00"
    assert flag.figures["deviation_pct"] == "100.0" and flag.figures["signals"] == "smart,dc,step"
    assert not Flag.objects.filter(bill__in=[clean, quarter], code="THEFT_SUSPECT").exists()
    # BENCH_SMART reads the daily aggregates the job wrote: 5,184 vs 2,592 metered
    assert Flag.objects.filter(bill=theft, code="BENCH_SMART").exists()
    assert not Flag.objects.filter(bill=clean, code="BENCH_SMART").exists()
    theft.refresh_from_db()
    assert theft.warnings >= 2


def test_daily_aggregates_and_site_months_are_in_the_ledger(analysed):
    assert MeterDay.objects.count() == 121 * 4
    day = MeterDay.objects.get(site__site_code="ZZ001", date=date(2026, 3, 16))
    assert (day.kwh, day.dc_current_a) == (D("72.00"), D("40.00"))
    assert MeterDay.objects.get(site__site_code="ZZ001", date=date(2026, 3, 15)).kwh == D("96.00")
    m = SiteMonth.objects.get(site__site_code="ZZ001", month=date(2026, 3, 1))
    assert (m.kwh, m.kwh_days, m.kwh_per_day, m.dc_current_a, m.dc_benchmark_kwh,
            m.baseline_per_day) == (D("2592.00"), 31, D("83.61"), D("40.00"), D("2547.46"),
                                    D("96.00"))
    dec = SiteMonth.objects.get(site__site_code="LY001", month=date(2025, 12, 1))
    assert (dec.kwh, dec.baseline_per_day) == (D("1488.00"), None)   # no earlier months
    saving = Saving.objects.get(site__site_code="ZZ001", month=date(2026, 3, 1))
    assert (saving.baseline_per_day, saving.actual_per_day, saving.days, saving.kwh,
            saving.amount) == (D("96.00"), D("72.00"), 16, D("384.00"), D("422.40"))
    assert analysed["steps"][0] == "inputs" and analysed["steps"][-1] == "audit"


def test_a_rerun_is_idempotent_and_keeps_a_resolved_flag(analysed):
    theft = analysed["theft"]
    Flag.objects.filter(bill=theft, code="THEFT_SUSPECT").update(status=Flag.Status.RESOLVED)
    again = run_month(date(2026, 3, 1))
    assert again.suspects == [theft.pk]
    assert MeterDay.objects.count() == 121 * 4
    assert TheftScore.objects.count() == 3
    flag = Flag.objects.get(bill=theft, code="THEFT_SUSPECT")
    assert flag.status == Flag.Status.RESOLVED


def test_the_flag_is_in_the_audit_queue(analysed, users):
    page = login(users["admin"]).get(reverse("flags") + "?rule=THEFT_SUSPECT")
    assert page.status_code == 200
    body = page.content.decode()
    assert "A100-202603" in body and "偷电嫌疑" in body
    assert "智能电表电量 2,592.00 kWh" in body and "账单电量 5,184.00 kWh" in body
    # an operator never sees the tower's audit queue
    assert login(users["cmcc"]).get(reverse("flags")).status_code in (403, 404)
