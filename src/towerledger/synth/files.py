"""Write a synthetic province as import files (DOMAIN.md §8 names), streamed row by row.

Master data goes to sites.csv, tenancies.csv, rules.csv and accounts.csv (this one as GBK
with Chinese headers, the way Chinese Excel saves it, so that path is always exercised);
each month to bills-YYYY-MM.csv, submeter-YYYY-MM.csv and smartmeter-YYYY-MM.csv; the
injected anomalies to truth.csv.
"""

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from towerledger.synth.province import PROVINCE, Province, build, month_add
from towerledger.synth.usage import Generator

MASTER = ("sites", "tenancies", "rules", "accounts")  # import order
MONTHLY = ("submeter", "smartmeter", "bills")
BILL_FIELDS = ("bill_no", "account_no", "period_start", "period_end", "start_reading",
               "end_reading", "multiplier", "loss_kwh", "kwh", "unit_price", "amount",
               "input_tax", "invoice_type", "paid_date", "payment_ref")
ACCOUNT_HEADERS_ZH = ("电表户号", "供电方式", "供电方类型", "供电方名称", "票据类型", "合同单价",
                      "单价上限", "缴费周期", "倍率", "是否包干", "站址编码", "分摊比例")


@dataclass
class Written:
    out: Path
    master: dict[str, Path] = field(default_factory=dict)
    months: list[dict[str, Path]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    truth: Path | None = None


def _writer(path: Path, header, encoding="utf-8"):
    f = path.open("w", encoding=encoding, newline="")
    w = csv.writer(f)
    w.writerow(header)
    return f, w


def _cell(v):
    return "" if v is None else v


def generate(out: Path, sites: int, months: int, seed: int, today: date,
             first_month: date | None = None, smart_months: int = 3,
             anomaly_rate: float = 0.006, progress=None) -> Written:
    """Build the province and write every file under ``out``; returns what was written."""
    out.mkdir(parents=True, exist_ok=True)
    first_month = first_month or month_add(date(today.year, today.month, 1), -months)
    province = build(sites, months, seed, first_month)
    result = Written(out)
    for kind in MASTER:
        result.master[kind] = out / f"{kind}.csv"
        result.counts[kind] = globals()[f"_write_{kind}"](province, result.master[kind])
    gen = Generator(province, seed, today, anomaly_rate)
    gen.smart_from = month_add(first_month, max(0, months - smart_months))
    for month in gen.months():
        result.months.append(_write_month(out, month, result.counts))
        if progress:
            progress(month.start)
    result.truth = out / "truth.csv"
    f, w = _writer(result.truth, ("account_no", "bill_no", "kind", "expected_codes"))
    with f:
        w.writerows(gen.truth)
    result.counts["truth"] = len(gen.truth)
    return result


def _write_sites(p: Province, path: Path) -> int:
    f, w = _writer(path, ("site_code", "site_name", "province", "city", "county", "site_type",
                          "host_site_code", "status", "decommission_date", "longitude",
                          "latitude"))
    with f:
        for s in p.sites:
            w.writerow((s.code, s.name, PROVINCE, s.city, s.county, s.type, _cell(s.host),
                        "DECOMMISSIONED" if s.decommissioned else "ACTIVE",
                        _cell(s.decommissioned), s.lon, s.lat))
    return len(p.sites)


def _write_tenancies(p: Province, path: Path) -> int:
    f, w = _writer(path, ("tenancy_id", "site_code", "operator", "start_date", "end_date",
                          "settlement_mode", "lump_sum_monthly", "rated_power_w",
                          "dc_current_a", "agreed_ratio"))
    n = 0
    with f:
        for s in p.sites:
            for t in s.tenancies:
                w.writerow((t.tenancy_id, s.code, t.operator, t.start, _cell(t.end), t.mode,
                            _cell(t.lump), t.rated_w, t.dc_a, _cell(t.ratio)))
                n += 1
    return n


def _write_rules(p: Province, path: Path) -> int:
    f, w = _writer(path, ("site_code", "effective_from", "method", "fallback_method",
                          "common_policy", "tower_share"))
    with f:
        for s in p.sites:
            w.writerow((s.code, "2018-01-01", s.method, "EQUAL", "PRO_RATA", s.tower_share))
    return len(p.sites)


def _write_accounts(p: Province, path: Path) -> int:
    f, w = _writer(path, ACCOUNT_HEADERS_ZH, encoding="gb18030")
    n = 0
    with f:
        for a in p.accounts:
            for code, ratio in a.splits:
                w.writerow((a.account_no, a.mode, a.supplier_type, a.supplier, a.invoice,
                            a.price, _cell(a.cap), a.cycle, a.multiplier,
                            "是" if a.lump else "否", code, ratio))
                n += 1
    return n


def _write_month(out: Path, month, counts) -> dict[str, Path]:
    tag = f"{month.start:%Y-%m}"
    paths = {}
    for kind, header, rows in (
        ("bills", BILL_FIELDS, [[_cell(b[k]) for k in BILL_FIELDS] for b in month.bills]),
        ("submeter", ("site_code", "operator", "period_start", "period_end", "kwh"),
         month.submeter),
        ("smartmeter", ("site_code", "date", "kwh", "dc_current_a", "dc_voltage"), month.smart),
    ):
        if not rows:
            continue
        paths[kind] = out / f"{kind}-{tag}.csv"
        f, w = _writer(paths[kind], header)
        with f:
            w.writerows(rows)
        counts[kind] = counts.get(kind, 0) + len(rows)
    return paths
