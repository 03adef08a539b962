"""资源数据质量: the scorecard's facts read set-wise (a fixed handful of queries whatever the
number of sites — no query per site), judged by the pure rules of ``domain.quality``, and
counted per county, city and province. The month close stores the month's scorecard
(``close_snapshot``); the pages compute the live one for the user's scope."""

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.apps import apps
from django.db import transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q

from towerledger.bills.models import Bill
from towerledger.db.bulk import OneOf, chunked
from towerledger.domain import quality as dq
from towerledger.domain.codes import SiteStatus
from towerledger.domain.months import month_end
from towerledger.org.models import County
from towerledger.programs.quality.models import QualityScore
from towerledger.settlement.models import Line
from towerledger.sites.models import AccountSite, Site, SupplyAccount, Tenancy

CHUNK = 10_000


@dataclass
class Found:
    """What each rule found and what it judged: key → the counties it belongs to."""

    problems: dict[str, dict] = field(default_factory=lambda: defaultdict(dict))
    judged: dict[str, dict] = field(default_factory=lambda: defaultdict(dict))
    why: dict[str, dict] = field(default_factory=lambda: defaultdict(dict))  # key → (zh, en)


def _in_city(prefix: str, city_id) -> Q:
    return Q(**{f"{prefix}county__city_id": city_id}) if city_id else Q()


def _rent_contract_model():
    if not apps.is_installed("towerledger.programs.rent"):
        return None
    try:
        from towerledger.programs.rent.models import RentContract
    except ImportError:
        return None
    return RentContract


def find(as_of: date, month: date | None = None, city_id=None) -> Found:
    """Every rule over the province (or one city): ``as_of`` dates the silent-account rule,
    ``month`` (default: as_of's) the bills judged for their unit price."""
    month = (month or as_of).replace(day=1)
    f = Found()
    _sites(f, city_id)
    acc = _accounts(f, as_of, city_id)
    _tenancies(f, city_id)
    _bills(f, month, acc, city_id)
    _rent(f, city_id)
    _lines(f, city_id)
    return f


def _sites(f: Found, city_id):
    qs = Site.objects.exclude(status=SiteStatus.ARCHIVED).filter(_in_city("", city_id))
    for pk, county, lon, lat in qs.values_list("pk", "county_id", "longitude",
                                               "latitude").iterator(chunk_size=CHUNK):
        f.judged["sites"][pk] = (county,)
        if lon is None or lat is None:
            f.problems["SITE_NO_COORDS"][pk] = (county,)


def _accounts(f: Found, as_of: date, city_id) -> dict:
    """The account rules; returns account → counties (for the bills)."""
    acc, live = defaultdict(set), set()
    in_city = AccountSite.objects.filter(_in_city("site__", city_id))
    for a, county, status in in_city.values_list("account_id", "site__county_id",
                                                 "site__status").iterator(chunk_size=CHUNK):
        acc[a].add(county)
        if status != SiteStatus.ARCHIVED:
            live.add(a)
    acc = {a: tuple(sorted(c)) for a, c in acc.items()}

    def where(a):
        return acc.get(a) or ((None,) if not city_id else None)

    accounts = SupplyAccount.objects.all()
    if city_id:
        accounts = accounts.filter(pk__in=in_city.values("account_id"))
    else:
        orphans = accounts.filter(~Exists(AccountSite.objects.filter(account=OuterRef("pk"))))
        for pk in orphans.values_list("pk", flat=True):
            f.problems["ACCOUNT_NO_SITE"][pk] = (None,)
    cycles = {}
    for pk, cycle in accounts.values_list("pk", "payment_cycle_months").iterator(
            chunk_size=CHUNK):
        f.judged["accounts"][pk] = where(pk)
        cycles[pk] = cycle
    # splits not summing to 100 (all of an account's splits, inside the city or not)
    splits = AccountSite.objects.filter(account_id__in=accounts.values("pk")) if city_id \
        else AccountSite.objects.all()
    for a, total in dq.splits_off(splits.values_list("account_id", "split_ratio")
                                  .iterator(chunk_size=CHUNK)).items():
        f.problems["SPLIT_NOT_100"][a] = acc[a] if a in acc else (None,)
        f.why["SPLIT_NOT_100"][a] = (f"比例合计 {total.normalize():f}%", f"splits sum to "
                                     f"{total.normalize():f} %")
    # silent accounts: no bill in the last 3 months (or the payment cycle), live sites only
    last = dict(Bill.objects.exclude(status=Bill.Status.VOID).filter(
        period_start__lte=as_of, account_id__in=accounts.values("pk")).values("account_id")
        .annotate(m=Max("period_end")).values_list("account_id", "m"))
    judged = {}   # (last period end, cycle) → silent: a few hundred pairs, judged once each

    def silent(end, cycle):
        if (end, cycle) not in judged:
            judged[end, cycle] = dq.silent(end, as_of, cycle)
        return judged[end, cycle]

    for a in live:
        if a in cycles and silent(last.get(a), cycles[a]):
            f.problems["SILENT_ACCOUNT"][a] = acc[a]
            f.why["SILENT_ACCOUNT"][a] = (f"最后缴费单截至 {last.get(a) or '—'}",
                                          f"last bill ends {last.get(a) or '—'}")
    # duplicate numbers are judged over the whole province (a twin may be in another city)
    for number, keys in dq.duplicate_groups(SupplyAccount.objects.values_list(
            "pk", "account_no").iterator(chunk_size=CHUNK)).items():
        for k in keys:
            counties = where(k)
            if counties is not None and k in cycles:
                f.problems["DUP_ACCOUNT_NO"][k] = counties
                f.why["DUP_ACCOUNT_NO"][k] = (f"规范化后为 {number}", f"normalised: {number}")
    return acc


