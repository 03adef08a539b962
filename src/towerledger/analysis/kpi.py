"""月度分析: the month's KPI figures at every scope, set-wise (DOMAIN.md §6).

Figures are gathered at the finest grain each comes in — (site, operator) for bills, lines,
disputes; (city, operator) for receipts — with a handful of grouped queries, then rolled up
to county, city and province, per operator and for all operators ("*"). Only numerators
and denominators are stored; rates are computed when read (``rates``), so a rate of a
larger scope is never an average of rates.

Sites carry the all-operator row only (100,000 sites × 12 months stays small); counties,
cities and the province carry one row per operator as well.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Count, Max, Q, Sum
from django.db.models.fields.json import KeyTextTransform

from towerledger.bills.models import Bill, Flag
from towerledger.collection.models import Receipt
from towerledger.domain import ageing
from towerledger.domain.months import month_end
from towerledger.domain.supply_terms import bill_day
from towerledger.org.models import Operator
from towerledger.settlement import receivables
from towerledger.settlement.models import Dispute, Line
from towerledger.sites import terms as supply_terms
from towerledger.sites.models import AccountSite, Site

ZERO = Decimal("0.00")
AGE_BUCKETS = tuple((lo, hi, f"age_{lo}_{hi}" if hi else f"age_gt_{lo - 1}")
                    for lo, hi in ageing.BOUNDS)   # age_0_30 … age_181_365, age_gt_365
PRICE_BANDS = ("lt_1_0", "1_0_to_1_3", "gt_1_3")   # < 1.0, 1.0–1.3, > 1.3 yuan/kWh


def price_band(price: Decimal) -> str:
    if price < Decimal("1.0"):
        return "lt_1_0"
    return "1_0_to_1_3" if price <= Decimal("1.3") else "gt_1_3"


def _q(x) -> Decimal:
    return Decimal(str(x or 0)).quantize(ZERO)


class Grid:
    """figures[(site_id, operator)][name] accumulated, plus per (city_id, operator)."""

    def __init__(self):
        self.site = defaultdict(lambda: defaultdict(Decimal))
        self.city = defaultdict(lambda: defaultdict(Decimal))

    def add(self, site_id, operator, name, value):
        if value:
            self.site[site_id, operator][name] += _dec(value)

    def add_sum(self, site_id, operators, name, value, nonzero: bool):
        """A sum of parts at (site, each of ``operators``): kept, even at 0.00, when any
        part was nonzero, as ``add`` of each part would keep it."""
        if nonzero or value:
            value = _dec(value)
            for operator in operators:
                self.site[site_id, operator][name] += value

    def add_city(self, city_id, operator, name, value):
        if value:
            self.city[city_id, operator][name] += _dec(value)


def _dec(value) -> Decimal:
    """``Decimal(str(value))`` without the text round trip for a Decimal or an int (the same
    value and exponent: a Decimal as it is, an int with exponent 0); SQLite's floats still
    go through their text, as before."""
    t = type(value)
    if t is Decimal:
        return value
    if t is int:
        return Decimal(value)
    return Decimal(str(value))


def compute(month: date, as_of: date | None = None) -> list[dict]:
    """Every snapshot row of ``month``: dicts of level, key, parent, operator, figures."""
    month = month.replace(day=1)
    end = month_end(month)
    as_of = as_of or end
    g = Grid()
    _bills(g, month, end)
    code = _operator_codes()
    _lines(g, month, end, as_of, code)
    _disputes(g, month, end)
    _receipts(g, month, end, as_of, code)
    _year(g, month, end, as_of, code)
    return _roll_up(g)


# ---- gatherers --------------------------------------------------------------------------

def _first_site_of_accounts() -> dict[int, int]:
    """An account belongs, for account-level KPIs, to the site it feeds most."""
    out = {}
    for acc, site in AccountSite.objects.order_by("account_id", "-split_ratio", "site_id") \
            .values_list("account_id", "site_id").iterator(chunk_size=20000):
        out.setdefault(acc, site)
    return out


def _bills(g: Grid, month, end):
    site_of = _first_site_of_accounts()
    in_month = Bill.objects.exclude(status=Bill.Status.VOID).filter(
        period_end__gte=month, period_end__lte=end)
    for acc, n, paid, amount, kwh in in_month.values("account_id").annotate(
            n=Count("pk"), paid=Count("pk", filter=Q(status=Bill.Status.PAID)),
            amt=Sum("amount"), kwh=Sum("kwh")).values_list(
            "account_id", "n", "paid", "amt", "kwh").iterator(chunk_size=20000):
        site = site_of.get(acc)
        if site is None:
            continue
        g.add(site, "*", "accounts_expected", 1)
        g.add(site, "*", "accounts_paid", 1 if paid else 0)
        g.add(site, "*", "bills", n)
        g.add(site, "*", "bill_amount", _q(amount))
        g.add(site, "*", "kwh", _q(kwh))
    # days billed, for kWh and cost per site per day
    for acc, start, stop in in_month.values_list("account_id", "period_start", "period_end") \
            .iterator(chunk_size=20000):
        if acc in site_of:
            g.add(site_of[acc], "*", "bill_days", (stop - start).days + 1)
    # expected by cycle but no bill at all in the month
    _expected_without_bill(g, month, end, site_of, in_month)
    for acc, amount in Bill.objects.filter(status=Bill.Status.PAID, paid_date__gte=month,
                                           paid_date__lte=end).values_list("account_id",
                                                                           "amount"):
        if acc in site_of:
            g.add(site_of[acc], "*", "paid_amount", amount)
            g.add(site_of[acc], "*", "paid_bills", 1)
    # unit-price bands, direct vs resupply: the account's supply mode on the bill's day
    priced = in_month.filter(unit_price__isnull=False)
    book = supply_terms.load(priced.values("account_id"))
    for acc, start, stop, price in priced.values_list(
            "account_id", "period_start", "period_end", "unit_price").iterator(chunk_size=20000):
        if acc not in site_of:
            continue
        mode = book.on(acc, bill_day(start, stop)).supply_mode
        g.add(site_of[acc], "*", f"price_{mode}_{price_band(price)}", 1)
    for acc, code, n in Flag.objects.filter(bill__period_end__gte=month,
                                            bill__period_end__lte=end).values(
            "bill__account_id", "code").annotate(n=Count("pk")).values_list(
            "bill__account_id", "code", "n"):
        if acc in site_of:
            g.add(site_of[acc], "*", f"flags_{code}", n)


def _expected_without_bill(g, month, end, site_of, in_month):
    """Accounts whose payment cycle says a bill was due this month but none came: their
    last bill's period ended a whole number of cycles before this month's end."""
    billed = set(in_month.values_list("account_id", flat=True))
    # each account's latest period end before the month: one row per account, not every
    # bill of its history
    rows = Bill.objects.exclude(status=Bill.Status.VOID).filter(period_end__lt=month) \
        .order_by().values("account_id", "account__payment_cycle_months") \
        .annotate(stop=Max("period_end")) \
        .values_list("account_id", "stop", "account__payment_cycle_months")
    latest = {acc: (stop, cycle or 1) for acc, stop, cycle in rows.iterator(chunk_size=20000)}
    for acc, (stop, cycle) in latest.items():
        if acc in billed or acc not in site_of:
            continue
        months = (end.year - stop.year) * 12 + end.month - stop.month
        if months > 0 and months % cycle == 0:
            g.add(site_of[acc], "*", "accounts_expected", 1)


def _operator_codes() -> dict[int, str]:
    return dict(Operator.objects.values_list("pk", "code"))


def _lines(g: Grid, month, end, as_of, code: dict[int, str]):
    """The month's receivable chains as of the report date (核对率, 回收率), outstanding at
    month end by age (欠费率, 账龄), and T+0 — all asked of the receivables core."""
    month_chains = receivables.pushed_in(month, end)
    # by (site, operator), added over the push dates by the core; a figure whose per-date
    # parts cancel is kept at 0.00, as when the parts were added here one by one
    now = list(receivables.chain_sums(as_of, month_chains))
    for f in now:
        ops = (code[f.operator_id], "*")
        g.add_sum(f.site_id, ops, "chains", f.chains, True)
        g.add_sum(f.site_id, ops, "chains_amount", f.amount, f.parts[0])
        g.add_sum(f.site_id, ops, "confirmed_amount", f.confirmed, f.parts[1])
        g.add_sum(f.site_id, ops, "deemed_amount", f.deemed, f.parts[2])
    for site, op, amount, nonzero in receivables.written_off_sums(as_of, month_chains):
        g.add_sum(site, (code[op], "*"), "written_off_amount", amount, nonzero)
    # stocks as of the month's last day, whatever the report date (the same figures when
    # the report is read on that day)
    at_end = now if as_of == end else receivables.chain_sums(end, month_chains)
    for f in at_end:
        g.add_sum(f.site_id, (code[f.operator_id], "*"), "arrears_base", f.amount, f.parts[0])
    for (site, op, pushed), (left, _n) in receivables.outstanding(end).items():
        bucket = AGE_BUCKETS[ageing.bucket((end - pushed).days)][2]
        for operator in (code[op], "*"):
            g.add(site, operator, "outstanding", left)
            g.add(site, operator, bucket, left)
    for site, op, n, t0 in receivables.t0_counts(month, end):
        for operator in (code[op], "*"):
            g.add(site, operator, "t0_base", n)
            g.add(site, operator, "t0_lines", t0)
    # tower-borne cost of bills paid this month, split by cause
    tower = Line.objects.tower_borne().filter(kind=Line.Kind.ALLOCATION, cost_share__gt=0,
                                              bill__paid_date__gte=month,
                                              bill__paid_date__lte=end).exclude(
        bill__status=Bill.Status.VOID)   # a void bill's tower-borne part was reversed too
    for site, cost, causes in tower.annotate(causes=KeyTextTransform("tower_borne", "explained__trace")) \
            .values_list("site_id", "cost_share", "causes").iterator(chunk_size=20000):
        g.add(site, "*", "tower_cost", cost)
        for reason, amount in _causes(cost, causes):
            g.add(site, "*", f"tower_cost_{reason}", amount)


def _causes(cost: Decimal, raw) -> list[tuple[str, Decimal]]:
    """Split a tower-borne cost by the causes its trace names, in proportion."""
    import json
    from fractions import Fraction

    try:
        parts = [(r, Fraction(f)) for r, f in (json.loads(raw) if isinstance(raw, str)
                                              else raw or [])]
    except (ValueError, TypeError):
        return [("other", cost)]
    whole = sum((f for _, f in parts), Fraction(0))
    if not whole:
        return [("other", cost)]
    return [(r, (Decimal(f.numerator) / Decimal(f.denominator) / (
        Decimal(whole.numerator) / Decimal(whole.denominator)) * cost).quantize(ZERO))
        for r, f in parts]


def _disputes(g: Grid, month, end):
    for site, op, overdue in Dispute.objects.filter(
            raised_at__date__lte=end).filter(
            Q(status__in=Dispute.OPEN_STATES) | Q(answered_at__date__gt=end)).values_list(
            "line__site_id", "line__operator__code", "overdue"):
        for operator in (op, "*"):
            g.add(site, operator, "disputes_open", 1)
            g.add(site, operator, "disputes_overdue", 1 if overdue else 0)
    for site, op, raised, answered in Dispute.objects.filter(
            answered_at__date__gte=month, answered_at__date__lte=end).values_list(
            "line__site_id", "line__operator__code", "raised_at", "answered_at"):
        for operator in (op, "*"):
            g.add(site, operator, "disputes_resolved", 1)
            g.add(site, operator, "dispute_days", (answered - raised).days)


def _receipts(g: Grid, month, end, as_of, code: dict[int, str]):
    """回款核销率: receipts dated in the month, and what of them stands applied as of the
    report date."""
    for city, op, amount in Receipt.objects.filter(
            received_date__gte=month, received_date__lte=end).values_list(
            "city_id", "operator_id", "amount"):
        for operator in (code[op], "*"):
            g.add_city(city, operator, "receipts_amount", amount)
    for city, op, applied in receivables.live_applications(as_of).filter(
            receipt__received_date__gte=month, receipt__received_date__lte=end).values(
            "receipt__city_id", "receipt__operator_id").annotate(s=Sum("amount")).values_list(
            "receipt__city_id", "receipt__operator_id", "s"):
        for operator in (code[op], "*"):
            g.add_city(city, operator, "receipts_applied", _q(applied))


def _year(g: Grid, month, end, as_of, code: dict[int, str]):
    """当年结清率 so far: chains of the allocation lines of bills paid this year (当年垫付)
    at their amount as of the report date, and what of them was written off by the year's
    end (当年结算)."""
    year = receivables.Roots(allocation_paid_from=date(month.year, 1, 1),
                             allocation_paid_to=end)
    for f in receivables.chain_sums(as_of, year):
        g.add_sum(f.site_id, (code[f.operator_id], "*"), "year_receivable", f.amount,
                  f.parts[0])
    by = min(as_of, date(month.year, 12, 31))
    for site, op, amount, nonzero in receivables.written_off_sums(by, year):
        g.add_sum(site, (code[op], "*"), "year_written_off", amount, nonzero)


# ---- roll-up ----------------------------------------------------------------------------

def _roll_up(g: Grid) -> list[dict]:
    """Sites' figures to counties, counties' to cities, cities' to the province (Decimal
    sums are exact, so the order of adding changes nothing), each figure added once per
    level instead of once per level per site."""
    sites = {s: (code, county, city, cname, prov) for s, code, county, city, cname, prov in
             Site.objects.values_list("pk", "site_code", "county__name", "county__city_id",
                                      "county__city__name", "county__city__province__name")}
    totals = {}   # (level, key, parent, op) -> figures
    county_of = {}   # county scope -> its city scope

    def bucket(level, key, parent, op):
        b = totals.get((level, key, parent, op))
        if b is None:
            b = totals[level, key, parent, op] = defaultdict(Decimal)
        return b

    for (site, op), figures in g.site.items():
        code, county, city_id, city, prov = sites[site]
        county_key = ("COUNTY", f"{city}/{county}", city, op)
        county_of[county_key] = (city, prov)
        if op == "*":
            totals["SITE", code, city, op] = figures
        b = bucket(*county_key)
        for name, value in figures.items():
            b[name] += value
    cities = defaultdict(lambda: defaultdict(Decimal))   # (city, prov, op) -> figures
    for (level, key, parent, op), figures in list(totals.items()):
        if level != "COUNTY":
            continue
        city, prov = county_of[level, key, parent, op]
        b = cities[city, prov, op]
        for name, value in figures.items():
            b[name] += value
    city_names = {city_id: (cname, prov) for _, _, _, city_id, cname, prov in
                  ((s, *v) for s, v in sites.items())}
    for (city_id, op), figures in g.city.items():
        if city_id not in city_names:
            continue
        cname, prov = city_names[city_id]
        b = cities[cname, prov, op]
        for name, value in figures.items():
            b[name] += value
    for (city, prov, op), figures in cities.items():
        totals["CITY", city, prov, op] = figures
        b = bucket("PROVINCE", prov, "", op)
        for name, value in figures.items():
            b[name] += value
    return [{"level": level, "key": key, "parent": parent, "operator": op,
             "figures": {k: _plain(v) for k, v in sorted(figures.items())}}
            for (level, key, parent, op), figures in totals.items()]


def _plain(v: Decimal):
    text = str(v)
    if text.lstrip("-").isdigit():   # exponent 0 (counts, days): the text is the integer
        return int(text)
    return int(v) if v == v.to_integral_value() and v.as_tuple().exponent >= 0 else text


# ---- reading ----------------------------------------------------------------------------

def _d(figures, name) -> Decimal:
    return Decimal(str(figures.get(name, 0)))


def _ratio(a: Decimal, b: Decimal) -> Decimal | None:
    return (a / b).quantize(Decimal("0.0001")) if b else None


def rates(figures: dict) -> dict:
    """The KPIs of DOMAIN §6 from a snapshot's figures (None where the base is zero)."""
    f = figures
    return {
        "payment_completion": _ratio(_d(f, "accounts_paid"), _d(f, "accounts_expected")),
        "t0": _ratio(_d(f, "t0_lines"), _d(f, "t0_base")),
        "confirmation": _ratio(_d(f, "confirmed_amount"), _d(f, "chains_amount")),
        "recovery": _ratio(_d(f, "written_off_amount"), _d(f, "chains_amount")),
        "receipt_write_off": _ratio(_d(f, "receipts_applied"), _d(f, "receipts_amount")),
        "arrears": _ratio(_d(f, "outstanding"), _d(f, "arrears_base")),
        "same_year_clearing": _ratio(_d(f, "year_written_off"), _d(f, "year_receivable")),
        "dispute_mean_days": _ratio(_d(f, "dispute_days"), _d(f, "disputes_resolved")),
        "kwh_per_site_day": _ratio(_d(f, "kwh"), _d(f, "bill_days")),
        "cost_per_site_day": _ratio(_d(f, "bill_amount"), _d(f, "bill_days")),
    }
