"""月度分析 pages: the dashboard, the reports and the month close (DOMAIN §6).

Everything here reads the KPI snapshots the month's close writes (``analysis.Snapshot``),
never lines or bills: the dashboard reads the province/city rows (or a city's city/county
rows) of at most 12 closed months — a few hundred rows — so it stays fast on a whole
province. Scope follows the user's role:

* province admin and viewer: the province and its cities (or any city they pick), any
  operator or all;
* city clerk: their city and its counties;
* operator user: their operator's rows only (and their city's, when their profile has one).
  Bill-side figures (payment completion, unit prices, audit flags, tower-borne cost) are
  kept in the all-operator rows only, so operator users never see them.
"""

import threading
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count, Min, Q, Sum
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tasks import task

from towerledger.access.models import Role
from towerledger.access.scope import profile_of, role_of, scoped
from towerledger.analysis import live
from towerledger.analysis.close import STEPS, CloseError, close_month
from towerledger.analysis.kpi import AGE_BUCKETS, PRICE_BANDS, rates
from towerledger.analysis.models import MonthClose, Snapshot
from towerledger.domain.audits import RULE_LABELS
from towerledger.domain.months import month_end, next_month
from towerledger.exchange.export import download
from towerledger.exchange.models import ImportJob
from towerledger.org.models import City, County
from towerledger.settlement.models import Line, line_state
from towerledger.web import params
from towerledger.web.context import STAFF
from towerledger.web.tables import roles
from towerledger.web.views import code_label

OPERATORS = ("CMCC", "CUCC", "CTCC", "CBN", "OTHER")
EVERYONE = (*STAFF, Role.OPERATOR)
TREND_MONTHS = 12
CLOSE_KIND = "close"          # ImportJob.kind of a month close run from the web

# The KPIs, their labels and formulas (docs/user-guide.md, "KPI formulas").
KPIS = (
    ("payment_completion", gettext_lazy("Payment completion rate"), gettext_lazy(
        "Accounts with a bill expected in the month (by payment cycle) that have a paid "
        "bill ÷ accounts with a bill expected.")),
    ("t0", gettext_lazy("T+0 rate"), gettext_lazy(
        "Lines pushed on their bill's paid date ÷ lines pushed.")),
    ("confirmation", gettext_lazy("Confirmation rate"), gettext_lazy(
        "Amount confirmed (deemed included) ÷ amount pushed, for lines pushed in the month, "
        "as of the report date.")),
    ("recovery", gettext_lazy("Recovery rate"), gettext_lazy(
        "Amount written off ÷ receivable, for lines pushed in the month.")),
    ("receipt_write_off", gettext_lazy("Receipt write-off rate"), gettext_lazy(
        "Receipts applied ÷ receipts received.")),
    ("arrears", gettext_lazy("Arrears rate"), gettext_lazy(
        "Receivable outstanding at month end ÷ receivable pushed in that month (a stock over "
        "a flow: above 100 % when more than a month is outstanding).")),
    ("same_year_clearing", gettext_lazy("Same-year clearing rate"), gettext_lazy(
        "Advances of year Y recovered by 31 Dec Y ÷ recoverable advances of year Y.")),
)
KPI = {k: (label, formula) for k, label, formula in KPIS}
TREND_KPIS = ("payment_completion", "t0", "confirmation", "recovery", "arrears")
BILL_SIDE = ("payment_completion",)       # in the all-operator rows only
AGEING_HELP = gettext_lazy("Outstanding receivables at month end by days since push: "
                           "0–30, 31–60, 61–90, 91–180, 181–365, > 365.")
AGE_LABELS = {"age_0_30": "0–30", "age_31_60": "31–60", "age_61_90": "61–90",
              "age_91_180": "91–180", "age_181_365": "181–365", "age_gt_365": "> 365"}
BAND_LABELS = {"lt_1_0": "< 1.0", "1_0_to_1_3": "1.0–1.3", "gt_1_3": "> 1.3"}
TOWER_REASONS = {   # domain.allocation's causes of a tower-borne cost
    "vacant": ("无租户在网", "no tenancy active"),
    "own_load": ("铁塔自用负荷", "tower's own load"),
    "common": ("公共负荷铁塔承担", "common load borne by the tower"),
    "zero_weight": ("权重全为零", "all weights zero"),
    "lump_sum": ("包干租户计量份额", "lump-sum tenancies' metered share"),
    "other": ("其他", "other"),
}


