"""转改直 figures: candidates ranked, realised savings by month (scoped), payback per
project and the cities' league table.

Savings of a bill belong to the month of its period end. Only paid bills count (they are
allocated, so each operator's share is known): a bill's saving is split over its
allocation lines by their cost shares (``domain.conversion.split_saving``); an operator
user sees only its own operator's share (of its city, if its profile has one), a city clerk
the whole saving of the accounts of their city, province admins and viewers everything.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Min, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from towerledger.access.models import Role
from towerledger.access.scope import profile_of, role_of, scope_filter, scoped
from towerledger.bills.models import Bill
from towerledger.db.bulk import copy_insert
from towerledger.domain import conversion as rules
from towerledger.domain.codes import SupplyMode
from towerledger.domain.months import month_end, next_month
from towerledger.programs.conversion.models import (
    CostDefault,
    DirectPrice,
    Estimate,
    Project,
    RankedCandidate,
    Ranking,
)
from towerledger.settlement.models import Line
from towerledger.sites.models import AccountSite, SupplyAccount

ZERO = Decimal("0.00")


def months_between(first: date, last: date) -> list[date]:
    """First days of the months from ``first``'s to ``last``'s, inclusive."""
    out, m = [], month_start(first)
    while m <= last:
        out.append(m)
        m = next_month(m)
    return out


def month_start(d: date) -> date:
    return d.replace(day=1)


# ---- shared by the savings of both programs (trading imports these) ------------------------

def account_places(account_ids: Iterable[int] | None = None, accounts_qs=None) -> dict:
    """Each account's first fed site (by site code): {account id: {site_code, site_type,
    city_id, city, province_id}} — one query."""
    qs = AccountSite.objects.all()
    if accounts_qs is not None:
        qs = qs.filter(account__in=accounts_qs)
    elif account_ids is not None:
        qs = qs.filter(account_id__in=list(account_ids))
    out: dict[int, dict] = {}
    for acc, code, stype, city_id, city, prov in qs.order_by(
            "account_id", "-site__site_code").values_list(
            "account_id", "site__site_code", "site__site_type", "site__county__city_id",
            "site__county__city__name", "site__county__city__province_id"):
        out[acc] = {"site_code": code, "site_type": stype, "city_id": city_id, "city": city,
                    "province_id": prov}
    return out


def bill_parts(bills_qs) -> dict[int, list[tuple[tuple[str, str], Decimal]]]:
    """The allocation lines of the bills as ((site code, operator code or ""), cost share)
    per bill — one query (allocation lines as allocated: adjustments are corrections of
    who owes, not of how much the bill saved)."""
    out: dict[int, list] = defaultdict(list)
    for bill_id, site, op, cost in (Line.objects.filter(kind=Line.Kind.ALLOCATION,
                                                       bill__in=bills_qs)
                                    .values_list("bill_id", "site__site_code",
                                                 "operator__code", "cost_share")):
        out[bill_id].append(((site, op or ""), cost))
    return out


def operator_view(user):
    """(operator code, city id or None) for an operator user, else None."""
    if user is not None and role_of(user) == Role.OPERATOR:
        profile = profile_of(user)
        return profile.operator.code, profile.city_id
    return None


def visible_savings(user, items: list[tuple[int, object, Decimal]], bills_qs,
                    cities: dict[int, int] | None = None) -> dict[object, Decimal]:
    """Sum ``items`` (bill id, key, saving) per key as ``user`` may see them: staff the
    whole saving (the caller scoped the bills), an operator its share by the bills' lines."""
    out: dict[object, Decimal] = defaultdict(lambda: ZERO)
    view = operator_view(user)
    if view is None:
        for _bill, key, saving in items:
            out[key] += saving
        return dict(out)
    code, city_id = view
    line_cities = {}
    if city_id:
        line_cities = dict(Line.objects.filter(kind=Line.Kind.ALLOCATION, bill__in=bills_qs,
                                               operator__code=code)
                           .values_list("bill_id", "city_id"))
    parts = bill_parts(bills_qs)
    for bill, key, saving in items:
        if city_id and line_cities.get(bill) != city_id:
            continue
        share = rules.operator_shares(saving, parts.get(bill, [])).get(code)
        if share:
            out[key] += share
    return dict(out)


# ---- realised savings -------------------------------------------------------------------------

