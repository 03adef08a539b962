"""Read endpoints of the accruals program, scoped like every other.

* ``GET /v1/accruals?month=YYYY-MM`` the month's accruals (暂估; without ``month``: the
  latest month that has any) with their inputs and site parts: province admins and viewers all, city clerks those reaching their city; operators
  none (403): accruals are the tower company's internal figures.
"""

from datetime import date
from decimal import Decimal

from ninja import Query, Router, Schema

from towerledger.access.models import Role
from towerledger.access.scope import profile_of, role_of
from towerledger.api.pagination import PageParams, page
from towerledger.api.params import Month
from towerledger.api.scoping import visible
from towerledger.programs.accruals.models import Accrual

PREFIX = "/v1/accruals"
router = Router(tags=["accruals"])


class AccrualFilters(Schema):
    month: Month | None = None
    account_no: str | None = None


class SitePartOut(Schema):
    site_code: str
    split_ratio: Decimal
    amount: Decimal


class AccrualOut(Schema):
    month: str
    account_no: str
    until: date
    days_uncovered: int
    first_uncovered: date
    basis_from: date | None
    basis_to: date | None
    basis_days: int
    use_per_day: Decimal
    by_money: bool
    unit_price: Decimal | None
    amount: Decimal
    reverse_on: str
    posted_on: date | None
    reversed_on: date | None
    sites: list[SitePartOut]


class AccrualPage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[AccrualOut]


def _rows(accruals, city: int | None = None):
    """Rows with their site parts (a city clerk's: the parts in their city only)."""
    out = []
    for a in accruals.select_related("account").prefetch_related("parts__site__county"):
        out.append({
            "month": f"{a.month:%Y-%m}", "account_no": a.account.account_no, "until": a.until,
            "days_uncovered": a.days_uncovered, "first_uncovered": a.first_uncovered,
            "basis_from": a.basis_from, "basis_to": a.basis_to, "basis_days": a.basis_days,
            "use_per_day": a.use_per_day, "by_money": a.by_money, "unit_price": a.unit_price,
            "amount": a.amount, "reverse_on": a.reverse_on, "posted_on": a.posted_on,
            "reversed_on": a.reversed_on,
            "sites": [{"site_code": p.site.site_code, "split_ratio": p.split_ratio,
                       "amount": p.amount}
                      for p in sorted(a.parts.all(), key=lambda p: p.site.site_code)
                      if city is None or p.site.county.city_id == city]})
    return out


@router.get("", response=AccrualPage, summary="A month's accruals (暂估)")
def list_accruals(request, filters: Query[AccrualFilters], paging: Query[PageParams]):
    qs = visible(request, Accrual.objects.all())
    month = filters.month or qs.order_by("-month").values_list("month", flat=True).first()
    qs = qs.filter(month=month)
    if filters.account_no:
        qs = qs.filter(account__account_no=filters.account_no)
    user = request.auth_user
    city = profile_of(user).city_id if role_of(user) == Role.CITY_CLERK else None
    return page(qs.order_by("account__account_no", "pk"), paging, lambda s: _rows(s, city))