def _zh() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


def rule_label(code: str) -> str:
    zh, en = RULE_LABELS.get(code, (code, code))
    return zh if _zh() else en


def reason_label(reason: str) -> str:
    zh, en = TOWER_REASONS.get(reason, (reason, reason))
    return zh if _zh() else en


def _dec(x) -> Decimal:
    return Decimal(str(x or 0))


def _money(x) -> Decimal:
    return _dec(x).quantize(Decimal("0.01"))


def _pct(x) -> float | None:
    return None if x is None else round(float(x) * 100, 1)


def _month_arg(text) -> date | None:
    """A month from a form or a job's name; None when it is not one (web.params)."""
    try:
        return params.parse_month(text or "")
    except params.BadParameter:
        return None


# ---- scope --------------------------------------------------------------------------------

@dataclass
class Scope:
    role: str
    operator: str            # "*" or an operator code
    city: str | None         # a city's name, or None for the province
    fixed_operator: bool     # an operator user: cannot choose another
    fixed_city: bool         # a city clerk (or an operator user of one city)

    @property
    def staff(self) -> bool:
        return self.role in STAFF

    @property
    def bill_side(self) -> bool:
        """Bill-side figures (prices, flags, tower-borne cost) exist for all operators only."""
        return self.operator == "*"


def scope_of(request) -> Scope:
    user, role = request.user, role_of(request.user)
    profile = profile_of(user)
    city_name = profile.city.name if profile and profile.city_id else None
    if role == Role.OPERATOR:   # a province-wide operator user may pick a city
        return Scope(role, profile.operator.code, city_name or _city_arg(request), True,
                     bool(city_name))
    if role == Role.CITY_CLERK:
        return Scope(role, _operator_arg(request), city_name, False, True)
    return Scope(role, _operator_arg(request), _city_arg(request), False, False)


def _city_arg(request) -> str | None:
    city = params.text(request.GET, "city") or None
    if city and not City.objects.filter(name=city).exists():
        city = None
    return city


def _operator_arg(request) -> str:
    op = request.GET.get("operator", "")
    return op if op in OPERATORS else "*"


def closed_months() -> list[date]:
    return list(MonthClose.objects.filter(status=MonthClose.Status.CLOSED)
                .order_by("month").values_list("month", flat=True))


def analysed_months() -> list[date]:
    """The months the dashboard can show: every closed month, then the open months with
    live (provisional) figures."""
    return sorted(set(closed_months()) | set(live.provisional()))


def latest_closed_label() -> str:
    """The home page's tile: the latest month the dashboard shows, marked when provisional
    (led by a word joiner so the tile's thousands separator leaves "2025-05" alone)."""
    months = analysed_months()
    if not months:
        return "—"
    m = months[-1]
    mark = f" {_('provisional')}" if m in live.provisional() else ""
    return f"\u2060{m:%Y-%m}{mark}"


def chosen_month(request, months: list[date]) -> date | None:
    m = params.month(request.GET)     # malformed: 400; a month not closed: the latest
    if m in months:
        return m
    return months[-1] if months else None


def _filters(request, scope: Scope, months, month, extra=()):
    """Month, city and operator selectors (only those the user may change)."""
    out = [{"name": "month", "label": _("Month"), "value": f"{month:%Y-%m}" if month else "",
            "choices": [(f"{m:%Y-%m}", f"{m:%Y-%m}") for m in reversed(months)],
            "required": True}]
    if not scope.fixed_city:
        out.append({"name": "city", "label": _("City"), "value": scope.city or "",
                    "choices": [(n, n) for n in City.objects.order_by("name")
                                .values_list("name", flat=True)],
                    "all": _("Whole province")})
    if not scope.fixed_operator:
        out.append({"name": "operator", "label": _("Operator"),
                    "value": "" if scope.operator == "*" else scope.operator,
                    "choices": [(c, code_label(c)) for c in OPERATORS],
                    "all": _("All operators")})
    out.extend(extra)
    return out


def _query(request, **changes) -> str:
    params = {k: v for k, v in request.GET.items() if v}
    params.update(changes)
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


# ---- reading the snapshots ----------------------------------------------------------------

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


def child_name(scope: Scope, key: str) -> str:
    """A county's key is "city/county": show the county."""
    return key.split("/", 1)[1] if scope.city and "/" in key else key


