"""Market-trading savings: per bill ``kWh × (catalogue − traded price)`` for the paid bills
of enrolled accounts whose period ends within the contract's period, in the month of the
period end; by month, account, site, city and operator, scoped like the 转改直 savings
(operators see their share by the bills' allocation lines, never the accounts' prices)."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Q

from towerledger.access.scope import scoped
from towerledger.bills.models import Bill
from towerledger.domain import conversion as split_rules
from towerledger.domain import trading as rules
from towerledger.domain.months import month_end
from towerledger.programs.conversion.report import (
    ZERO,
    account_places,
    bill_parts,
    month_start,
    months_between,
    operator_view,
    visible_savings,
)
from towerledger.programs.trading.models import Contract, Enrolment
from towerledger.settlement.models import Line
from towerledger.sites.models import SupplyAccount


def enrolled_bills(user, first: date | None = None, last: date | None = None):
    """(items: list of dict(bill, account_id, contract, month, kwh, saving), bills qs) for
    the paid bills of enrolled accounts ``user``'s scope reaches."""
    enrol = Enrolment.objects.select_related("contract")
    view = operator_view(user)
    if view is None:
        enrol = enrol.filter(account__in=scoped(user, SupplyAccount.objects.all()))
    else:
        code, city_id = view
        q = Q(account__splits__site__tenancies__operator__code=code)
        if city_id:
            q &= Q(account__splits__site__county__city_id=city_id)
        enrol = enrol.filter(pk__in=Enrolment.objects.filter(q).values("pk"))
    by_account: dict[int, list[Contract]] = defaultdict(list)
    for e in enrol:
        by_account[e.account_id].append(e.contract)
    if not by_account:
        return [], Bill.objects.none()
    qs = Bill.objects.filter(account_id__in=list(by_account), status=Bill.Status.PAID)
    if first:
        qs = qs.filter(period_end__gte=month_start(first))
    if last:
        qs = qs.filter(period_end__lte=last)
    items = []
    for pk, acc, start, end, kwh, price, amount in qs.values_list(
            "pk", "account_id", "period_start", "period_end", "kwh", "unit_price", "amount"):
        for c in sorted(by_account[acc], key=lambda c: c.code):
            if rules.in_period(start, end, c.start, c.end):
                items.append({"bill": pk, "account_id": acc, "contract": c.code,
                              "month": month_start(end), "kwh": kwh,
                              "saving": rules.bill_saving(
                                  kwh, c.terms, rules.unit_price_of(price, amount, kwh))})
                break
    return items, qs


def monthly_savings(user, first: date, last: date) -> dict[date, Decimal]:
    """Month (first day) → realised market-trading savings ``user`` may see, every month
    from ``first``'s to ``last``'s (0 where none)."""
    months = months_between(first, last)
    if not months:
        return {}
    items, qs = enrolled_bills(user, months[0], month_end(months[-1]))
    seen = visible_savings(user, [(i["bill"], i["month"], i["saving"]) for i in items], qs)
    return {m: seen.get(m, ZERO) for m in months}


def breakdown(user, first: date, last: date) -> dict:
    """The period's savings by account, site, city and operator (an operator user gets
    only its own operator's parts; accounts are not named to it)."""
    items, qs = enrolled_bills(user, first, last)
    view = operator_view(user)
    places = account_places({i["account_id"] for i in items})
    parts = bill_parts(qs)
    nos = dict(SupplyAccount.objects.filter(pk__in={i["account_id"] for i in items})
               .values_list("pk", "account_no"))
    cities = dict(Line.objects.filter(kind=Line.Kind.ALLOCATION, bill__in=qs)
                  .values_list("site__site_code", "city__name"))
    by = {k: defaultdict(lambda: ZERO) for k in ("account", "site", "city", "operator")}
    total, kwh = ZERO, Decimal(0)
    own_cities = {}
    if view is not None and view[1]:
        own_cities = dict(Line.objects.filter(kind=Line.Kind.ALLOCATION, bill__in=qs,
                                              operator__code=view[0])
                          .values_list("bill_id", "city_id"))
    for i in items:
        split = split_rules.split_saving(i["saving"], parts.get(i["bill"], []))
        if view is not None:
            code, city_id = view
            mine = {k: v for k, v in split.items() if k[1] == code}
            if city_id and own_cities.get(i["bill"]) != city_id:
                continue
            for (site, op), amount in mine.items():
                by["site"][site] += amount
                by["city"][cities.get(site, "")] += amount
                by["operator"][op] += amount
                total += amount
            continue
        total += i["saving"]
        kwh += i["kwh"] or 0
        by["account"][nos[i["account_id"]]] += i["saving"]
        if not split:
            place = places.get(i["account_id"], {})
            by["site"][place.get("site_code", "")] += i["saving"]
            by["city"][place.get("city", "")] += i["saving"]
            by["operator"][""] += i["saving"]
        for (site, op), amount in split.items():
            by["site"][site] += amount
            by["city"][cities.get(site, "")] += amount
            by["operator"][op] += amount
    out = {k: sorted(v.items(), key=lambda kv: (-kv[1], kv[0])) for k, v in by.items()}
    out["total"], out["kwh"], out["bills"] = total, kwh, len(items)
    if view is not None:
        out["account"] = []
    return out