def visible_projects(user):
    """Projects ``user`` may see: staff by the account's city; operators the done projects
    of accounts feeding a site with a tenancy of theirs (they see their share only)."""
    qs = Project.objects.all()
    view = operator_view(user)
    if view is None:
        return qs.filter(account__in=scoped(user, SupplyAccount.objects.all()))
    code, city_id = view
    sites = Q(account__splits__site__tenancies__operator__code=code)
    if city_id:
        sites &= Q(account__splits__site__county__city_id=city_id)
    return qs.filter(pk__in=Project.objects.filter(sites, status=rules.DONE).values("pk"))


def savings_bills(projects, first: date | None = None, last: date | None = None
                  ) -> tuple[list[tuple[int, int, date, Decimal]], object]:
    """(bill id, project id, month, saving) of every paid bill of the done projects whose
    period starts on or after the done date (and ends within ``first..last`` when given), and the
    bills' queryset."""
    done = {p["account_id"]: p for p in projects.filter(status=rules.DONE).values(
        "pk", "account_id", "done_on", "price_before", "direct_price")}
    if not done:
        return [], Bill.objects.none()
    earliest = min(p["done_on"] for p in done.values())
    qs = Bill.objects.filter(account_id__in=list(done), status=Bill.Status.PAID,
                             period_start__gt=earliest)
    if first is not None:
        qs = qs.filter(period_end__gte=first)
    if last is not None:
        qs = qs.filter(period_end__lte=last)
    items = []
    for pk, acc, start, end, kwh in qs.values_list("pk", "account_id", "period_start",
                                                   "period_end", "kwh"):
        p = done[acc]
        if rules.counts_after(start, p["done_on"]):
            items.append((pk, p["pk"], month_start(end),
                          rules.bill_saving(kwh, p["price_before"], p["direct_price"])))
    return items, qs


def monthly_savings(user, first: date, last: date) -> dict[date, Decimal]:
    """Month (first day) → realised 转改直 savings ``user`` may see, every month from
    ``first``'s to ``last``'s (0 where none)."""
    months = months_between(first, last)
    if not months:
        return {}
    items, qs = savings_bills(visible_projects(user), months[0], month_end(months[-1]))
    items = [(b, m, s) for b, _p, m, s in items]
    seen = visible_savings(user, items, qs)
    return {m: seen.get(m, ZERO) for m in months}


def project_payback(project: Project, today: date | None = None) -> rules.Payback | None:
    """The project's payback tracked month by month from its done month to ``today``'s."""
    if project.status != rules.DONE:
        return None
    today = today or timezone.localdate()
    items, _ = savings_bills(Project.objects.filter(pk=project.pk))
    by_month: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for _b, _p, m, s in items:
        by_month[m] += s
    end = max([today, *by_month]) if by_month else today
    months = months_between(project.done_on, end)
    return rules.payback(project.cost, project.projected_monthly,
                         [(m, by_month.get(m, ZERO)) for m in months])


def league(user, today: date | None = None) -> list[dict]:
    """Per city: projects done, in progress and failed, cost of the done ones, realised
    savings, and payback months (cost ÷ mean monthly realised savings since done)."""
    today = today or timezone.localdate()
    projects = visible_projects(user)
    rows = list(projects.values("pk", "account_id", "status", "estimated_cost", "actual_cost",
                                "done_on"))
    places = account_places(accounts_qs=projects.values("account_id"))
    items, qs = savings_bills(projects)
    per_project = visible_savings(user, [(b, p, s) for b, p, _m, s in items], qs)
    cities: dict[str, dict] = {}
    for r in rows:
        city = places.get(r["account_id"], {}).get("city") or "—"
        c = cities.setdefault(city, {"city": city, "done": 0, "open": 0, "failed": 0,
                                     "cost": ZERO, "savings": ZERO, "months": 0})
        if r["status"] == rules.DONE:
            c["done"] += 1
            c["cost"] += r["actual_cost"] if r["actual_cost"] is not None else r["estimated_cost"]
            c["savings"] += per_project.get(r["pk"], ZERO)
            c["months"] += len(months_between(r["done_on"], today))
        elif r["status"] == rules.FAILED:
            c["failed"] += 1
        else:
            c["open"] += 1
    out = []
    for c in cities.values():
        monthly = c["savings"] / c["months"] if c["months"] else ZERO
        c["payback_months"] = rules.payback_months(c["cost"], monthly) if c["done"] else None
        if operator_view(user) is not None:
            c["cost"] = c["payback_months"] = None    # the tower's figures, not theirs
        out.append(c)
    out.sort(key=lambda c: (-c["savings"], -c["done"], c["city"]))
    return out


