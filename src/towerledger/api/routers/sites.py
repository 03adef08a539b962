"""GET /api/v1/sites and /api/v1/sites/{site_code} (站址)."""

from django.db.models import Q
from ninja import Field, Query, Router, Schema

from towerledger.access.scope import scoped
from towerledger.api import rows
from towerledger.api.pagination import PageParams, page
from towerledger.api.schemas import SiteDetailOut, SitePage
from towerledger.api.scoping import visible, visible_one
from towerledger.sites.models import AccountSite, Site, Tenancy

router = Router(tags=["sites"])


class SiteFilters(Schema):
    city: str | None = Field(None, description="city name, e.g. 郑州市")
    county: str | None = Field(None, description="county name")
    status: str | None = Field(None, description="ACTIVE | DECOMMISSIONED | ARCHIVED")
    site_type: str | None = Field(None, description="MACRO | INDOOR | SMALL | ROOM")
    q: str | None = Field(None, description="site_code prefix or part of site_name")


def hosts_in_scope(user, found: list[dict]) -> list[dict]:
    """A small site's host is named only when the caller may see it (an operator with no
    tenancy on the host gets null), as in the exports (exchange.export)."""
    hosts = {r["host_site_code"] for r in found if r["host_site_code"]}
    if hosts:
        visible = set(scoped(user, Site.objects.filter(site_code__in=hosts))
                      .values_list("site_code", flat=True))
        for r in found:
            if r["host_site_code"] not in visible:
                r["host_site_code"] = None
    return found


@router.get("", response=SitePage, summary="Sites you may see (站址列表)")
def list_sites(request, filters: Query[SiteFilters], paging: Query[PageParams]):
    qs = visible(request, Site.objects.all())
    for name, lookup in (("city", "county__city__name"), ("county", "county__name"),
                         ("status", "status"), ("site_type", "site_type")):
        if getattr(filters, name):
            qs = qs.filter(**{lookup: getattr(filters, name)})
    if filters.q:
        qs = qs.filter(Q(site_code__istartswith=filters.q) | Q(site_name__icontains=filters.q))
    return page(qs.order_by("site_code"), paging,
                lambda s: hosts_in_scope(request.auth_user, rows.rows(s, rows.SITE)))


# "path:": a code stored with a "/" (before the import refused it) still has its record
@router.get("/{path:site_code}", response=SiteDetailOut, summary="One site (站址详情)")
def get_site(request, site_code: str):
    site = visible_one(request, Site.objects.all(), site_code=site_code)
    user = request.auth_user
    out = hosts_in_scope(user, [rows.one(Site.objects.filter(pk=site.pk), rows.SITE)])[0]
    out["tenancies"] = list(scoped(user, Tenancy.objects.filter(site=site))
                            .order_by("tenancy_id").values_list("tenancy_id", flat=True))
    out["accounts"] = list(scoped(user, AccountSite.objects.filter(site=site))
                           .order_by("account__account_no")
                           .values_list("account__account_no", flat=True))
    return out
