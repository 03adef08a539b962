"""The generator program in the synthetic province (hooks: see synth.programs).

* ``begin``: the province agrees to split generator cost by DC current (dated from the
  first month).
* ``month``: a few ordinary outages each month (billed by the month close); in the second
  month a flood night (暴雨): most sites of one county lose grid power in the evening of
  the 18th until the next morning or afternoon, crews run generators, the field teams'
  files are imported (GBK CSV, Chinese headers), two runs are flagged (fuel beyond the
  rating, the same run sent twice) and stay held; the clerk bills the rest two days later.

Its own random stream (seeded by the month), so the other programs' demo data does not
change with it.
"""

import csv
import random
import tempfile
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

FLOOD_MONTH_INDEX = 1          # the second month replayed
ORDINARY_PER_MONTH = 4
FUEL_PRICE = Decimal("7.86")
OUTAGE_HEADER = ["停电编号", "站址编码", "停电开始时间", "来电时间", "停电原因"]
RUN_HEADER = ["发电单号", "停电编号", "发电班组", "发电开始时间", "发电结束时间", "发电时长",
              "耗油量(升)", "油价", "人工费", "运输费", "额定油耗", "支付日期"]
_state = {"months": 0}


def begin(user, rng, first_month, today):
    from towerledger.org.models import Province
    from towerledger.programs.generator.services import set_rule

    _state["months"] = 0
    for p in Province.objects.all():
        set_rule(user, first_month, "DC_CURRENT", province_id=p.pk,
                 reason="演示：运营商协议约定按直流电流分摊发电费用 demo agreement")


def _fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M")


def _write(path: Path, header, rows):
    with path.open("w", encoding="gbk", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _runs_for(r, outage_no, site, start, end, paid, crew):
    """One run covering most of the outage: crews arrive 20–60 minutes after it starts."""
    run_start = start + timedelta(minutes=r.randint(20, 60))
    run_end = end - timedelta(minutes=r.randint(0, 15))
    if run_end <= run_start:
        run_end = run_start + timedelta(minutes=30)
    hours = (Decimal((run_end - run_start).total_seconds()) / 3600).quantize(Decimal("0.01"))
    rated = Decimal(r.choice(["3.50", "4.00", "5.00"]))
    litres = (hours * rated * Decimal(r.randint(65, 98)) / 100).quantize(Decimal("0.01"))
    return [f"R-{outage_no[2:]}", outage_no, crew, _fmt(run_start), _fmt(run_end), hours,
            litres, FUEL_PRICE, Decimal(r.choice([120, 150, 180, 200])),
            Decimal(r.randint(30, 80)), rated, paid.isoformat()]


def month(user, rng, month, today):
    from towerledger.exchange.services import run_import
    from towerledger.programs.generator.services import bill_runs
    from towerledger.sites.models import Site

    index = _state["months"]
    _state["months"] += 1
    r = random.Random(f"generator-{month:%Y-%m}")
    sites = list(Site.objects.filter(status="ACTIVE").order_by("site_code")
                 .values_list("site_code", "county_id"))
    if not sites:
        return
    outages, runs = [], []
    tz = timezone.get_current_timezone()
    flood_day = month.replace(day=18)
    flood = index == FLOOD_MONTH_INDEX and flood_day + timedelta(days=3) <= today
    # ordinary outages: scattered, daytime line work or a storm
    for n in range(ORDINARY_PER_MONTH):
        day = month.replace(day=r.randint(1, 27))
        if day + timedelta(days=2) > today:
            continue
        code, _ = r.choice(sites)
        start = datetime.combine(day, time(r.randint(8, 16), r.choice([0, 15, 30, 45])), tz)
        end = start + timedelta(hours=r.randint(2, 7), minutes=r.choice([0, 30]))
        no = f"O-{month:%Y%m}-{n + 1:03d}"
        outages.append([no, code, _fmt(start), _fmt(end), r.choice(["线路检修", "雷雨跳闸",
                                                                    "变压器故障"])])
        runs.append(_runs_for(r, no, code, start, end, day + timedelta(days=2), "区县发电班"))
    if flood:
        counts = {}
        for _, county in sites:
            counts[county] = counts.get(county, 0) + 1
        county = max(sorted(counts), key=lambda c: counts[c])
        hit = [code for code, c in sites if c == county and r.random() < 0.85]
        for n, code in enumerate(hit):
            start = datetime.combine(flood_day, time(21, r.choice([0, 10, 20, 40])), tz)
            end = start + timedelta(hours=r.randint(6, 17), minutes=r.choice([0, 20, 45]))
            no = f"O-{month:%Y%m}-F{n + 1:03d}"
            outages.append([no, code, _fmt(start), _fmt(end), "暴雨洪涝停电 flood"])
            runs.append(_runs_for(r, no, code, start, end, flood_day + timedelta(days=5),
                                  f"抢修发电{n % 4 + 1}班"))
        if len(runs) >= 2:
            greedy = runs[-1]                        # fuel beyond the generator's rating
            greedy[6] = (Decimal(greedy[5]) * Decimal(greedy[10]) * Decimal("1.6")).quantize(
                Decimal("0.01"))
            copy = list(runs[-2])                    # the same run sent again, renumbered
            copy[0] = copy[0] + "-B"
            runs.append(copy)
    if not outages:
        return
    with tempfile.TemporaryDirectory() as tmp:
        for kind, header, rows, name in (("outages", OUTAGE_HEADER, outages, "停电"),
                                         ("generator_runs", RUN_HEADER, runs, "发电")):
            path = _write(Path(tmp) / f"{name}-{month:%Y-%m}.csv", header, rows)
            result = run_import(kind, path, user, reason="演示数据 demo data")
            if not result.stored:
                raise RuntimeError(f"demo {kind} did not import: "
                                   f"{[e.text() for e in result.errors[:3]]}")
    if flood:
        # the clerk bills the flood night two days later (the rest: the month close)
        first = datetime.combine(flood_day, time.min, tz)
        from towerledger.programs.generator.models import Run

        ids = Run.objects.filter(start__gte=first, start__lt=first + timedelta(days=2),
                                 outage__cause__startswith="暴雨").values_list("pk", flat=True)
        bill_runs(user, run_ids=list(ids), today=min(flood_day + timedelta(days=2), today))

