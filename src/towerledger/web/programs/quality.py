"""资源数据质量 pages: the scorecard per city and county (live, or a closed month's), its
trend per city (chart: json_script + static JS), and each rule's drill-down list with its
XLSX in the canonical columns of the import kind that fixes it."""

from datetime import date

from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import get_language

from towerledger.access.models import Role
from towerledger.access.scope import profile_of, role_of
from towerledger.domain import quality as dq
from towerledger.exchange.export import download
from towerledger.org.models import City, County
from towerledger.programs.quality import exports
from towerledger.programs.quality import services as qs
from towerledger.programs.quality.models import QualityScore
from towerledger.web import params
from towerledger.web.context import STAFF
from towerledger.web.tables import roles

LIST_LIMIT = 500


def _zh() -> bool:
    return (get_language() or "zh-hans").startswith("zh")


def _own_city(user):
    """A clerk's city (fixed); None for the province's people."""
    if role_of(user) == Role.CITY_CLERK:
        return profile_of(user).city_id
    return None


def _city(request):
    own = _own_city(request.user)
    return own or params.record_id(request.GET, "city")


def _rules():
    return [{"code": c, "label": zh if _zh() else en, "other": en if _zh() else zh,
             "kind": kind} for c, (zh, en, _, kind) in dq.RULES.items()]


def _unit_rows(cards: dict, city_id) -> list[dict]:
    cities = dict(City.objects.values_list("pk", "name"))
    counties = dict(County.objects.values_list("pk", "name"))
    rows = []
    for (level, city, county), scores in cards.items():
        if city_id and city != city_id:
            continue
        if not city_id and level == "K":
            continue
        name = {"P": "全省 Province", "C": cities.get(city, "—"),
                "K": counties.get(county, "—")}[level]
        rows.append({"level": level, "city": city, "county": county, "name": name,
                     "scores": scores, "sort": (level != "P", level == "K", name)})
    return sorted(rows, key=lambda r: r["sort"])


def _stored(month) -> dict:
    cards: dict = {}
    order = list(dq.RULES)
    for s in QualityScore.objects.filter(month=month).order_by("level", "city", "county"):
        cards.setdefault((s.level, s.city_id, s.county_id), []).append(
            dq.Score(s.rule, s.count, s.total))
    return {u: sorted(v, key=lambda s: order.index(s.rule)) for u, v in cards.items()}


def _trend(city_id) -> dict:
    """Per city and stored month: problem records per 100 judged (Σ count ÷ Σ total)."""
    qs_ = QualityScore.objects.filter(level="C")
    if city_id:
        qs_ = qs_.filter(city_id=city_id)
    months, sums = set(), {}
    names = dict(City.objects.values_list("pk", "name"))
    for month, city, count, total in qs_.values_list("month", "city_id", "count", "total"):
        months.add(month)
        c, t = sums.get((city, month), (0, 0))
        sums[city, month] = (c + count, t + total)
    months = sorted(months)
    series = []
    for city in sorted({c for c, _ in sums}, key=lambda c: names.get(c, "")):
        series.append({"name": names.get(city, "—"), "data": [
            float(dq.rate(*sums[city, m])) if (city, m) in sums else None for m in months]})
    return {"months": [m.strftime("%Y-%m") for m in months], "series": series}


@roles(*STAFF)
def scorecard(request):
    city_id = _city(request)
    stored = list(QualityScore.objects.order_by("-month").values_list("month", flat=True)
                  .distinct())
    month = params.month(request.GET)
    today = timezone.localdate()
    if month and month in stored:
        cards, live = _stored(month), False
    else:
        month, live = None, True
        cards = qs.scorecards(qs.live(today, city_id), city_id)
    trend = _trend(_own_city(request.user))
    return render(request, "web/programs/quality/scorecard.html", {
        "rules": _rules(), "rows": _unit_rows(cards, city_id), "live": live, "month": month,
        "today": today, "months": stored, "city_id": city_id,
        "city_fixed": _own_city(request.user) is not None,
        "cities": City.objects.order_by("name").values_list("pk", "name"),
        "trend": trend, "has_trend": bool(trend["months"])})


@roles(*STAFF)
def drill(request, rule):
    if rule not in dq.RULES:
        raise Http404
    city_id = _city(request)
    county_id = params.record_id(request.GET, "county")
    if county_id and city_id and not County.objects.filter(pk=county_id,
                                                           city_id=city_id).exists():
        raise Http404
    today = timezone.localdate()
    found = qs.live(today, city_id)
    keys = qs.keys_in(found, rule, city_id, county_id)
    if request.GET.get("format") == "xlsx":
        kind, headers, rows = exports.table(rule, keys)
        return download(f"quality-{rule}-{today:%Y%m%d}.xlsx", headers, rows, sheet=kind)
    kind, headers, rows = exports.keyed(rule, keys[:LIST_LIMIT])
    shown = []
    why = found.why.get(rule, {})
    for key, row in rows:
        text = why.get(key)
        cells = [c.isoformat() if isinstance(c, date) else c for c in row]
        shown.append({"cells": cells, "why": (text[0] if _zh() else text[1]) if text else ""})
    zh, en, _, _ = dq.RULES[rule]
    return render(request, "web/programs/quality/drill.html", {
        "rule": rule, "label": zh if _zh() else en, "other": en if _zh() else zh,
        "kind": kind, "headers": headers, "rows": shown, "count": len(keys),
        "limited": len(keys) > LIST_LIMIT, "city": City.objects.filter(pk=city_id).first(),
        "county": County.objects.filter(pk=county_id).first(),
        "query": request.GET.urlencode(), "today": today})


urlpatterns = [
    path("programs/quality/", scorecard, name="quality"),
    path("programs/quality/rules/<slug:rule>/", drill, name="quality_rule"),
]
HUB = [("quality", "资源数据质量", "Resource data quality", STAFF)]
