"""Read endpoints of the theft program (偷电整治与效益分成), scoped like every other:

* ``GET /v1/theft/cases``    cases with their state, deadline and baseline (tower staff);
* ``GET /v1/theft/savings``  measured savings per case and month with their inputs (tower
  staff); an operator gets the case-months it was charged a share of, with its own share;
* ``GET /v1/theft/shares``   SAVINGS_SHARE lines pushed for case-months, with the
  explanation (operators: their own lines only);
* ``GET /v1/theft/credits``  RECOVERY_CREDIT lines of recoveries (operators: their own).
"""

from datetime import date
from decimal import Decimal

from ninja import Field, Query, Router, Schema

from towerledger.access.models import Role
from towerledger.access.scope import role_of
from towerledger.api.errors import ErrorOut
from towerledger.api.pagination import PageParams, page
from towerledger.api.params import Month
from towerledger.api.scoping import visible
from towerledger.programs.theft.models import Case, RecoveryCredit, SavingsMonth, ShareCharge

PREFIX = "/v1/theft"
router = Router(tags=["theft"])


class CaseFilter(Schema):
    state: str | None = Field(None, max_length=14, description="SUSPECTED, INVESTIGATING, …")
    site_code: str | None = Field(None, max_length=40)


class CaseOut(Schema):
    case_no: str
    site_code: str
    account_no: str
    city: str
    source: str
    suspected_from: date
    suspected_to: date
    detected_on: date
    state: str
    due: date
    remediated_on: date | None
    baseline_per_day: Decimal | None
    handler: str


class CasePage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[CaseOut]


class MonthRange(Schema):
    first: Month | None = Field(None, description="from this month (YYYY-MM)")
    last: Month | None = Field(None, description="to this month (YYYY-MM)")


class SavingsOut(Schema):
    case_no: str
    month: date
    baseline_per_day: Decimal
    actual_per_day: Decimal
    days: int
    unit_price: Decimal
    savings: Decimal
    tower_share: Decimal | None
    tower_amount: Decimal | None = Field(None, description="operators: their own share line")


class SavingsPage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[SavingsOut]


class ProgramLineOut(Schema):
    line_id: str
    case_no: str
    month: date
    site_code: str
    operator: str | None
    tenancy_id: str | None
    receivable: Decimal
    status: str
    explanation_zh: str
    explanation_en: str
    reference: str = Field(..., description="the case-month (shares) or the recovery (credits)")


class LinePage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[ProgramLineOut]


def _months(qs, rng: MonthRange, field: str):
    if rng.first:
        qs = qs.filter(**{f"{field}__gte": rng.first})
    if rng.last:
        qs = qs.filter(**{f"{field}__lte": rng.last})
    return qs


@router.get("/cases", response={200: CasePage, 403: ErrorOut, 422: ErrorOut},
            summary="Theft cases (偷电案件)")
def list_cases(request, filters: Query[CaseFilter], paging: Query[PageParams]):
    qs = visible(request, Case.objects.select_related("site", "account", "city"))
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.site_code:
        qs = qs.filter(site__site_code=filters.site_code)
    return page(qs.order_by("case_no"), paging, lambda part: [{
        "case_no": c.case_no, "site_code": c.site.site_code, "account_no": c.account.account_no,
        "city": c.city.name, "source": c.source, "suspected_from": c.suspected_from,
        "suspected_to": c.suspected_to, "detected_on": c.detected_on, "state": c.state,
        "due": c.due, "remediated_on": c.remediated_on, "baseline_per_day": c.baseline_per_day,
        "handler": c.handler_name} for c in part])


@router.get("/savings", response={200: SavingsPage, 403: ErrorOut, 422: ErrorOut},
            summary="Measured savings per case and month (节省电费)")
def list_savings(request, rng: Query[MonthRange], paging: Query[PageParams]):
    if role_of(request.auth_user) == Role.OPERATOR:
        qs = _months(visible(request, ShareCharge.objects.select_related(
            "savings_month__case", "line")), rng, "savings_month__month")
        return page(qs.order_by("savings_month__month", "line_id"), paging, lambda part: [{
            **_savings_row(sc.savings_month), "tower_amount": sc.line.receivable}
            for sc in part])
    qs = _months(visible(request, SavingsMonth.objects.select_related("case")), rng, "month")
    return page(qs.order_by("month", "case__case_no"), paging,
                lambda part: [_savings_row(sm) for sm in part])


def _savings_row(sm: SavingsMonth) -> dict:
    return {"case_no": sm.case.case_no, "month": sm.month,
            "baseline_per_day": sm.baseline_per_day, "actual_per_day": sm.actual_per_day,
            "days": sm.days, "unit_price": sm.unit_price, "savings": sm.savings,
            "tower_share": sm.tower_share, "tower_amount": sm.tower_amount}


def _line_row(ln, case_no: str, reference: str) -> dict:
    t = ln.trace
    return {"line_id": f"L{ln.pk}", "case_no": case_no, "month": ln.month,
            "site_code": ln.site.site_code, "operator": ln.operator.code if ln.operator_id else None,
            "tenancy_id": ln.tenancy.tenancy_id if ln.tenancy_id else None,
            "receivable": ln.receivable, "status": ln.status,
            "explanation_zh": t.get("text_zh", ""), "explanation_en": t.get("text_en", ""),
            "reference": reference}


@router.get("/shares", response={200: LinePage, 403: ErrorOut, 422: ErrorOut},
            summary="Savings share lines (效益分成明细)")
def list_shares(request, rng: Query[MonthRange], paging: Query[PageParams]):
    qs = _months(visible(request, ShareCharge.objects.select_related(
        "savings_month__case", "line__site", "line__operator", "line__tenancy")),
        rng, "savings_month__month")
    return page(qs.order_by("savings_month__month", "line_id"), paging, lambda part: [
        _line_row(sc.line, sc.savings_month.case.case_no,
                  f"{sc.savings_month.case.case_no}/{sc.savings_month.month:%Y-%m}")
        for sc in part])


@router.get("/credits", response={200: LinePage, 403: ErrorOut, 422: ErrorOut},
            summary="Recovery credit lines (追缴退还明细)")
def list_credits(request, paging: Query[PageParams]):
    qs = visible(request, RecoveryCredit.objects.select_related(
        "recovery__case", "line__site", "line__operator", "line__tenancy"))
    return page(qs.order_by("recovery__received_on", "line_id"), paging, lambda part: [
        _line_row(rc.line, rc.recovery.case.case_no, rc.recovery.reference) for rc in part])