def child_url(request, scope: Scope, key: str, month: date) -> str:
    """Click-through: a city → its counties; a county → its sites (from the snapshots)."""
    if not scope.city:
        return reverse("dashboard") + "?" + _query(request, city=key, kpi=None)
    return reverse("report", args=["sites"]) + "?" + urlencode(
        {k: v for k, v in (("month", f"{month:%Y-%m}"), ("city", scope.city),
                           ("county", child_name(scope, key)),
                           ("operator", "" if scope.operator == "*" else scope.operator))
         if v})


def kpi_meta(scope: Scope):
    return [{"key": k, "label": str(label), "formula": str(formula)} for k, label, formula in KPIS
            if scope.bill_side or k not in BILL_SIDE]


@roles(*EVERYONE)
def dashboard(request):
    scope = scope_of(request)
    months = analysed_months()
    month = chosen_month(request, months)
    ctx = {"title": _("Dashboard"), "scope": scope, "month": month,
           "provisional_as_of": live.provisional().get(month),
           "filters": _filters(request, scope, months, month),
           "can_close": scope.role == Role.PROVINCE_ADMIN}
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
        tiles.append({**meta, "value": _pct(value), "delta": delta})
    kpi = request.GET.get("kpi") if request.GET.get("kpi") in {m["key"] for m in metas} \
        else "confirmation"
    kids = children.get(month, [])
    ranked = sorted(((k, rates(cf)) for k, cf in kids),
                    key=lambda kr: (kr[1][kpi] is None, -(kr[1][kpi] or 0)))
    rank = {"keys": [child_name(scope, k) for k, _r in ranked],
            "values": [_pct(r[kpi]) for _k, r in ranked],
            "urls": [child_url(request, scope, k, month) for k, _r in ranked],
            "label": str(KPI[kpi][0])}
    trend = {"months": [f"{m:%Y-%m}" for m in trend_months],
             "series": [{"key": k, "name": str(KPI[k][0]),
                         "data": [_pct(rates(top.get(m, {}))[k]) for m in trend_months]}
                        for k in TREND_KPIS if scope.bill_side or k not in BILL_SIDE]}
    by_outstanding = sorted(kids, key=lambda kf: -_dec(kf[1].get("outstanding")))
    ageing = {"keys": [child_name(scope, k) for k, _f in by_outstanding],
              "urls": [child_url(request, scope, k, month) for k, _f in by_outstanding],
              "series": [{"name": AGE_LABELS[name],
                          "data": [float(_dec(cf.get(name))) for _k, cf in by_outstanding]}
                         for _lo, _hi, name in AGE_BUCKETS]}
    disputes = {"keys": [child_name(scope, k) for k, _f in kids],
                "urls": [child_url(request, scope, k, month) for k, _f in kids],
                "open": [int(_dec(cf.get("disputes_open"))) for _k, cf in kids],
                "overdue": [int(_dec(cf.get("disputes_overdue"))) for _k, cf in kids],
                "months": trend["months"],
                "open_trend": [int(_dec(top.get(m, {}).get("disputes_open")))
                               for m in trend_months],
                "overdue_trend": [int(_dec(top.get(m, {}).get("disputes_overdue")))
                                  for m in trend_months]}
    charts = {"trend": trend, "rank": rank, "ageing": ageing, "disputes": disputes,
              "labels": {"yuan": _("yuan"), "open": _("Open disputes"),
                         "overdue": _("Overdue disputes"), "flags": _("Flags"),
                         "bills": _("Bills")}}
    if scope.bill_side:
        charts["prices"] = {"bands": [BAND_LABELS[b] for b in PRICE_BANDS], "series": [
            {"name": code_label(mode), "data": [int(_dec(f.get(f"price_{mode}_{b}")))
                                                for b in PRICE_BANDS]}
            for mode in ("DIRECT", "RESUPPLY")]}
        flags = sorted(((k[6:], int(_dec(v))) for k, v in f.items() if k.startswith("flags_")),
                       key=lambda kv: -kv[1])
        charts["flags"] = {"keys": [f"{rule_label(c)}" for c, _n in flags],
                           "codes": [c for c, _n in flags], "values": [n for _c, n in flags],
                           "url": reverse("flags")}
    table = [{"name": child_name(scope, k), "url": child_url(request, scope, k, month),
              "rates": [_pct(r.get(m["key"])) for m in metas],
              "outstanding": _dec(cf.get("outstanding")),
              "disputes_open": int(_dec(cf.get("disputes_open"))),
              "disputes_overdue": int(_dec(cf.get("disputes_overdue")))}
             for k, cf in kids for r in [rates(cf)]]
    ctx.update({
        "tiles": tiles, "kpi": kpi, "keep": [("kpi", kpi)], "kpi_choices": metas, "charts": charts, "table": table,
        "metas": metas, "outstanding": _dec(f.get("outstanding")),
        "pushed": _dec(f.get("chains_amount")),
        "disputes_open": int(_dec(f.get("disputes_open"))),
        "disputes_overdue": int(_dec(f.get("disputes_overdue"))),
        "over90": sum((_dec(f.get(n)) for lo, _hi, n in AGE_BUCKETS if lo > 90), Decimal(0)),
        "ageing_help": str(AGEING_HELP), "has_data": bool(f),
        "child_label": _("County") if scope.city else _("City"),
        "scope_name": scope.city or _("Whole province"),
        "operator_name": code_label(scope.operator) if scope.operator != "*"
        else _("All operators"),
        "rank_query": _query(request, kpi=None),
        "province_url": reverse("dashboard") + "?" + _query(request, city=None, kpi=None)
        if scope.city and not scope.fixed_city else "",
        "report_query": urlencode({k: v for k, v in (
            ("month", f"{month:%Y-%m}"), ("city", "" if scope.fixed_city else scope.city),
            ("operator", "" if scope.operator == "*" or scope.fixed_operator
             else scope.operator)) if v}),
    })
    return render(request, "web/dashboard.html", ctx)


