"""Read endpoints of the generator program (油机发电), scoped like every other (a clerk
their city; province admins and viewers all):

* ``GET /v1/generator/outages?month=``          the month's outages (停电)
* ``GET /v1/generator/runs?month=&run_no=``     the month's runs (发电) with their findings
  and the lines each was billed as (``run_no``: that run, whatever its month)
* ``GET /v1/generator/analysis?month=``         the month's figures by city and operator

Operators read none of these (their GENERATOR lines are under /v1/lines). Billing is done
on the page and by the month close (the API's writes are the operators' and the
corrections'; a write for the tower side's billing would be a new kind of caller).
"""

from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count
from ninja import Field, Query, Router, Schema

from towerledger.access.models import Role
from towerledger.access.scope import role_of
from towerledger.api.errors import ApiError, ErrorOut
from towerledger.api.pagination import PageParams, page
from towerledger.api.params import Month
from towerledger.api.scoping import visible
from towerledger.programs.generator import services
from towerledger.programs.generator.models import Outage, Run, RunLine

PREFIX = "/v1/generator"
router = Router(tags=["generator"])


class MonthFilter(Schema):
    month: Month | None = Field(None, description="the month the outages / runs started in "
                                                  "(default: this month)")


class RunFilter(MonthFilter):
    run_no: str | None = Field(None, max_length=40, description="one run, whatever its month")


def _bounds(month):
    from django.utils import timezone

    return services.month_bounds(month or timezone.localdate().replace(day=1))


class OutageOut(Schema):
    outage_no: str
    site_code: str
    start: datetime
    end: datetime
    hours: Decimal
    cause: str
    runs: int


class OutagePage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[OutageOut]


class FindingOut(Schema):
    code: str
    severity: str
    message_zh: str
    message_en: str
    figures: dict
    resolved: bool
    resolution: str


class RunLineOut(Schema):
    line_id: str
    tenancy_id: str | None
    operator: str | None
    cost_share: Decimal
    receivable: Decimal
    status: str


class RunOut(Schema):
    run_no: str
    outage_no: str | None
    site_code: str
    crew: str
    start: datetime
    end: datetime
    hours: Decimal
    litres: Decimal
    fuel_price: Decimal
    labour_cost: Decimal
    transport_cost: Decimal
    rated_lph: Decimal | None
    cost: Decimal
    paid_date: date | None
    billed: bool
    held: bool
    findings: list[FindingOut]
    lines: list[RunLineOut]


class RunPage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[RunOut]


class GeneratorFiguresOut(Schema):
    city: str
    operator: str = Field(..., description="empty: the city's whole cost")
    outages: int
    runs: int
    hours: Decimal
    cost: Decimal
    billed: Decimal
    confirmed: Decimal
    written_off: Decimal
    recovery_rate: Decimal | None


def _run_rows(runs) -> list[dict]:
    runs = list(runs.select_related("site", "outage").prefetch_related("findings"))
    billed = set(Run.objects.filter(pk__in=[r.pk for r in runs], billing__isnull=False)
                 .values_list("pk", flat=True))
    held = services.held_run_ids(r.pk for r in runs)
    lines = {}
    for rl in RunLine.objects.filter(run__in=[r.pk for r in runs]).select_related(
            "line__tenancy", "line__operator").order_by("line_id"):
        lines.setdefault(rl.run_id, []).append({
            "line_id": f"L{rl.line_id}",
            "tenancy_id": rl.line.tenancy.tenancy_id if rl.line.tenancy_id else None,
            "operator": rl.line.operator.code if rl.line.operator_id else None,
            "cost_share": rl.line.cost_share, "receivable": rl.line.receivable,
            "status": rl.line.status})
    return [{
        "run_no": r.run_no, "outage_no": r.outage.outage_no if r.outage else None,
        "site_code": r.site.site_code, "crew": r.crew, "start": r.start, "end": r.end,
        "hours": r.hours, "litres": r.litres, "fuel_price": r.fuel_price,
        "labour_cost": r.labour_cost, "transport_cost": r.transport_cost,
        "rated_lph": r.rated_lph, "cost": r.cost, "paid_date": r.paid_date,
        "billed": r.pk in billed, "held": r.pk in held and r.pk not in billed,
        "findings": [{"code": f.code, "severity": f.severity, "message_zh": f.message_zh,
                      "message_en": f.message_en, "figures": f.figures,
                      "resolved": not f.is_open, "resolution": f.resolution}
                     for f in r.findings.all()],
        "lines": lines.get(r.pk, []),
    } for r in runs]


def _staff(request):
    if role_of(request.auth_user) not in (Role.PROVINCE_ADMIN, Role.CITY_CLERK, Role.VIEWER):
        raise ApiError(403)


@router.get("/outages", response={200: OutagePage, 403: ErrorOut, 422: ErrorOut},
            summary="The month's outages (停电记录)")
def list_outages(request, filters: Query[MonthFilter], paging: Query[PageParams]):
    _staff(request)
    first, after = _bounds(filters.month)
    qs = visible(request, Outage.objects.filter(start__gte=first, start__lt=after)) \
        .select_related("site").annotate(n=Count("runs")).order_by("start", "outage_no")
    return page(qs, paging, lambda part: [{
        "outage_no": o.outage_no, "site_code": o.site.site_code, "start": o.start,
        "end": o.end, "hours": o.hours, "cause": o.cause, "runs": o.n} for o in part])


@router.get("/runs", response={200: RunPage, 403: ErrorOut, 422: ErrorOut},
            summary="The month's generator runs (发电记录) with findings and lines")
def list_runs(request, filters: Query[RunFilter], paging: Query[PageParams]):
    _staff(request)
    if filters.run_no:
        qs = Run.objects.filter(run_no=filters.run_no)
    else:
        first, after = _bounds(filters.month)
        qs = Run.objects.filter(start__gte=first, start__lt=after)
    return page(visible(request, qs).order_by("start", "run_no"), paging, _run_rows)


@router.get("/analysis", response={200: list[GeneratorFiguresOut], 403: ErrorOut, 422: ErrorOut},
            summary="The month's generator figures by city and operator (发电分析)")
def analysis(request, filters: Query[MonthFilter]):
    _staff(request)
    from django.utils import timezone

    return services.month_figures(filters.month or timezone.localdate().replace(day=1),
                                  request.auth_user)
