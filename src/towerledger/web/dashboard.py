"""The 月度分析 dashboard: KPI tiles, trend, ranking, ageing and disputes of the chosen month
(a closed one, or an open one with provisional figures as of today, analysis.live).

It reads the KPI snapshots (``analysis.Snapshot``: the close's, or the live ones of the open
months), never lines or bills: the province/city rows (or a city's city/county rows) of at
most 12 months — a few hundred rows — so it stays fast on a whole province."""

from datetime import date
from decimal import Decimal

from django.db.models import Q
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from towerledger.access.models import Role
from towerledger.analysis import live
from towerledger.analysis.kpi import AGE_BUCKETS, PRICE_BANDS, rates
from towerledger.analysis.models import Snapshot
from towerledger.web.context import EVERYONE
from towerledger.web.labels import AGE_LABELS, BAND_LABELS, rule_label
from towerledger.web.monthly import (
    BILL_SIDE,
    KPI,
    Scope,
    analysed_months,
    as_dec,
    as_pct,
    child_name,
    child_url,
    chosen_month,
    filter_fields,
    kpi_meta,
    query_with,
    scope_of,
)
from towerledger.web.tables import roles
from towerledger.web.views import code_label

TREND_MONTHS = 12
TREND_KPIS = ("payment_completion", "t0", "confirmation", "recovery", "arrears")
AGEING_HELP = gettext_lazy("Outstanding receivables at month end by days since push: "
                           "0–30, 31–60, 61–90, 91–180, 181–365, > 365.")


def _rows(scope: Scope, months: list[date]):
    """(top, children): top[month] = figures of the province (or the city); children[month]
    = [(key, figures)] of its cities (or counties). Province/city/county rows only."""
    qs = Snapshot.objects.filter(month__in=months, operator=scope.operator)
    if scope.city:
        qs = qs.filter(Q(level=Snapshot.Level.CITY, key=scope.city)
                       | Q(level=Snapshot.Level.COUNTY, parent=scope.city))
        top_level = Snapshot.Level.CITY
    else:
        qs = qs.filter(level__in=[Snapshot.Level.PROVINCE, Snapshot.Level.CITY])
        top_level = Snapshot.Level.PROVINCE
    top, children = {}, {m: [] for m in months}
    for month, level, key, figures in qs.values_list("month", "level", "key", "figures"):
        if level == top_level:
            top[month] = figures
        else:
            children[month].append((key, figures))
    for m in children:
        children[m].sort()
    return top, children


