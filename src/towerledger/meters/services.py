"""The ledger's side of the meter analytics: a month's run (``towerledger analytics run``).

1. The inputs the job needs from the ledger — the month's metered bills, the sites their
   accounts feed, tenancy starts, remediated sites (``SAVINGS_SOURCES``) — go to Parquet in
   ``DATA_DIR/meters_runs/YYYY-MM/`` beside the readings of the store.
2. ``analyse`` runs ``job.STEPS`` on the engine (DuckDB here, Spark on request) and writes the
   month's daily figures to the daily store (the next months' baselines read them).
3. The ledger keeps the aggregates, set-wise: whole smart-meter days into ``bills.MeterDay``
   (what BENCH_SMART reads), per site and month ``SiteMonth``, per bill ``TheftScore``, per
   remediated site ``Saving``.
4. The scored bills are audited again through ``bills.audit`` so THEFT_SUSPECT (checks.py)
   and BENCH_SMART land in the audit queue as ordinary flags (a theft case opens from one).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction

from towerledger.bills import audit
from towerledger.bills.models import Bill, MeterDay
from towerledger.db.bulk import OneOf, copy_insert, parts, upsert
from towerledger.meters import analyse as an
from towerledger.meters import job, store
from towerledger.meters.engines import Engine
from towerledger.meters.engines import engine as make_engine
from towerledger.meters.models import Saving, SiteMonth, TheftScore
from towerledger.sites.models import AccountSite, Site, Tenancy

FEN = Decimal("0.01")
# Remediated sites whose savings the job measures; a program registers a callable from its
# ready(): ``source(month: date) -> [{"site_code", "detected_on", "remediated_on",
# "unit_price"}]`` (the theft cases: remediated cases of the last 12 months).
SAVINGS_SOURCES: list[Callable[[date], list[dict]]] = []
LEDGER_STEPS = ("inputs", "meter_days", "site_months", "scores", "savings", "audit")
TOTAL_STEPS = len(job.STEPS) + len(LEDGER_STEPS)


@dataclass
class RunResult:
    month: date
    engine: str
    meter_days: int = 0
    site_months: int = 0
    bills_scored: int = 0
    scored: set[int] = field(default_factory=set)
    suspects: list[int] = field(default_factory=list)
    savings: int = 0
    flags: int = 0


def _q(value, places=FEN):
    return None if value is None else Decimal(value).quantize(places)


def _thresholds() -> dict:
    rules = audit.configured_rules(None)
    theft, dc = rules["THEFT_SUSPECT"].thresholds, rules["BENCH_DC"].thresholds
    return {"voltage": theft["voltage"], "hours": theft["hours"], "pue": theft["pue"],
            "smart_over_pct": theft["over_pct"], "step_over_pct": theft["over_pct"],
            "dc_over_pct": dc["over_pct"]}


def _bill_inputs(params: job.Params) -> tuple[list[dict], list[dict], dict[int, int]]:
    bills = list(Bill.objects.filter(period_end__gte=params.month_start,
                                     period_end__lte=params.month_end, kwh__isnull=False,
                                     kwh__gt=0).exclude(status=Bill.Status.VOID)
                 .values("pk", "account_id", "period_start", "period_end", "kwh"))
    sites: dict[int, list[str]] = {}
    for part in parts({b["account_id"] for b in bills}):
        for account, code in AccountSite.objects.filter(OneOf("account_id", part)) \
                .values_list("account_id", "site__site_code"):
            sites.setdefault(account, []).append(code)
    rows, links, account_of = [], [], {}
    for b in bills:
        fed = sorted(set(sites.get(b["account_id"], ())))
        if not fed:
            continue
        rows.append({"bill_id": b["pk"], "period_start": b["period_start"],
                     "period_end": b["period_end"],
                     "days": (b["period_end"] - b["period_start"]).days + 1, "kwh": b["kwh"],
                     "baseline_start": an.months_back(b["period_start"], 3),
                     "n_sites": len(fed)})
        links += [{"bill_id": b["pk"], "site_code": c} for c in fed]
        account_of[b["pk"]] = b["account_id"]
    return rows, links, account_of


def _remediations(month: date, given) -> list[dict]:
    items = list(given or [])
    for source in SAVINGS_SOURCES:
        items += source(month)
    latest = {}
    for r in items:   # one measurement per site: its latest remediation
        if r["remediated_on"] <= an.month_bounds(month)[1]:
            if r["site_code"] not in latest or \
                    r["remediated_on"] > latest[r["site_code"]]["remediated_on"]:
                latest[r["site_code"]] = r
    return [{**r, "baseline_start": an.months_back(r["detected_on"], 3),
             "unit_price": Decimal(r["unit_price"])} for r in latest.values()]


def run_month(month: date, engine: "str | Engine" = "duckdb", remediations=None, session=None,
              progress: Callable[[str], None] | None = None, audit_bills: bool = True
              ) -> RunResult:
    """Analyse one month of readings and keep its figures in the ledger (idempotent: a rerun
    overwrites the month's figures; resolved flags stay resolved)."""
    params = an.params_for(month, **_thresholds())
    tick = progress or (lambda _name: None)
    runs = store.runs_root()
    shared = f"{runs.rstrip('/')}/{params.month_start:%Y-%m}"
    work = Path(settings.DATA_DIR) / "meters_runs" / f"{params.month_start:%Y-%m}" \
        if store.is_local(runs) else Path(settings.DATA_DIR) / "meters_work"
    bills, links, account_of = _bill_inputs(params)
    codes = sorted({link["site_code"] for link in links})
    starts = [{"site_code": c, "start_date": d} for part in parts(codes) for c, d in
              Tenancy.objects.filter(OneOf("site__site_code", part))
              .values_list("site__site_code", "start_date")]
    rem = _remediations(params.month_start, remediations)
    first = min([params.baseline_start, *(b["baseline_start"] for b in bills),
                 *(r["baseline_start"] for r in rem)])
    inputs = {"readings": store.month_files(store.readings_root(), params.month_start),
              "history": an.history_files(params.month_start, first),
              "bills": [an.write_input(shared, "bills", bills)],
              "bill_sites": [an.write_input(shared, "bill_sites", links)],
              "tenancy_starts": [an.write_input(shared, "tenancy_starts", starts)],
              "remediations": [an.write_input(shared, "remediations", rem)]}
    tick("inputs")
    if isinstance(engine, Engine):   # an engine made by the caller (its own settings)
        eng, engine = engine, engine.name
    else:
        kw = {"session": session} if engine == "spark" and session is not None else {}
        eng = make_engine(engine, **kw)
    result = RunResult(params.month_start, engine)
    try:
        out = an.analyse(eng, params, inputs, work,
                         daily_out=store.month_dir(store.daily_root(), params.month_start),
                         progress=tick)
        site_ids = dict(Site.objects.values_list("site_code", "pk"))
        with transaction.atomic():
            result.meter_days = _meter_days(eng, params, site_ids)
            tick("meter_days")
            result.site_months = _site_months(out.site_month, params, site_ids)
            tick("site_months")
            result.scored, result.suspects = _scores(out.theft, params, engine)
            result.bills_scored = len(result.scored)
            tick("scores")
            result.savings = _savings(out.savings, params, rem, site_ids)
            tick("savings")
    finally:
        eng.close()
    scored = [pk for pk in account_of if pk in result.scored]
    if audit_bills and scored:
        result.flags = audit.audit_bills(scored)
    tick("audit")
    return result


def _meter_days(eng, params: job.Params, site_ids: dict) -> int:
    """Whole smart-meter days (24 hours with kWh) into MeterDay: COPY when the month is new
    to the ledger, else an upsert by (site, date)."""
    fresh = not MeterDay.objects.filter(date__gte=params.month_start,
                                        date__lte=params.month_end).exists()
    n = 0
    for batch in eng.batches("daily", 50_000):
        rows = []
        for r in batch:
            site = site_ids.get(r["site_code"])
            if site is None or r["kwh"] is None or r["kwh_hours"] < 24:
                continue
            dc = (Decimal(r["dc_sum"]) / r["dc_hours"]).quantize(FEN) if r["dc_hours"] else None
            rows.append({"site_id": site, "date": r["read_date"], "kwh": _q(r["kwh"]),
                         "dc_current_a": dc})
        if fresh:
            copy_insert(MeterDay, rows)
        else:
            upsert(MeterDay, rows, key=("site_id", "date"), fields=("kwh", "dc_current_a"))
        n += len(rows)
    return n


def _site_months(rows, params, site_ids) -> int:
    out = [{"site_id": site_ids[r["site_code"]], "month": params.month_start,
            "kwh": _q(r["kwh"]), "kwh_days": r["kwh_days"],
            "kwh_per_day": _q(r["kwh_per_day"]), "dc_current_a": _q(r["dc_current_a"]),
            "dc_benchmark_kwh": _q(r["dc_benchmark_kwh"]),
            "baseline_per_day": _q(r["baseline_per_day"])}
           for r in rows if r["site_code"] in site_ids]
    upsert(SiteMonth, out, key=("site_id", "month"),
           fields=("kwh", "kwh_days", "kwh_per_day", "dc_current_a", "dc_benchmark_kwh",
                   "baseline_per_day"))
    return len(out)


def signals(r: dict) -> dict:
    """Which signals fired (smart meter, DC load, step up) and the ratios behind them."""
    ratio = lambda v: None if v is None else str(v)  # noqa: E731
    return {"smart": bool(r["smart_hit"]), "dc": bool(r["dc_hit"]), "step": bool(r["step_hit"]),
            "smart_ratio": ratio(r["smart_ratio"]), "dc_ratio": ratio(r["dc_ratio"]),
            "step_ratio": ratio(r["step_ratio"])}


def _scores(rows, params, engine) -> tuple[set[int], list[int]]:
    out = []
    for r in rows:
        if not r["score_den"]:
            continue   # no reading covers the bill: nothing to say about it
        score = (Decimal(r["score_num"]) / r["score_den"]).quantize(FEN)
        out.append({"bill_id": r["bill_id"], "month": params.month_start, "score": score,
                    "suspect": bool(r["suspect"]), "bill_kwh": _q(r["bill_kwh"]),
                    "smart_kwh": _q(r["smart_kwh"]),
                    "dc_benchmark_kwh": _q(r["dc_benchmark_kwh"]),
                    "baseline_per_day": _q(r["baseline_per_day"]),
                    "actual_per_day": _q(r["actual_per_day"]),
                    "new_tenancy": bool(r["new_tenancy"]), "signals": signals(r),
                    "engine": engine})
    upsert(TheftScore, out, key=("bill_id",),
           fields=("month", "score", "suspect", "bill_kwh", "smart_kwh", "dc_benchmark_kwh",
                   "baseline_per_day", "actual_per_day", "new_tenancy", "signals", "engine"))
    return {r["bill_id"] for r in out}, sorted(r["bill_id"] for r in out if r["suspect"])


def _savings(rows, params, rem, site_ids) -> int:
    dates = {r["site_code"]: r for r in rem}
    out = []
    for r in rows:
        if r["site_code"] not in site_ids:
            continue
        kwh = _q(r["saving_kwh"])
        price = Decimal(r["unit_price"]).quantize(Decimal("0.0001"))
        out.append({"site_id": site_ids[r["site_code"]], "month": params.month_start,
                    "detected_on": dates[r["site_code"]]["detected_on"],
                    "remediated_on": dates[r["site_code"]]["remediated_on"],
                    "baseline_per_day": _q(r["baseline_per_day"]),
                    "actual_per_day": _q(r["actual_per_day"]), "days": r["days"],
                    "kwh": kwh, "unit_price": price, "amount": (kwh * price).quantize(FEN)})
    upsert(Saving, out, key=("site_id", "month"),
           fields=("detected_on", "remediated_on", "baseline_per_day", "actual_per_day",
                   "days", "kwh", "unit_price", "amount"))
    return len(out)
