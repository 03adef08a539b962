"""GET /api/v1/accounts and /api/v1/accounts/{account_no} (电表户号/报账点).

Operators never see supply accounts: the list answers 403, a single account 404.
"""

from django.db.models import Q
from ninja import Field, Query, Router, Schema

from towerledger.access.scope import scoped
from towerledger.api import rows
from towerledger.api.pagination import PageParams, page
from towerledger.api.schemas import AccountOut, AccountPage
from towerledger.api.scoping import visible, visible_one
from towerledger.sites.models import AccountSite, SupplyAccount

router = Router(tags=["accounts"])


class AccountFilters(Schema):
    site_code: str | None = Field(None, description="accounts feeding this site")
    supply_mode: str | None = Field(None, description="DIRECT | RESUPPLY")
    supplier_type: str | None = Field(None, description="GRID | LANDLORD | PROPERTY | THIRD_PARTY")
    q: str | None = Field(None, description="account_no prefix or part of supplier_name")


def with_sites(user, accounts: list[dict]) -> list[dict]:
    """Attach each account's fed sites (only those in scope) with their split ratios."""
    splits = scoped(user, AccountSite.objects.filter(account__in=[a["pk"] for a in accounts]))
    by_account = {}
    for account_id, site_code, ratio in splits.order_by("site__site_code").values_list(
            "account_id", "site__site_code", "split_ratio"):
        by_account.setdefault(account_id, []).append({"site_code": site_code,
                                                      "split_ratio": ratio})
    return [{**a, "sites": by_account.get(a.pop("pk"), [])} for a in accounts]


@router.get("", response=AccountPage, summary="Supply accounts you may see (电表户号列表)")
def list_accounts(request, filters: Query[AccountFilters], paging: Query[PageParams]):
    qs = visible(request, SupplyAccount.objects.all())
    if filters.site_code:
        qs = qs.filter(pk__in=AccountSite.objects.filter(site__site_code=filters.site_code)
                       .values("account"))
    for name in ("supply_mode", "supplier_type"):
        if getattr(filters, name):
            qs = qs.filter(**{name: getattr(filters, name)})
    if filters.q:
        qs = qs.filter(Q(account_no__istartswith=filters.q)
                       | Q(supplier_name__icontains=filters.q))
    return page(qs.order_by("account_no"), paging,
                lambda s: with_sites(request.auth_user, rows.rows(s, rows.ACCOUNT)))


@router.get("/{account_no}", response=AccountOut, summary="One supply account (电表户号详情)")
def get_account(request, account_no: str):
    account = visible_one(request, SupplyAccount.objects.all(), account_no=account_no)
    found = rows.rows(SupplyAccount.objects.filter(pk=account.pk), rows.ACCOUNT)
    return with_sites(request.auth_user, found)[0]