# ---- candidates -------------------------------------------------------------------------------

def direct_prices(on: date) -> dict[int, Decimal]:
    """The direct catalogue price in force on ``on`` per province (rows in date order)."""
    out = {}
    for prov, price in (DirectPrice.objects.filter(effective_from__lte=on)
                        .order_by("effective_from").values_list("province_id", "price")):
        out[prov] = price
    return out


def direct_price_of(province_id, on: date) -> Decimal:
    return direct_prices(on).get(province_id, rules.DEFAULT_DIRECT_PRICE)


def cost_defaults() -> dict[str, Decimal]:
    return {**rules.DEFAULT_COST, **dict(CostDefault.objects.values_list("site_type", "cost"))}


def candidate_accounts(user=None, city_id: int | None = None):
    """The resupply accounts (not lump-sum) ``user`` may see, of a city if given (any of
    their fed sites in it)."""
    accounts = scoped(user, SupplyAccount.objects.filter(supply_mode=SupplyMode.RESUPPLY,
                                                          lump_sum=False))
    if city_id:
        accounts = accounts.filter(pk__in=AccountSite.objects.filter(
            site__county__city_id=city_id).values("account_id"))
    return accounts


def candidate_rows(accounts, today: date) -> list[dict]:
    """The ranking's rows of ``accounts`` as of ``today``, unsorted — the one place of the
    rule ``yearly kWh × (current price − direct price) − cost`` and of its inputs (a fixed
    number of queries, whatever the number of accounts)."""
    live = Project.objects.exclude(status=rules.FAILED)
    bills = Bill.objects.exclude(status=Bill.Status.VOID)
    usage = {r["account_id"]: r for r in bills.filter(
        account__in=accounts, period_end__gt=today - timedelta(days=365),
        period_end__lte=today, kwh__isnull=False).values("account_id").annotate(
        kwh=Sum("kwh"), first=Min("period_start"), last=Max("period_end"))}
    last_price = Subquery(bills.filter(account=OuterRef("pk"), unit_price__isnull=False,
                                       period_start__lte=today)
                          .order_by("-period_start", "-pk").values("unit_price")[:1])
    places = account_places(accounts_qs=accounts)
    estimates = dict(Estimate.objects.filter(account__in=accounts)
                     .values_list("account_id", "cost"))
    projects = {acc: (code, status, cost) for acc, code, status, cost in live.filter(
        account__in=accounts).values_list("account_id", "code", "status", "estimated_cost")}
    prices, defaults = direct_prices(today), cost_defaults()
    out = []
    for a in accounts.annotate(last_price=last_price).values(
            "pk", "account_no", "supplier_name", "input_invoice_type", "last_price"):
        place = places.get(a["pk"], {})
        u = usage.get(a["pk"], {})
        yearly = rules.yearly_kwh(u.get("kwh"), u.get("first"), u.get("last"))
        direct = prices.get(place.get("province_id"), rules.DEFAULT_DIRECT_PRICE)
        project = projects.get(a["pk"])
        if project:
            cost, source = project[2], "project"
        elif a["pk"] in estimates:
            cost, source = estimates[a["pk"]], "estimate"
        else:
            cost = defaults.get(place.get("site_type"), rules.FALLBACK_COST)
            source = "default"
        out.append({
            "account_id": a["pk"], "account_no": a["account_no"],
            "supplier_name": a["supplier_name"], "invoice_type": a["input_invoice_type"],
            "city": place.get("city") or "", "site_code": place.get("site_code") or "",
            "site_type": place.get("site_type") or "", "yearly_kwh": yearly,
            "current_price": a["last_price"], "direct_price": direct, "cost": cost,
            "cost_source": source,
            "figure": rules.ranking_figure(yearly, a["last_price"], direct, cost),
            "project": project[0] if project else "",
            "project_status": project[1] if project else ""})
    return out


def candidates(user, city_id: int | None = None, today: date | None = None) -> list[dict]:
    """Every resupply account ``user`` may see, ranked by yearly kWh × price gap − cost,
    computed now (the pages read the stored ranking: ``ranked``)."""
    today = today or timezone.localdate()
    out = candidate_rows(candidate_accounts(user, city_id), today)
    out.sort(key=lambda r: (-r["figure"], r["account_no"]))
    return out