def _tenancies(f: Found, city_id):
    qs = Tenancy.objects.filter(_in_city("site__", city_id))
    for pk, county in qs.values_list("pk", "site__county_id").iterator(chunk_size=CHUNK):
        f.judged["tenancies"][pk] = (county,)
    # only a tenancy with a twin (same site and operator) can overlap: the others are left
    # out by the query, not by Python
    twins = qs.filter(Exists(Tenancy.objects.filter(
        site_id=OuterRef("site_id"), operator_id=OuterRef("operator_id")).exclude(
        pk=OuterRef("pk"))))
    rows = twins.values_list("pk", "site_id", "operator_id", "start_date", "end_date")
    for pk in dq.overlapping(rows.iterator(chunk_size=CHUNK)):
        f.problems["TENANCY_OVERLAP"][pk] = f.judged["tenancies"][pk]
    running = qs.filter(site__status=SiteStatus.ARCHIVED).filter(
        Q(end_date__isnull=True) | Q(site__decommission_date__isnull=True)
        | Q(end_date__gt=F("site__decommission_date")))
    for pk, county in running.values_list("pk", "site__county_id"):
        f.problems["ACTIVE_ON_ARCHIVED"][pk] = (county,)


def _bills(f: Found, month: date, acc: dict, city_id):
    bills = Bill.objects.exclude(status=Bill.Status.VOID).filter(
        period_end__gte=month, period_end__lte=month_end(month))
    if city_id:
        bills = bills.filter(account_id__in=list(acc))
    this = list(bills.values_list("pk", "account_id", "period_start", "unit_price"))
    for pk, a, _, _ in this:
        f.judged["bills"][pk] = acc.get(a, (None,))
    priced = [b for b in this if b[3] is not None]
    history = defaultdict(list)   # account → [(period_start, pk, price)] oldest first
    since = dq.months_back(month, 24)
    priced_since = Bill.objects.exclude(status=Bill.Status.VOID).filter(
        period_start__gte=since, unit_price__isnull=False)
    # an account with no more priced bills than the minimum history has never enough
    # earlier prices to be judged (price_deviation: None): its history is not read
    enough = set(priced_since.values("account_id").annotate(n=Count("pk")).filter(
        n__gt=dq.PRICE_MIN_HISTORY).values_list("account_id", flat=True))
    for part in chunked(sorted({a for _, a, _, _ in priced} & enough), CHUNK):
        for a, start, pk, price in Bill.objects.exclude(status=Bill.Status.VOID).filter(
                OneOf("account_id", part), period_start__gte=since,
                unit_price__isnull=False).order_by("account_id", "period_start", "pk") \
                .values_list("account_id", "period_start", "pk", "unit_price"):
            history[a].append((start, pk, price))
    for pk, a, start, price in priced:
        if a not in history:
            continue
        earlier = history[a][:bisect_left(history[a], (start, pk))]
        dev = dq.price_deviation(price, [p for _, _, p in earlier])
        if dev is not None:
            f.problems["PRICE_DEVIATION"][pk] = acc.get(a, (None,))
            f.why["PRICE_DEVIATION"][pk] = (f"偏离近6期中位数 {dev}%",
                                            f"{dev} % off the median of the last 6 bills")


