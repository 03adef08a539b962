"""Resource data quality in the synthetic province (hooks: see synth.programs).

* ``begin``: about one site in twenty-five arrives without its coordinates (a city's old
  ledger), imported like the rest;
* ``month``: each month the cities fix a third of what is left (the sites import with the
  coordinates filled in), so the closes' scorecards trend down;
* ``end``: a few fresh problems to fix on the live scorecard: an operator's second,
  overlapping tenancy on a site, and an account keyed twice in another case (``a-…``
  beside ``A-…``).

Its own random stream, so the other programs' demo data does not change with it.
"""

import csv
import random
import tempfile
from pathlib import Path

SITE_FIELDS = ("site_code", "site_name", "province", "city", "county", "site_type",
               "host_site_code", "status", "decommission_date", "longitude", "latitude")
SITE_COLUMNS = ("site_code", "site_name", "county__city__province__name", "county__city__name",
                "county__name", "site_type", "host_site__site_code", "status",
                "decommission_date", "longitude", "latitude")


def _import(kind, name, header, rows, user, reason):
    from towerledger.exchange.services import run_import

    path = Path(tempfile.mkdtemp(prefix="quality-demo-")) / name
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(["" if v is None else v for v in row] for row in rows)
    result = run_import(kind, path, user, reason=reason)
    if not result.stored:
        raise RuntimeError(f"demo {kind} did not import: {result.errors[:3]}")


def _sites(codes):
    from towerledger.sites.models import Site

    return [list(r) for r in Site.objects.filter(site_code__in=codes).order_by("site_code")
            .values_list(*SITE_COLUMNS)]


def begin(user, rng, first_month, today):
    from towerledger.sites.models import Site

    r = random.Random("quality-begin")
    codes = [c for c in Site.objects.filter(status="ACTIVE", longitude__isnull=False)
             .order_by("site_code").values_list("site_code", flat=True) if r.random() < 0.04]
    rows = _sites(codes)
    for row in rows:
        row[-2:] = ["", ""]
    if rows:
        _import("sites", "站址-缺经纬度.csv", SITE_FIELDS, rows, user,
                "演示：历史台账缺经纬度 demo: legacy sites without coordinates")


def month(user, rng, month, today):
    from towerledger.sites.models import Site

    r = random.Random(f"quality-{month:%Y%m}")
    missing = list(Site.objects.filter(longitude__isnull=True, status="ACTIVE")
                   .order_by("site_code").values_list("site_code", flat=True))
    fix = missing[: len(missing) // 3]
    rows = _sites(fix)
    for row in rows:
        row[-2:] = [f"{r.uniform(110.5, 116.5):.6f}", f"{r.uniform(31.5, 36.3):.6f}"]
    if rows:
        _import("sites", f"站址-补经纬度-{month:%Y%m}.csv", SITE_FIELDS, rows, user,
                "演示：地市补录经纬度 demo: cities fill in coordinates")


def end(user, rng, today):
    from towerledger.sites.imports import ACCOUNT_FIELDS
    from towerledger.sites.models import AccountSite, Tenancy

    r = random.Random("quality-end")
    open_ = list(Tenancy.objects.filter(end_date__isnull=True, site__status="ACTIVE")
                 .order_by("tenancy_id").values_list(
                     "tenancy_id", "site__site_code", "operator__code", "settlement_mode",
                     "rated_power_w", "dc_current_a")[:400])
    rows = []
    for tid, site, op, mode, rated, dc in r.sample(open_, min(2, len(open_))):
        rows.append([f"{tid}-DUP", site, op, today.replace(day=1).isoformat(), "",
                     "RESALE" if mode == "LUMP_SUM" else mode, "", rated, dc])
    if rows:
        _import("tenancies", "租户服务-重复订单.csv",
                ["tenancy_id", "site_code", "operator", "start_date", "end_date",
                 "settlement_mode", "lump_sum_monthly", "rated_power_w", "dc_current_a"],
                rows, user, "演示：重复录入的订单 demo: a tenancy keyed twice")
    split = (AccountSite.objects.filter(split_ratio=100, account__account_no__regex=r"[A-Z]")
             .order_by("account__account_no").values_list(
                 "account__account_no", *[f"account__{f}" for f in ACCOUNT_FIELDS],
                 "site__site_code").first())
    if split:
        _import("accounts", "电表户号-重复.csv",
                ["account_no", *ACCOUNT_FIELDS, "site_code", "split_ratio"],
                [[split[0].lower(), *split[1:], "100"]], user,
                "演示：同一户号大小写不同重复录入 demo: an account keyed twice")
