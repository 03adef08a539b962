"""Read endpoints of the generator program (油机发电), scoped like every other, and one
write: bill a month's runs or a list of runs (the same service as the page and the close).

* ``GET  /v1/generator/outages``            the month's outages (停电)
* ``GET  /v1/generator/runs``               the month's runs (发电) with their findings
* ``GET  /v1/generator/runs/{run_no}``      one run, its findings and the lines it was billed as
* ``GET  /v1/generator/analysis``           the month's figures by city and operator
* ``POST /v1/generator/bill``               bill (idempotent per run)

Operators read none of these (their GENERATOR lines are under /v1/lines).
"""

from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count
from ninja import Field, Path, Query, Router, Schema

from towerledger.access.models import Role
from towerledger.access.scope import role_of
from towerledger.api.errors import ApiError, ErrorOut
from towerledger.api.pagination import PageParams, page
from towerledger.api.params import Month
from towerledger.api.scoping import visible, visible_one
from towerledger.programs.generator import services
from towerledger.programs.generator.models import Outage, Run, RunLine

PREFIX = "/v1/generator"
router = Router(tags=["generator"])


class MonthFilter(Schema):
    month: Month = Field(..., description="the month the outages / runs started in")


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


class RunPage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[RunOut]


class RunLineOut(Schema):
    line_id: str
    tenancy_id: str | None
    operator: str | None
    cost_share: Decimal
    receivable: Decimal
    status: str


class RunDetailOut(RunOut):
    lines: list[RunLineOut]


class FiguresOut(Schema):
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


class BillIn(Schema):
    month: Month | None = None
    run_nos: list[str] = Field(default_factory=list, max_length=5000)


class BillOut(Schema):
    billed: list[str]
    held: list[str]
    lines: int
    amount: Decimal


def _run_rows(runs) -> list[dict]:
    runs = list(runs.select_related("site", "outage").prefetch_related("findings"))
    billed = set(Run.objects.filter(pk__in=[r.pk for r in runs], billing__isnull=False)
                 .values_list("pk", flat=True))
    held = services.held_run_ids(r.pk for r in runs)
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
    } for r in runs]


def _staff(request):
    if role_of(request.auth_user) not in (Role.PROVINCE_ADMIN, Role.CITY_CLERK, Role.VIEWER):
        raise ApiError(403)


@router.get("/outages", response={200: OutagePage, 403: ErrorOut, 422: ErrorOut},
            summary="The month's outages (停电记录)")
def list_outages(request, filters: Query[MonthFilter], paging: Query[PageParams]):
    _staff(request)
    first, after = services.month_bounds(filters.month)
    qs = visible(request, Outage.objects.filter(start__gte=first, start__lt=after)) \
        .select_related("site").annotate(n=Count("runs")).order_by("start", "outage_no")
    return page(qs, paging, lambda part: [{
        "outage_no": o.outage_no, "site_code": o.site.site_code, "start": o.start,
        "end": o.end, "hours": o.hours, "cause": o.cause, "runs": o.n} for o in part])


@router.get("/runs", response={200: RunPage, 403: ErrorOut, 422: ErrorOut},
            summary="The month's generator runs (发电记录) with their audit findings")
def list_runs(request, filters: Query[MonthFilter], paging: Query[PageParams]):
    _staff(request)
    first, after = services.month_bounds(filters.month)
    qs = visible(request, Run.objects.filter(start__gte=first, start__lt=after)) \
        .order_by("start", "run_no")
    return page(qs, paging, _run_rows)


@router.get("/runs/{run_no}", response={200: RunDetailOut, 403: ErrorOut, 404: ErrorOut},
            summary="One run, its findings and its lines")
def get_run(request, run_no: str = Path(..., max_length=40)):
    _staff(request)
    run = visible_one(request, Run.objects.all(), run_no=run_no)
    row = _run_rows(Run.objects.filter(pk=run.pk))[0]
    row["lines"] = [{"line_id": f"L{rl.line_id}",
                     "tenancy_id": rl.line.tenancy.tenancy_id if rl.line.tenancy_id else None,
                     "operator": rl.line.operator.code if rl.line.operator_id else None,
                     "cost_share": rl.line.cost_share, "receivable": rl.line.receivable,
                     "status": rl.line.status}
                    for rl in RunLine.objects.filter(run=run).select_related(
                        "line__tenancy", "line__operator").order_by("line_id")]
    return row


@router.get("/analysis", response={200: list[FiguresOut], 403: ErrorOut, 422: ErrorOut},
            summary="The month's generator figures by city and operator (发电分析)")
def analysis(request, filters: Query[MonthFilter]):
    _staff(request)
    visible(request, Run.objects.none())
    return services.month_figures(filters.month, request.auth_user)


@router.post("/bill", response={200: BillOut, 403: ErrorOut, 422: ErrorOut},
             summary="Bill a month's runs or the runs named (出账)",
             description="Runs held by an open BLOCK finding are listed under ``held`` and "
                         "not billed; a run already billed is not billed again.")
def bill(request, body: BillIn):
    if role_of(request.auth_user) not in (Role.PROVINCE_ADMIN, Role.CITY_CLERK):
        raise ApiError(403)
    if not body.month and not body.run_nos:
        raise ApiError(422)
    ids = None
    if body.run_nos:
        ids = list(Run.objects.filter(run_no__in=body.run_nos).values_list("pk", flat=True))
    r = services.bill_runs(request.auth_user, month=body.month if not ids else None,
                           run_ids=ids)
    return {"billed": r.billed, "held": r.held, "lines": r.lines, "amount": r.amount}