@roles(*EVERYONE)
def dashboard(request):
    scope = scope_of(request)
    months = analysed_months()
    month = chosen_month(request, months)
    ctx = {"title": _("Dashboard"), "scope": scope, "month": month,
           "provisional_as_of": live.provisional().get(month),
           "filters": filter_fields(request, scope, months, month),
           "can_close": scope.role == Role.PROVINCE_ADMIN,
           "sees_quality": scope.role != Role.OPERATOR}
    if month is None:
        return render(request, "web/dashboard.html", ctx)
    trend_months = [m for m in months if m <= month][-TREND_MONTHS:]
    top, children = _rows(scope, trend_months)
    f = top.get(month, {})
    prev = trend_months[-2] if len(trend_months) > 1 else None
    now_rates, prev_rates = rates(f), rates(top.get(prev, {})) if prev else {}
    metas = kpi_meta(scope)
    tiles = []
    for meta in metas:
        value, before = now_rates.get(meta["key"]), prev_rates.get(meta["key"])
        delta = None if value is None or before is None else round(float(value - before) * 100, 1)
        tiles.append({**meta, "value": as_pct(value), "delta": delta})
    kpi = request.GET.get("kpi") if request.GET.get("kpi") in {m["key"] for m in metas} \
        else "confirmation"
    kids = children.get(month, [])
    ranked = sorted(((k, rates(cf)) for k, cf in kids),
                    key=lambda kr: (kr[1][kpi] is None, -(kr[1][kpi] or 0)))
    rank = {"keys": [child_name(scope, k) for k, _r in ranked],
            "values": [as_pct(r[kpi]) for _k, r in ranked],
            "urls": [child_url(request, scope, k, month) for k, _r in ranked],
            "label": str(KPI[kpi][0])}
    trend = {"months": [f"{m:%Y-%m}" for m in trend_months],
             "series": [{"key": k, "name": str(KPI[k][0]),
                         "data": [as_pct(rates(top.get(m, {}))[k]) for m in trend_months]}
                        for k in TREND_KPIS if scope.bill_side or k not in BILL_SIDE]}
    by_outstanding = sorted(kids, key=lambda kf: -as_dec(kf[1].get("outstanding")))
    ageing = {"keys": [child_name(scope, k) for k, _f in by_outstanding],
              "urls": [child_url(request, scope, k, month) for k, _f in by_outstanding],
              "series": [{"name": AGE_LABELS[name],
                          "data": [float(as_dec(cf.get(name))) for _k, cf in by_outstanding]}
                         for _lo, _hi, name in AGE_BUCKETS]}
    disputes = {"keys": [child_name(scope, k) for k, _f in kids],
                "urls": [child_url(request, scope, k, month) for k, _f in kids],
                "open": [int(as_dec(cf.get("disputes_open"))) for _k, cf in kids],
                "overdue": [int(as_dec(cf.get("disputes_overdue"))) for _k, cf in kids],
                "months": trend["months"],
                "open_trend": [int(as_dec(top.get(m, {}).get("disputes_open")))
                               for m in trend_months],
                "overdue_trend": [int(as_dec(top.get(m, {}).get("disputes_overdue")))
                                  for m in trend_months]}
    charts = {"trend": trend, "rank": rank, "ageing": ageing, "disputes": disputes,
              "labels": {"yuan": _("yuan"), "open": _("Open disputes"),
                         "overdue": _("Overdue disputes"), "flags": _("Flags"),
                         "bills": _("Bills")}}
    if scope.bill_side:
        charts["prices"] = {"bands": [BAND_LABELS[b] for b in PRICE_BANDS], "series": [
            {"name": code_label(mode), "data": [int(as_dec(f.get(f"price_{mode}_{b}")))
                                                for b in PRICE_BANDS]}
            for mode in ("DIRECT", "RESUPPLY")]}
        flags = sorted(((k[6:], int(as_dec(v))) for k, v in f.items() if k.startswith("flags_")),
                       key=lambda kv: -kv[1])
        charts["flags"] = {"keys": [f"{rule_label(c)}" for c, _n in flags],
                           "codes": [c for c, _n in flags], "values": [n for _c, n in flags],
                           "url": reverse("flags")}
    table = [{"name": child_name(scope, k), "url": child_url(request, scope, k, month),
              "rates": [as_pct(r.get(m["key"])) for m in metas],
              "outstanding": as_dec(cf.get("outstanding")),
              "disputes_open": int(as_dec(cf.get("disputes_open"))),
              "disputes_overdue": int(as_dec(cf.get("disputes_overdue")))}
             for k, cf in kids for r in [rates(cf)]]
    ctx.update({
        "tiles": tiles, "kpi": kpi, "keep": [("kpi", kpi)], "kpi_choices": metas, "charts": charts, "table": table,
        "metas": metas, "outstanding": as_dec(f.get("outstanding")),
        "pushed": as_dec(f.get("chains_amount")),
        "disputes_open": int(as_dec(f.get("disputes_open"))),
        "disputes_overdue": int(as_dec(f.get("disputes_overdue"))),
        "over90": sum((as_dec(f.get(n)) for lo, _hi, n in AGE_BUCKETS if lo > 90), Decimal(0)),
        "ageing_help": str(AGEING_HELP), "has_data": bool(f),
        "child_label": _("County") if scope.city else _("City"),
        "scope_name": scope.city or _("Whole province"),
        "operator_name": code_label(scope.operator) if scope.operator != "*"
        else _("All operators"),
        "rank_query": query_with(request, kpi=None),
        "province_url": reverse("dashboard") + "?" + query_with(request, city=None, kpi=None)
        if scope.city and not scope.fixed_city else "",
        "report_query": urlencode({k: v for k, v in (
            ("month", f"{month:%Y-%m}"), ("city", "" if scope.fixed_city else scope.city),
            ("operator", "" if scope.operator == "*" or scope.fixed_operator
             else scope.operator)) if v}),
    })
    return render(request, "web/dashboard.html", ctx)