# ---- reports ------------------------------------------------------------------------------

REPORTS = (("kpi", gettext_lazy("KPI table"), EVERYONE),
           ("sites", gettext_lazy("Site ledger (month)"), STAFF),
           ("mysites", gettext_lazy("My sites (month)"), (Role.OPERATOR,)),
           ("tower", gettext_lazy("Tower-borne cost"), STAFF),
           ("prices", gettext_lazy("Unit-price bands"), STAFF))
SITE_COLUMNS = (("paid_amount", gettext_lazy("Paid")),
                ("chains_amount", gettext_lazy("Allocated and pushed")),
                ("confirmed_amount", gettext_lazy("Confirmed")),
                ("written_off_amount", gettext_lazy("Written off")),
                ("outstanding", gettext_lazy("Outstanding")),
                ("tower_cost", gettext_lazy("Tower-borne")))


def _scope_rows(scope: Scope, month: date, operator: str | None = None):
    """[(level, key, figures)]: the province and its cities, or a city and its counties."""
    qs = Snapshot.objects.filter(month=month, operator=operator or scope.operator)
    if scope.city:
        qs = qs.filter(Q(level=Snapshot.Level.CITY, key=scope.city)
                       | Q(level=Snapshot.Level.COUNTY, parent=scope.city))
    else:
        qs = qs.filter(level__in=[Snapshot.Level.PROVINCE, Snapshot.Level.CITY])
    order = {"PROVINCE": 0, "CITY": 0 if scope.city else 1, "COUNTY": 1}
    return sorted(qs.values_list("level", "key", "figures"), key=lambda r: (order[r[0]], r[1]))


def _name(scope, level, key):
    return child_name(scope, key) if level == "COUNTY" else key


def _row_url(request, scope, level, key, month):
    if level == "CITY" and not scope.city:
        return reverse("report", args=["kpi"]) + "?" + _query(request, city=key, page=None)
    if level == "COUNTY":
        return child_url(request, scope, key, month)
    return ""


