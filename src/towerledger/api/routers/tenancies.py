"""GET /api/v1/tenancies and /api/v1/tenancies/{tenancy_id} (租户服务)."""

from django.db.models import Q
from ninja import Field, Query, Router, Schema

from towerledger.api import rows
from towerledger.api.pagination import PageParams, page
from towerledger.api.params import Day
from towerledger.api.schemas import TenancyOut, TenancyPage
from towerledger.api.scoping import visible, visible_one
from towerledger.sites.models import Tenancy

router = Router(tags=["tenancies"])


class TenancyFilters(Schema):
    site_code: str | None = None
    operator: str | None = Field(None, description="CMCC | CUCC | CTCC | CBN | OTHER")
    city: str | None = Field(None, description="city name")
    county: str | None = Field(None, description="county name")
    settlement_mode: str | None = Field(None, description="RESALE | ON_BEHALF | LUMP_SUM")
    active_on: Day | None = Field(None, description="only tenancies active on this day")


@router.get("", response=TenancyPage, summary="Tenancies you may see (租户服务列表)")
def list_tenancies(request, filters: Query[TenancyFilters], paging: Query[PageParams]):
    qs = visible(request, Tenancy.objects.all())
    for name, lookup in (("site_code", "site__site_code"), ("operator", "operator__code"),
                         ("city", "site__county__city__name"), ("county", "site__county__name"),
                         ("settlement_mode", "settlement_mode")):
        if getattr(filters, name):
            qs = qs.filter(**{lookup: getattr(filters, name)})
    if filters.active_on:
        qs = qs.filter(Q(end_date__isnull=True) | Q(end_date__gte=filters.active_on),
                       start_date__lte=filters.active_on)
    return page(qs.order_by("tenancy_id"), paging, lambda s: rows.rows(s, rows.TENANCY))


@router.get("/{tenancy_id}", response=TenancyOut, summary="One tenancy (租户服务详情)")
def get_tenancy(request, tenancy_id: str):
    tenancy = visible_one(request, Tenancy.objects.all(), tenancy_id=tenancy_id)
    return rows.one(Tenancy.objects.filter(pk=tenancy.pk), rows.TENANCY)
