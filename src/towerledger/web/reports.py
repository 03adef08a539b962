"""The 月度分析 reports (KPI table, site ledger, my sites, tower-borne cost, unit-price bands), on
the page and as XLSX. All but "my sites" read the KPI snapshots; an operator's own site
report reads the lines it may see, live."""

from datetime import date

from django.core.paginator import Paginator
from django.db.models import Count, Min, Q, Sum
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from towerledger.access.models import Role
from towerledger.access.scope import scoped
from towerledger.analysis.kpi import PRICE_BANDS, rates
from towerledger.analysis.models import Snapshot
from towerledger.domain.months import month_end, next_month
from towerledger.exchange.export import download
from towerledger.org.models import County
from towerledger.settlement.models import Line, line_state
from towerledger.web import params
from towerledger.web.context import EVERYONE, STAFF
from towerledger.web.labels import BAND_LABELS, reason_label, reason_order
from towerledger.web.monthly import (
    Scope,
    as_dec,
    as_money,
    as_pct,
    child_name,
    child_url,
    chosen_month,
    closed_months,
    filter_fields,
    kpi_meta,
    query_with,
    scope_of,
)
from towerledger.web.tables import roles
from towerledger.web.views import code_label

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
        return reverse("report", args=["kpi"]) + "?" + query_with(request, city=key, page=None)
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
        values = [as_pct(r[m["key"]]) for m in metas]
        amounts = [as_money(f.get("chains_amount")), as_money(f.get("outstanding")),
                   int(as_dec(f.get("disputes_open"))), int(as_dec(f.get("disputes_overdue")))]
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
        amounts = [as_money(f.get(k)) for k, _label in SITE_COLUMNS]
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
    qs = scoped(request.user, Line.objects.current().of_operators())
    if scope.city:
        qs = qs.filter(city__name=scope.city)
        county = params.text(request.GET, "county")   # the dashboard's county drill-down
        if county:
            qs = qs.filter(site__county__name=county)
    q = params.text(request.GET, "q")
    if q:
        qs = qs.filter(site__site_code__icontains=q)
    lines, qs = qs, qs.chains_pushed_in(month, end)
    sums = {"n": Count("pk"), "pushed": Sum("receivable"),
            "confirmed": Sum("receivable", filter=line_state("confirmed")),
            "disputed": Sum("receivable", filter=line_state("disputed"))}
    key = ("site__site_code", "city__name")
    grouped = qs.values(*key).annotate(**sums).order_by(*key)
    heads = [{"label": _("Site code")}, {"label": _("City")},
             *[{"label": str(label), "cls": "num"} for _k, label in MY_SITE_COLUMNS],
             {"label": ""}]   # the column of links to the site's lines
    if everything:
        page, source = None, grouped.annotate(off=Sum("written_off")).iterator(chunk_size=5000)
    else:
        # what is written off (a subquery per line) only for the page's sites, not every
        # line of the month before the page is cut
        paginator = Paginator(grouped, 50)
        # the sites counted over the chains' two disjoint halves (originals pushed in the
        # month; adjustments whose original was), so only the few adjustments are joined to
        # their originals, not every line of the operator to every line; by the site's id
        # (one per code), so no line is joined to the sites to be counted
        counted = ("site_id", "city__name")
        paginator.count = lines.filter(root__isnull=True, push_date__gte=month,
                                       push_date__lte=end).values(*counted).union(
            lines.filter(root__isnull=False, root__push_date__gte=month,
                         root__push_date__lte=end).values(*counted)).count()
        page = paginator.get_page(request.GET.get("page"))
        page.object_list = list(page.object_list)
        off = {(r[0], r[1]): r[2] for r in qs.filter(
            site__site_code__in={r["site__site_code"] for r in page.object_list})
            .values(*key).annotate(off=Sum("written_off")).order_by()
            .values_list(*key, "off")}
        source = [{**r, "off": off.get((r["site__site_code"], r["city__name"]))}
                  for r in page.object_list]
    rows, xlsx = [], []
    for r in source:
        pushed, off = as_money(r["pushed"]), as_money(r["off"])
        cells = [("int", r["n"]), ("money", pushed), ("money", as_money(r["confirmed"])),
                 ("money", as_money(r["disputed"])), ("money", off), ("money", pushed - off)]
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
                     key=reason_order)
    heads = [{"label": _("Scope")}, {"label": _("Paid"), "cls": "num"},
             {"label": _("Tower-borne"), "cls": "num"}, {"label": _("Share of paid"), "cls": "num"},
             *[{"label": reason_label(r), "cls": "num"} for r in reasons]]
    rows, xlsx = [], []
    for level, key, f in data:
        paid, tower = as_money(f.get("paid_amount")), as_money(f.get("tower_cost"))
        share = as_pct(tower / paid) if paid else None
        parts = [as_money(f.get(f"tower_cost_{r}")) for r in reasons]
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
        counts = [int(as_dec(f.get(f"price_{mode}_{band}"))) for mode, band in cols]
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
    if kind == "sites" and scope.role == Role.OPERATOR:
        # a staff site-report link (a bookmark, a shared address) shows an operator user
        # their own sites instead, with the same month, city and county
        query = request.META.get("QUERY_STRING", "")
        return redirect(reverse("report", args=["mysites"]) + (f"?{query}" if query else ""))
    allowed = {k: (label, who) for k, label, who in REPORTS}
    if kind not in allowed or scope.role not in allowed[kind][1]:
        raise Http404
    # the operator's site report reads its lines live: any month it has had pushes in
    months = push_months(request.user) if kind == "mysites" else closed_months()
    month = chosen_month(request, months)
    extra = []
    if kind in ("sites", "mysites"):
        if scope.city:
            counties = County.objects.filter(city__name=scope.city).order_by("name") \
                .values_list("name", flat=True)
            extra.append({"name": "county", "label": _("County"),
                          "value": request.GET.get("county", ""),
                          "choices": [(c, c) for c in counties], "all": _("All")})
        extra.append({"name": "q", "label": _("Site code"), "value": request.GET.get("q", "")})
    filters = filter_fields(request, scope, months, month, extra)
    if kind != "kpi":   # bill-side figures: all operators only
        filters = [f for f in filters if f["name"] != "operator"]
        scope.operator = "*"
    tabs = [{"url": reverse("report", args=[k]) + "?" + query_with(request, page=None, county=None,
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
                "query": query_with(request, page=None, format=None),
                "xlsx_url": request.path + "?" + query_with(request, format="xlsx", page=None),
                "county": request.GET.get("county", "")})
    return render(request, "web/report.html", ctx)