def kpi_table(request, scope, month):
    metas = kpi_meta(scope)
    heads = [{"label": _("Scope")}, *[{"label": m["label"], "help": m["formula"], "cls": "num"}
                                       for m in metas],
             {"label": _("Pushed"), "cls": "num"}, {"label": _("Outstanding"), "cls": "num"},
             {"label": _("Open disputes"), "cls": "num"},
             {"label": _("Overdue disputes"), "cls": "num"}]
    rows, xlsx = [], []
    for level, key, f in _scope_rows(scope, month):
        r = rates(f)
        values = [_pct(r[m["key"]]) for m in metas]
        amounts = [_money(f.get("chains_amount")), _money(f.get("outstanding")),
                   int(_dec(f.get("disputes_open"))), int(_dec(f.get("disputes_overdue")))]
        rows.append({"name": _name(scope, level, key), "url": _row_url(request, scope, level, key,
                                                                       month),
                     "top": level != ("COUNTY" if scope.city else "CITY"),
                     "cells": [*[("pct", v) for v in values], ("money", amounts[0]),
                               ("money", amounts[1]), ("int", amounts[2]),
                               ("int", amounts[3])]})
        xlsx.append([_name(scope, level, key), *values, *amounts])
    xheads = [_("Scope"), *[f"{m['label']} (%)" for m in metas], _("Pushed"), _("Outstanding"),
              _("Open disputes"), _("Overdue disputes")]
    return heads, rows, xheads, xlsx


def _site_snapshots(request, scope, month):
    qs = Snapshot.objects.filter(month=month, level=Snapshot.Level.SITE, operator="*")
    if scope.city:
        qs = qs.filter(parent=scope.city)
    county = params.text(request.GET, "county")
    if county and scope.city:
        qs = qs.filter(key__in=County.objects.filter(name=county, city__name=scope.city)
                       .values("sites__site_code"))
    q = params.text(request.GET, "q")
    if q:
        qs = qs.filter(key__icontains=q)
    return qs.order_by("key")


def _site_row(code, city, cells, month) -> dict:
    """A site report row, linking to the site, its lines of the month and its pending ones."""
    return {"name": code, "url": reverse("site", args=[code]), "parent": city, "cells": cells,
            "lines_url": reverse("lines") + "?" + urlencode(
                {"site": code, "month": f"{month:%Y-%m}", "tab": "history"}),
            "pending_url": reverse("lines") + "?" + urlencode({"site": code})}


def sites_table(request, scope, month, everything=False):
    qs = _site_snapshots(request, scope, month)
    heads = [{"label": _("Site code")}, {"label": _("City")},
             *[{"label": str(label), "cls": "num"} for _k, label in SITE_COLUMNS],
             {"label": ""}]   # the column of links to the site's lines
    page = None if everything else Paginator(qs, 50).get_page(request.GET.get("page"))
    source = qs.values_list("key", "parent", "figures").iterator(chunk_size=5000) \
        if everything else ((s.key, s.parent, s.figures) for s in page)
    rows, xlsx = [], []
    for key, parent, f in source:
        amounts = [_money(f.get(k)) for k, _label in SITE_COLUMNS]
        if everything:
            xlsx.append([key, parent, *amounts])
            continue
        rows.append(_site_row(key, parent, [("money", a) for a in amounts], month))
    totals = None
    xheads = [_("Site code"), _("City"), *[str(label) for _k, label in SITE_COLUMNS]]
    return heads, rows, xheads, xlsx, page, totals


MY_SITE_COLUMNS = (("n", gettext_lazy("Lines")),
                   ("pushed", gettext_lazy("Pushed")),
                   ("confirmed", gettext_lazy("Confirmed")),
                   ("disputed", gettext_lazy("Disputed")),
                   ("off", gettext_lazy("Written off")),
                   ("left", gettext_lazy("Outstanding")))


def push_months(user) -> list[date]:
    """Months from the first push the user may see to the current one."""
    first = scoped(user, Line.objects.exclude(push_date=None)).aggregate(
        m=Min("push_date"))["m"]
    this = timezone.localdate().replace(day=1)
    out, m = [], (first or this).replace(day=1)
    while m <= this:
        out.append(m)
        m = next_month(m)
    return out


