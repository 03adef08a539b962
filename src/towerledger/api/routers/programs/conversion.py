"""Read endpoints of the conversion program (转改直), scoped like every other:

* ``GET /v1/conversions/candidates``   resupply accounts ranked (staff; ``city`` filter)
* ``GET /v1/conversions/projects``     projects (staff)
* ``GET /v1/conversions/project?project=CODE``  one project with its steps and payback
* ``GET /v1/conversions/savings``      realised savings by month (everyone: an operator
  gets only its own share, never an account's price)
* ``GET /v1/conversions/league``       the cities' league table (operators: their share,
  without the tower's cost and payback)
"""

from datetime import date
from decimal import Decimal

from django.utils import timezone
from ninja import Field, Query, Router, Schema

from towerledger.access.models import Role
from towerledger.access.scope import role_of
from towerledger.api.errors import ApiError, ErrorOut
from towerledger.api.pagination import PageParams, page
from towerledger.api.params import Month
from towerledger.api.scoping import visible, visible_one
from towerledger.programs.conversion import report
from towerledger.programs.conversion.models import Project

PREFIX = "/v1/conversions"
router = Router(tags=["conversion"])
STAFF = (Role.PROVINCE_ADMIN, Role.CITY_CLERK, Role.VIEWER)


def _staff(request):
    if role_of(request.auth_user) not in STAFF:
        raise ApiError(403)


class CandidateFilter(Schema):
    city_id: int | None = Field(None, ge=1, le=2**31 - 1)


class CandidateOut(Schema):
    rank: int
    account_no: str
    city: str
    site_code: str
    site_type: str
    yearly_kwh: Decimal
    current_price: Decimal | None
    direct_price: Decimal
    cost: Decimal
    cost_source: str = Field(..., description="project | estimate | default")
    figure: Decimal = Field(..., description="yearly kWh × (current − direct price) − cost")
    project: str
    project_status: str


class CandidatePage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[CandidateOut]


class ProjectOut(Schema):
    code: str
    account_no: str
    status: str
    estimated_cost: Decimal
    actual_cost: Decimal | None
    price_before: Decimal
    direct_price: Decimal
    new_invoice_type: str
    yearly_kwh: Decimal
    projected_monthly: Decimal
    submitted_on: date
    approved_on: date | None
    built_on: date | None
    done_on: date | None
    failed_on: date | None


class ProjectPage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[ProjectOut]


class StepOut(Schema):
    step: str
    from_state: str
    to_state: str
    on: date
    by: str | None
    reason: str


class PaybackMonthOut(Schema):
    month: date
    saving: Decimal
    cumulative: Decimal
    projected_cumulative: Decimal
    remaining: Decimal


class PaybackOut(Schema):
    projected_months: Decimal | None
    realised_monthly: Decimal
    realised_months: Decimal | None
    reached: date | None
    months: list[PaybackMonthOut]


class ProjectDetailOut(ProjectOut):
    steps: list[StepOut]
    payback: PaybackOut | None


class SavingsFilter(Schema):
    first: Month | None = Field(None, description="first month, YYYY-MM (default: January)")
    last: Month | None = Field(None, description="last month, YYYY-MM (default: this month)")


def month_range(filters) -> tuple[date, date]:
    """(first day of ``first``, last day of ``last``): this year to date by default; 422
    for a range backwards or longer than ten years."""
    today = timezone.localdate()
    first = filters.first or date(today.year, 1, 1)
    last = filters.last or today.replace(day=1)
    if last < first or (last.year - first.year) > 10:
        raise ApiError(422)
    end = date(last.year + last.month // 12, last.month % 12 + 1, 1)
    return first, date.fromordinal(end.toordinal() - 1)


class MonthSavingOut(Schema):
    month: date
    saving: Decimal


class LeagueOut(Schema):
    city: str
    done: int
    open: int
    failed: int
    cost: Decimal | None
    savings: Decimal
    payback_months: Decimal | None


PROJECT_FIELDS = ("code", "account__account_no", "status", "estimated_cost", "actual_cost",
                  "price_before", "direct_price", "new_invoice_type", "yearly_kwh",
                  "projected_monthly", "submitted_on", "approved_on", "built_on", "done_on",
                  "failed_on")


def _project_row(p: dict) -> dict:
    return {**{k: v for k, v in p.items() if k != "account__account_no"},
            "account_no": p["account__account_no"]}


@router.get("/candidates", response={200: CandidatePage, 403: ErrorOut, 422: ErrorOut},
            summary="Resupply accounts ranked for conversion (转改直候选)")
def candidates(request, filters: Query[CandidateFilter], paging: Query[PageParams]):
    _staff(request)
    # the stored ranking (the last month close's), page by page: ranking 100,000 accounts
    # per request would take seconds
    qs = report.ranked(request.auth_user, report.current_ranking(), filters.city_id)
    count = qs.count()
    part = report.ranked_part(qs, paging.offset, paging.limit)
    following = paging.offset + len(part)
    return {"count": count, "limit": paging.limit, "offset": paging.offset,
            "next_offset": following if following < count else None, "items": part}


@router.get("/projects", response={200: ProjectPage, 403: ErrorOut, 422: ErrorOut},
            summary="Conversion projects (转改直项目)")
def projects(request, paging: Query[PageParams]):
    _staff(request)
    qs = visible(request, Project.objects.all()).order_by("-submitted_on", "code")
    return page(qs, paging, lambda part: [_project_row(p) for p in part.values(
        *PROJECT_FIELDS)])


class ProjectFilter(Schema):
    project: str = Field("", max_length=40, description="the project code")


@router.get("/project", response={200: ProjectDetailOut, 403: ErrorOut, 404: ErrorOut},
            summary="One project, its steps and its payback")
def project(request, filters: Query[ProjectFilter]):
    _staff(request)
    p = visible_one(request, Project.objects.all(), code=filters.project)
    row = _project_row(Project.objects.filter(pk=p.pk).values(*PROJECT_FIELDS)[0])
    row["steps"] = [{"step": s.step, "from_state": s.from_state, "to_state": s.to_state,
                     "on": s.on, "by": s.by.username if s.by_id else None,
                     "reason": s.reason} for s in p.steps.select_related("by")]
    pb = report.project_payback(p)
    row["payback"] = None if pb is None else {
        "projected_months": pb.projected_months, "realised_monthly": pb.realised_monthly,
        "realised_months": pb.realised_months, "reached": pb.reached,
        "months": [m.__dict__ for m in pb.months]}
    return row


@router.get("/savings", response={200: list[MonthSavingOut], 403: ErrorOut, 422: ErrorOut},
            summary="Realised 转改直 savings by month (operators: their share)")
def savings(request, filters: Query[SavingsFilter]):
    if role_of(request.auth_user) is None:
        raise ApiError(403)
    first, last = month_range(filters)
    return [{"month": m, "saving": s} for m, s in
            report.monthly_savings(request.auth_user, first, last).items()]


@router.get("/league", response={200: list[LeagueOut], 403: ErrorOut},
            summary="The cities' league table of conversions")
def league(request):
    if role_of(request.auth_user) is None:
        raise ApiError(403)
    return report.league(request.auth_user, timezone.localdate())