def _rent(f: Found, city_id):
    rent_lines = Line.objects.filter(kind=Line.Kind.RENT, site__isnull=False).filter(
        _in_city("site__", city_id))
    paying = dict(rent_lines.values_list("site_id", "site__county_id").distinct())
    contract = _rent_contract_model()
    have = set(contract.objects.values_list("site_id", flat=True).distinct()) \
        if contract else set()
    for site, county in paying.items():
        f.judged["rent_sites"][site] = (county,)
        if site not in have:
            f.problems["RENT_NO_CONTRACT"][site] = (county,)


def _lines(f: Found, city_id):
    """Operators' lines (their current versions) on archived sites for days after the
    decommission date that still charge something: a correction (void, adjustment to 0)
    clears them."""
    archived = Line.objects.current().of_operators().filter(
        site__status=SiteStatus.ARCHIVED).filter(_in_city("site__", city_id))
    for pk, county, end, day, receivable in archived.values_list(
            "pk", "site__county_id", "period_end", "site__decommission_date", "receivable"):
        f.judged["archived_lines"][pk] = (county,)
        if receivable and (day is None or end is None or end > day):
            f.problems["LINE_ON_ARCHIVED"][pk] = (county,)
            f.why["LINE_ON_ARCHIVED"][pk] = (f"明细期间至 {end}，拆站日期 {day}",
                                             f"the line runs to {end}; decommissioned {day}")


# ---- the scorecard ----------------------------------------------------------------------

Unit = tuple[str, int | None, int | None]   # (level, city id, county id)


def scorecards(f: Found, city_id=None) -> dict[Unit, list[dq.Score]]:
    """Scores per county, city and (for the province) the province itself."""
    city_of = dict(County.objects.values_list("pk", "city_id"))

    known = {}

    def units(counties):   # a few hundred distinct tuples of counties: worked out once each
        out = known.get(counties)
        if out is None:
            out = set() if city_id else {("P", None, None)}
            for c in counties:
                if c is not None:
                    out |= {("K", city_of[c], c), ("C", city_of[c], None)}
            known[counties] = out
        return out

    problems: dict = defaultdict(lambda: defaultdict(set))
    totals: dict = defaultdict(lambda: defaultdict(int))
    for rule, keys in f.problems.items():
        for key, counties in keys.items():
            for u in units(counties):
                problems[u][rule].add(key)
    for denominator, keys in f.judged.items():
        for counties in keys.values():
            for u in units(counties):
                totals[u][denominator] += 1
    return {u: dq.scorecard(problems[u], totals[u]) for u in set(problems) | set(totals)}


def keys_in(f: Found, rule: str, city_id=None, county_id=None) -> list:
    """The records of ``rule`` in a unit (the drill-down list), in key order."""
    city_of = dict(County.objects.values_list("pk", "city_id")) if city_id else {}
    out = []
    for key, counties in f.problems.get(rule, {}).items():
        if county_id and county_id not in counties:
            continue
        if city_id and not any(city_of.get(c) == city_id for c in counties):
            continue
        out.append(key)
    return sorted(out)


def store_month(month: date, as_of: date | None = None) -> dict:
    """The month's scorecard for every unit, replacing what was stored (idempotent)."""
    month = month.replace(day=1)
    as_of = min(as_of or month_end(month), month_end(month))
    cards = scorecards(find(as_of, month))
    rows = [QualityScore(month=month, level=lvl, city_id=city, county_id=county,
                         rule=s.rule, count=s.count, total=s.total)
            for (lvl, city, county), scores in cards.items() for s in scores]
    with transaction.atomic():
        QualityScore.objects.filter(month=month).delete()
        QualityScore.objects.bulk_create(rows, batch_size=5000)
    province = cards.get(("P", None, None), [])
    return {"rows": len(rows), "problems": sum(s.count for s in province)}


def live(today: date, city_id=None) -> Found:
    """The live scorecard's facts: as of today, unit prices judged on the bills of the last
    complete month (the open month's bills are mostly still to come)."""
    return find(today, today.replace(day=1) - timedelta(days=1), city_id)


def close_snapshot(sender=None, month=None, user=None, as_of=None, **kw) -> dict:
    """analysis.close.month_snapshots receiver: the month's scorecard, as of its last day."""
    return store_month(month, month_end(month))