def my_sites_table(request, scope, month, everything=False):
    """An operator's own receivable chains of the month (originals pushed in it), site by
    site, live from the lines it may see (the site snapshots hold all-operator figures,
    which operators never see): chains, their amount now, confirmed, disputed, written off
    and outstanding now."""
    end = month_end(month)
    qs = scoped(request.user, Line.objects.current().of_operators().chains_pushed_in(month, end))
    if scope.city:
        qs = qs.filter(city__name=scope.city)
    q = params.text(request.GET, "q")
    if q:
        qs = qs.filter(site__site_code__icontains=q)
    grouped = qs.values("site__site_code", "city__name").annotate(
        n=Count("pk"), pushed=Sum("receivable"),
        confirmed=Sum("receivable", filter=line_state("confirmed")),
        disputed=Sum("receivable", filter=line_state("disputed")),
        off=Sum("written_off")).order_by("site__site_code")
    heads = [{"label": _("Site code")}, {"label": _("City")},
             *[{"label": str(label), "cls": "num"} for _k, label in MY_SITE_COLUMNS],
             {"label": ""}]   # the column of links to the site's lines
    page = None if everything else Paginator(grouped, 50).get_page(request.GET.get("page"))
    rows, xlsx = [], []
    for r in (grouped.iterator(chunk_size=5000) if everything else page):
        pushed, off = _money(r["pushed"]), _money(r["off"])
        cells = [("int", r["n"]), ("money", pushed), ("money", _money(r["confirmed"])),
                 ("money", _money(r["disputed"])), ("money", off), ("money", pushed - off)]
        code = r["site__site_code"]
        if everything:
            xlsx.append([code, r["city__name"], *(v for _t, v in cells)])
            continue
        rows.append(_site_row(code, r["city__name"], cells, month))
    xheads = [_("Site code"), _("City"), *[str(label) for _k, label in MY_SITE_COLUMNS]]
    return heads, rows, xheads, xlsx, page


def tower_table(request, scope, month):
    data = _scope_rows(scope, month, operator="*")
    reasons = sorted({k[len("tower_cost_"):] for _l, _k, f in data for k in f
                      if k.startswith("tower_cost_")},
                     key=lambda r: list(TOWER_REASONS).index(r) if r in TOWER_REASONS else 99)
    heads = [{"label": _("Scope")}, {"label": _("Paid"), "cls": "num"},
             {"label": _("Tower-borne"), "cls": "num"}, {"label": _("Share of paid"), "cls": "num"},
             *[{"label": reason_label(r), "cls": "num"} for r in reasons]]
    rows, xlsx = [], []
    for level, key, f in data:
        paid, tower = _money(f.get("paid_amount")), _money(f.get("tower_cost"))
        share = _pct(tower / paid) if paid else None
        parts = [_money(f.get(f"tower_cost_{r}")) for r in reasons]
        rows.append({"name": _name(scope, level, key),
                     "url": _row_url(request, scope, level, key, month).replace(
                         "/reports/kpi/", "/reports/tower/"),
                     "top": level != ("COUNTY" if scope.city else "CITY"),
                     "cells": [("money", paid), ("money", tower), ("pct", share),
                               *[("money", p) for p in parts]]})
        xlsx.append([_name(scope, level, key), paid, tower, share, *parts])
    xheads = [_("Scope"), _("Paid"), _("Tower-borne"), f"{_('Share of paid')} (%)",
              *[reason_label(r) for r in reasons]]
    return heads, rows, xheads, xlsx


def prices_table(request, scope, month):
    data = _scope_rows(scope, month, operator="*")
    cols = [(mode, band) for mode in ("DIRECT", "RESUPPLY") for band in PRICE_BANDS]
    heads = [{"label": _("Scope")},
             *[{"label": f"{code_label(mode)} {BAND_LABELS[band]}", "cls": "num"}
               for mode, band in cols],
             {"label": _("Bills with a unit price"), "cls": "num"},
             {"label": _("Share above 1.3"), "cls": "num"}]
    rows, xlsx = [], []
    for level, key, f in data:
        counts = [int(_dec(f.get(f"price_{mode}_{band}"))) for mode, band in cols]
        total = sum(counts)
        high = sum(n for (mode, band), n in zip(cols, counts, strict=True) if band == "gt_1_3")
        share = round(100 * high / total, 1) if total else None
        rows.append({"name": _name(scope, level, key),
                     "url": _row_url(request, scope, level, key, month).replace(
                         "/reports/kpi/", "/reports/prices/"),
                     "top": level != ("COUNTY" if scope.city else "CITY"),
                     "cells": [*[("int", n) for n in counts], ("int", total), ("pct", share)]})
        xlsx.append([_name(scope, level, key), *counts, total, share])
    xheads = [_("Scope"), *[f"{mode} {BAND_LABELS[band]} 元/kWh" for mode, band in cols],
              _("Bills with a unit price"), f"{_('Share above 1.3')} (%)"]
    return heads, rows, xheads, xlsx


def _xlsx(name, headers, rows, sheet) -> FileResponse:
    return download(name, [str(h) for h in headers], rows, sheet=sheet)   # streamed


