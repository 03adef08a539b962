"""Read endpoints of the decommissioning program (拆站), scoped like every other:

* ``GET /v1/decommissions``            cases with their checklist (what is still open, zh
  and en) — tower staff of the site's city; operators none;
* ``GET /v1/decommissions/{case_id}``  one case with its checklist and its log.
"""

from datetime import date, datetime

from ninja import Field, Query, Router, Schema

from towerledger.api.errors import ErrorOut
from towerledger.api.pagination import PageParams, page
from towerledger.api.scoping import visible, visible_one
from towerledger.programs.decommission import services
from towerledger.programs.decommission.models import CaseEvent, Decommissioning

PREFIX = "/v1/decommissions"
router = Router(tags=["decommission"])


class DecommissionCaseFilter(Schema):
    status: str | None = Field(None, max_length=10, description="OPEN | ARCHIVED | REOPENED")
    site_code: str | None = Field(None, max_length=40)


class DecommissionItemOut(Schema):
    zh: str
    en: str


class DecommissionStepOut(Schema):
    code: str = Field(..., description="REQUEST, TENANCIES, READINGS, BILLS, ACCOUNTS, RENT, "
                                       "ARCHIVE")
    label_zh: str
    label_en: str
    done: bool
    open: list[DecommissionItemOut]


class DecommissionCaseOut(Schema):
    case_id: int
    site_code: str
    site_status: str
    decommission_date: date
    status: str
    reason: str
    requested_by: str | None
    requested_at: datetime
    archived_at: datetime | None
    checklist: list[DecommissionStepOut]


class EventOut(Schema):
    at: datetime
    step: str
    user: str | None
    reason: str
    details: dict


class CaseDetailOut(DecommissionCaseOut):
    events: list[EventOut]


class DecommissionCasePage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[DecommissionCaseOut]


def _row(c: Decommissioning) -> dict:
    return {"case_id": c.pk, "site_code": c.site.site_code, "site_status": c.site.status,
            "decommission_date": c.planned_date, "status": c.status, "reason": c.reason,
            "requested_by": c.requested_by.username if c.requested_by_id else None,
            "requested_at": c.requested_at, "archived_at": c.archived_at,
            "checklist": [{"code": s.code, "label_zh": s.label[0], "label_en": s.label[1],
                           "done": s.done, "open": [{"zh": zh, "en": en} for zh, en in s.open]}
                          for s in services.checklist(c)]}


def _cases(request):
    return visible(request, Decommissioning.objects.select_related("site", "requested_by"))


@router.get("", response={200: DecommissionCasePage, 403: ErrorOut, 422: ErrorOut},
            summary="Decommissionings with their checklist (拆站)")
def list_cases(request, filters: Query[DecommissionCaseFilter], paging: Query[PageParams]):
    qs = _cases(request)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.site_code:
        qs = qs.filter(site__site_code=filters.site_code)
    return page(qs.order_by("-requested_at", "-pk"), paging,
                lambda part: [_row(c) for c in part])


@router.get("/{case_id}", response={200: CaseDetailOut, 403: ErrorOut, 404: ErrorOut},
            summary="One decommissioning with its checklist and log")
def get_case(request, case_id: int):
    c = visible_one(request, _cases(request), pk=case_id)
    events = CaseEvent.objects.filter(case=c).select_related("user")
    return {**_row(c), "events": [{"at": e.at, "step": e.step, "reason": e.reason,
                                   "user": e.user.username if e.user_id else None,
                                   "details": e.details} for e in events]}
