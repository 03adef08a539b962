"""月度分析 pages' common ground (DOMAIN §6): the user's scope, the month shown, the KPIs' names
and formulas, number formatting. The dashboard (web.dashboard), the reports (web.reports)
and the month close (web.close) build on it.

Scope follows the user's role:

* province admin and viewer: the province and its cities (or any city they pick), any
  operator or all;
* city clerk: their city and its counties;
* operator user: their operator's rows only (and their city's, when their profile has one).
  Bill-side figures (payment completion, unit prices, audit flags, tower-borne cost) are
  kept in the all-operator rows only, so operator users never see them."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from towerledger.access.models import Role
from towerledger.access.scope import profile_of, role_of
from towerledger.analysis import live
from towerledger.ledger.models import MonthClose
from towerledger.org.models import City
from towerledger.web import params
from towerledger.web.context import STAFF
from towerledger.web.views import code_label

OPERATORS = ("CMCC", "CUCC", "CTCC", "CBN", "OTHER")

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
BILL_SIDE = ("payment_completion",)       # in the all-operator rows only


def as_dec(x) -> Decimal:
    return Decimal(str(x or 0))


def as_money(x) -> Decimal:
    return as_dec(x).quantize(Decimal("0.01"))


def as_pct(x) -> float | None:
    return None if x is None else round(float(x) * 100, 1)


def month_arg(text) -> date | None:
    """A month from a form field; None when it is not one (web.params)."""
    try:
        return params.parse_month(text or "")
    except params.BadParameter:
        return None


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


def filter_fields(request, scope: Scope, months, month, extra=()):
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


def query_with(request, **changes) -> str:
    params = {k: v for k, v in request.GET.items() if v}
    params.update(changes)
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def child_name(scope: Scope, key: str) -> str:
    """A county's key is "city/county": show the county."""
    return key.split("/", 1)[1] if scope.city and "/" in key else key


def child_url(request, scope: Scope, key: str, month: date) -> str:
    """Click-through: a city → its counties; a county → its sites (from the snapshots), or for
    an operator user its own lines by site in that county (the site snapshots are all
    operators' figures, which operator users never see)."""
    if not scope.city:
        return reverse("dashboard") + "?" + query_with(request, city=key, kpi=None)
    if scope.role == Role.OPERATOR:
        return reverse("report", args=["mysites"]) + "?" + urlencode(
            {"month": f"{month:%Y-%m}", "city": scope.city, "county": child_name(scope, key)})
    return reverse("report", args=["sites"]) + "?" + urlencode(
        {k: v for k, v in (("month", f"{month:%Y-%m}"), ("city", scope.city),
                           ("county", child_name(scope, key)),
                           ("operator", "" if scope.operator == "*" else scope.operator))
         if v})


def kpi_meta(scope: Scope):
    return [{"key": k, "label": str(label), "formula": str(formula)} for k, label, formula in KPIS
            if scope.bill_side or k not in BILL_SIDE]