@roles(*EVERYONE)
def report(request, kind):
    scope = scope_of(request)
    allowed = {k: (label, who) for k, label, who in REPORTS}
    if kind not in allowed or scope.role not in allowed[kind][1]:
        raise Http404
    # the operator's site report reads its lines live: any month it has had pushes in
    months = push_months(request.user) if kind == "mysites" else closed_months()
    month = chosen_month(request, months)
    extra = []
    if kind == "mysites":
        extra.append({"name": "q", "label": _("Site code"), "value": request.GET.get("q", "")})
    if kind == "sites":
        if scope.city:
            counties = County.objects.filter(city__name=scope.city).order_by("name") \
                .values_list("name", flat=True)
            extra.append({"name": "county", "label": _("County"),
                          "value": request.GET.get("county", ""),
                          "choices": [(c, c) for c in counties], "all": _("All")})
        extra.append({"name": "q", "label": _("Site code"), "value": request.GET.get("q", "")})
    filters = _filters(request, scope, months, month, extra)
    if kind != "kpi":   # bill-side figures: all operators only
        filters = [f for f in filters if f["name"] != "operator"]
        scope.operator = "*"
    tabs = [{"url": reverse("report", args=[k]) + "?" + _query(request, page=None, county=None,
                                                                 q=None),
             "label": label, "active": k == kind}
            for k, label, who in REPORTS if scope.role in who]
    ctx = {"title": _("Reports"), "kind": kind, "tabs": tabs, "filters": filters,
           "month": month, "scope": scope, "report_label": allowed[kind][0]}
    if month is None:
        return render(request, "web/report.html", ctx)
    want_xlsx = request.GET.get("format") == "xlsx"
    page = None
    if kind == "kpi":
        heads, rows, xheads, xlsx = kpi_table(request, scope, month)
    elif kind == "sites":
        heads, rows, xheads, xlsx, page, _t = sites_table(request, scope, month, want_xlsx)
    elif kind == "mysites":
        heads, rows, xheads, xlsx, page = my_sites_table(request, scope, month, want_xlsx)
    elif kind == "tower":
        heads, rows, xheads, xlsx = tower_table(request, scope, month)
    else:
        heads, rows, xheads, xlsx = prices_table(request, scope, month)
    if want_xlsx:
        where = scope.city or "province"
        op = "" if scope.operator == "*" else f"-{scope.operator}"
        return _xlsx(f"{kind}-{month:%Y%m}-{where}{op}.xlsx", xheads, xlsx, sheet=kind)
    ctx.update({"heads": heads, "rows": rows, "page": page,
                "query": _query(request, page=None, format=None),
                "xlsx_url": request.path + "?" + _query(request, format="xlsx", page=None),
                "county": request.GET.get("county", "")})
    return render(request, "web/report.html", ctx)


# ---- month close --------------------------------------------------------------------------

def step_label(step: str) -> str:
    labels = {"deadlines": (_("Deadlines")), "check": _("Books check"),
              "snapshots": _("KPI snapshots"), "lock": _("Lock")}
    return labels.get(step, step)


def closable_months(today: date) -> list[date]:
    """Ended months not yet closed, from the first open month (at most 24: months close in
    order, so the earliest are the ones that matter)."""
    last = today.replace(day=1) - timedelta(days=1)
    last = last.replace(day=1)
    closed = set(closed_months())
    start = max(closed) if closed else None
    if start is None:
        from towerledger.bills.models import Bill

        first = Bill.objects.order_by("period_end").values_list("period_end", flat=True).first()
        start = first.replace(day=1) if first else last
    months, m = [], start
    while m <= last:
        if m not in closed:
            months.append(m)
        m = next_month(m)
    return months[:24]


def execute_close(job_id: int, user_id: int | None) -> None:
    job = ImportJob.objects.get(pk=job_id)
    month = _month_arg(job.filename)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.RUNNING, stage=STEPS[0])

    def progress(step):
        ImportJob.objects.filter(pk=job_id).update(stage=step, done=STEPS.index(step))

    try:
        mc = close_month(month, user, progress=progress)
    except CloseError as exc:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, finished_at=timezone.now(),
            message=f"{exc.zh} / {exc.en}"[:500], error_count=len(exc.problems),
            errors=[str(p) for p in exc.problems[:200]])
        return
    except Exception as exc:  # noqa: BLE001 — the page must say what went wrong
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, finished_at=timezone.now(), message=str(exc)[:500])
        raise
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.DONE, stage="lock", done=len(STEPS), finished_at=timezone.now(),
        rows=int(mc.summary.get("snapshots", {}).get("rows", 0)))