# ---- the stored ranking (read page by page) ---------------------------------------------------

STORED = ("account_id", "account_no", "supplier_name", "invoice_type", "city", "site_code",
          "site_type", "yearly_kwh", "current_price", "direct_price", "cost", "cost_source",
          "figure")
KEEP_RANKINGS = 2


def _stored(ranking_id: int, rows: list[dict]) -> list[dict]:
    return [{"ranking_id": ranking_id, **{k: r[k] for k in STORED}} for r in rows]


def store_ranking(as_of: date) -> Ranking:
    """Rank every candidate of the province as of ``as_of`` and store it (replacing a
    ranking of the same day; only the latest few are kept). Idempotent."""
    rows = candidate_rows(candidate_accounts(None), as_of)
    with transaction.atomic():
        Ranking.objects.filter(as_of=as_of).delete()
        ranking = Ranking.objects.create(as_of=as_of, accounts=len(rows))
        copy_insert(RankedCandidate, _stored(ranking.pk, rows))
        old = list(Ranking.objects.order_by("-as_of").values_list("pk", flat=True)
                   [KEEP_RANKINGS:])
        if old:
            RankedCandidate.objects.filter(ranking_id__in=old).delete()
            Ranking.objects.filter(pk__in=old).delete()
    return ranking


def latest_ranking() -> Ranking | None:
    return Ranking.objects.order_by("-as_of").first()


def refresh_ranked(account_ids: Iterable[int]) -> None:
    """Re-rank these accounts in the latest ranking, as of its day (a cost entered, a
    project submitted, failed or done): their rows computed again by the same rule, an
    account no longer a candidate dropped."""
    ranking = latest_ranking()
    if ranking is None:
        return
    ids = list(account_ids)
    rows = candidate_rows(candidate_accounts(None).filter(pk__in=ids), ranking.as_of)
    with transaction.atomic():
        RankedCandidate.objects.filter(ranking=ranking, account_id__in=ids).delete()
        copy_insert(RankedCandidate, _stored(ranking.pk, rows))
        Ranking.objects.filter(pk=ranking.pk).update(
            accounts=RankedCandidate.objects.filter(ranking=ranking).count())


def ranked(user, ranking: Ranking, city_id: int | None = None):
    """The ranking's rows ``user`` may see (of a city, if given), best first: a queryset to
    page through. Province admins and viewers read the rows as stored (no join: a count and
    a page of 36,000 rows in a fraction of a second); a conversion done removes its row at
    once (``refresh_ranked``), an account an import turned direct leaves at the next close."""
    qs = RankedCandidate.objects.filter(ranking=ranking)
    scope = scope_filter(user, "sites.supplyaccount")
    if scope is None:
        return qs.none()
    if scope:   # an account is in scope by its fed sites: the same rule on its splits
        qs = qs.filter(account_id__in=scoped(user, AccountSite.objects.all())
                       .values("account_id"))
    if city_id:
        qs = qs.filter(account_id__in=AccountSite.objects.filter(
            site__county__city_id=city_id).values("account_id"))
    return qs.order_by("-figure", "account_no")


def current_ranking() -> Ranking:
    """The latest stored ranking; none yet: rank as of today and store it."""
    return latest_ranking() or store_ranking(timezone.localdate())


def ranked_part(qs, offset: int, limit: int) -> list[dict]:
    """Rows ``offset`` .. ``offset + limit`` of a ``ranked`` queryset as dicts, with their
    rank and the account's live project (code, status)."""
    part = list(qs[offset:offset + limit].values(*STORED))
    projects = live_projects(r["account_id"] for r in part)
    return [{**r, "rank": offset + i, "project": projects.get(r["account_id"], ("", ""))[0],
             "project_status": projects.get(r["account_id"], ("", ""))[1]}
            for i, r in enumerate(part, start=1)]


def live_projects(account_ids) -> dict[int, tuple[str, str]]:
    """account id → (code, status) of its live (or done) project, as of now."""
    return {acc: (code, status) for acc, code, status in Project.objects.exclude(
        status=rules.FAILED).filter(account_id__in=list(account_ids)).values_list(
        "account_id", "code", "status")}
