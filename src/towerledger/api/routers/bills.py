"""GET /api/v1/bills and /api/v1/bills/{bill_id} with its audit flags (缴费单, 稽核).

Operators never see bills (they see allocation lines, issue 4): list 403, one bill 404.
"""

from ninja import Field, Query, Router, Schema

from towerledger.api import rows
from towerledger.api.pagination import PageParams, page
from towerledger.api.params import Day
from towerledger.api.schemas import BillDetailOut, BillPage
from towerledger.api.scoping import visible, visible_one
from towerledger.bills.models import Bill
from towerledger.sites.models import AccountSite

router = Router(tags=["bills"])


class BillFilters(Schema):
    account_no: str | None = None
    site_code: str | None = Field(None, description="bills of accounts feeding this site")
    status: str | None = Field(None, description="UNPAID | PAID | VOID")
    period_from: Day | None = Field(None, description="bills whose period ends on or after")
    period_to: Day | None = Field(None, description="bills whose period starts on or before")
    blocked: bool | None = Field(None, description="true: only bills with open BLOCK flags")


@router.get("", response=BillPage, summary="Bills you may see (缴费单列表)")
def list_bills(request, filters: Query[BillFilters], paging: Query[PageParams]):
    qs = visible(request, Bill.objects.all())
    if filters.account_no:
        qs = qs.filter(account__account_no=filters.account_no)
    if filters.site_code:
        qs = qs.filter(account__in=AccountSite.objects.filter(site__site_code=filters.site_code)
                       .values("account"))
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.period_from:
        qs = qs.filter(period_end__gte=filters.period_from)
    if filters.period_to:
        qs = qs.filter(period_start__lte=filters.period_to)
    if filters.blocked is not None:
        qs = qs.filter(blocking__gt=0) if filters.blocked else qs.filter(blocking=0)
    ordered = qs.order_by("-period_start", "account__account_no", "bill_no", "dup_seq", "pk")
    return page(ordered, paging, lambda s: rows.rows(s, rows.BILL))


@router.get("/{bill_id}", response=BillDetailOut, summary="One bill with its flags (缴费单详情)")
def get_bill(request, bill_id: int):
    bill = visible_one(request, Bill.objects.all(), pk=bill_id)
    out = rows.one(Bill.objects.filter(pk=bill.pk), rows.BILL)
    out["flags"] = rows.rows(bill.flags.order_by("code"), rows.FLAG)
    return out