@task()
def close_job(job_id: int, user_id: int | None) -> None:
    execute_close(job_id, user_id)


def _close_in_thread(job_id, user_id):
    try:
        execute_close(job_id, user_id)
    finally:
        # the thread ends here: its connection can never be reused (close_old_connections
        # would keep it for CONN_MAX_AGE, open until garbage collection)
        connections.close_all()


def start_close(job: ImportJob, user_id) -> None:
    runner = getattr(settings, "TOWERLEDGER_JOB_RUNNER", "thread")
    if runner == "sync":
        execute_close(job.pk, user_id)
    elif runner == "task":
        close_job.enqueue(job.pk, user_id)
    else:
        threading.Thread(target=_close_in_thread, args=(job.pk, user_id), daemon=True).start()


def _job_context(job: ImportJob) -> dict:
    steps = []
    for i, step in enumerate(STEPS):
        state = "done" if i < job.done or job.status == ImportJob.Status.DONE else (
            "failed" if job.status == ImportJob.Status.FAILED and step == job.stage else (
                "current" if step == job.stage and not job.finished_at else "todo"))
        steps.append({"label": step_label(step), "state": state})
    return {"job": job, "job_steps": steps,
            "job_percent": 100 if job.status == ImportJob.Status.DONE else
            int(100 * job.done / len(STEPS))}


def _running(jobs):
    """A close job still going (one left unfinished by a dead process stops counting after
    two hours; the close itself resumes where it stopped when run again)."""
    since = timezone.now() - timedelta(hours=2)
    return jobs.filter(finished_at__isnull=True, created_at__gte=since).first()


@roles(Role.PROVINCE_ADMIN)
def month_close(request):
    closes = {mc.month: mc for mc in MonthClose.objects.select_related("closed_by")}
    today = timezone.localdate()
    closable = closable_months(today)
    jobs = ImportJob.objects.filter(kind=CLOSE_KIND).order_by("-created_at", "-id")
    running = _running(jobs)
    job = None
    if job_id := params.record_id(request.GET, "job"):
        job = jobs.filter(pk=job_id).first()
    job = job or running
    rows = []
    for m in sorted(set(closes) | set(closable), reverse=True):
        mc = closes.get(m)
        done = set(mc.steps) if mc else set()
        rows.append({"month": m, "mc": mc,
                     "status": mc.status if mc else "OPEN",
                     "status_label": mc.get_status_display() if mc else _("Open"),
                     "steps": [{"label": step_label(s), "done": s in done} for s in STEPS],
                     "snapshot_rows": (mc.summary.get("snapshots") or {}).get("rows")
                     if mc else None,
                     "deemed": (mc.summary.get("deadlines") or {}).get("deemed") if mc else None,
                     "dashboard_url": reverse("dashboard") + f"?month={m:%Y-%m}"
                     if mc and mc.status == MonthClose.Status.CLOSED else ""})
    return render(request, "web/month_close.html", {
        "title": _("Month close"), "rows": rows, "closable": closable,
        "running": running, **(_job_context(job) if job else {}),
        "default_month": closable[0] if closable else None})


@require_POST
@roles(Role.PROVINCE_ADMIN)
def month_close_run(request):
    month = _month_arg(request.POST.get("month"))
    if month is None or month not in closable_months(timezone.localdate()):
        from django.contrib import messages

        messages.error(request, _("Choose a month that has ended and is not closed."))
        return redirect("month_close")
    running = _running(ImportJob.objects.filter(kind=CLOSE_KIND))
    if running:
        return redirect(reverse("month_close") + f"?job={running.pk}")
    job = ImportJob.objects.create(kind=CLOSE_KIND, filename=f"{month:%Y-%m}", stored_path="",
                                   user=None, total=len(STEPS),
                                   reason=f"月结 month close by {request.user.username}"[:200])
    start_close(job, request.user.pk)
    return redirect(reverse("month_close") + f"?job={job.pk}")


@roles(Role.PROVINCE_ADMIN)
def month_close_job(request, pk):
    job = get_object_or_404(ImportJob, pk=pk, kind=CLOSE_KIND)
    return render(request, "web/_close_job.html", _job_context(job))
