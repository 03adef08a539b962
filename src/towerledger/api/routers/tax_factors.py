"""GET /api/v1/tax-factors (税负因子表): the table with its history, within the caller's
scope, and /api/v1/tax-factors/applicable/{account_no}: which row gives the factor for a
line on that account's bill.

Scope (``sites.tax_factors.visible``): province admins and viewers read every row; a city
clerk the rows for no account or an account of their city; an operator user the rows for
no account and for no other operator. Writing is the page's and the import's (province
admins only); the API reads.
"""

from datetime import date
from decimal import Decimal

from django.utils import timezone
from ninja import Field, Query, Router, Schema

from towerledger.access.scope import scoped
from towerledger.api.errors import ApiError
from towerledger.api.pagination import PageParams, page
from towerledger.domain.codes import InvoiceType, OperatorCode, SupplyMode
from towerledger.sites import terms as supply_terms
from towerledger.sites.models import SupplyAccount, TaxFactorRate
from towerledger.sites.tax_factors import account_provinces, as_dict, load_table, visible

router = Router(tags=["tax factors"])


class TaxFactorOut(Schema):
    id: int
    province: str | None = Field(None, description="null: every province")
    operator: str | None = Field(None, description="null: every operator")
    account_no: str | None = Field(None, description="null: every account")
    supply_mode: str | None = Field(None, description="DIRECT | RESUPPLY; null: either")
    invoice_type: str | None = Field(None, description="null: every invoice type")
    effective_from: date
    factor: Decimal | None = Field(None, description="4 decimals (0.0367 = 3.67 %); null "
                                                     "when the row ends the override")
    ends: bool
    in_force: bool = Field(description="the key's row in force today")
    note: str


class TaxFactorPage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[TaxFactorOut]


class TaxFactorFilters(Schema):
    province: str | None = Field(None, description="province name")
    operator: OperatorCode | None = None
    invoice_type: InvoiceType | None = None
    supply_mode: SupplyMode | None = None
    account_no: str | None = None
    effective_on_or_before: date | None = Field(None, description="rows dated on or before")


class ApplicableOut(Schema):
    factor: Decimal
    level: str = Field(description="ACCOUNT | OPERATOR | PROVINCE | DEFAULT | FORMULA")
    row: TaxFactorOut | None = Field(None, description="null: the default formula")
    on: date


def _rows(request, rates) -> list[dict]:
    today = timezone.localdate()
    table = load_table(visible(request.auth_user))
    out = []
    for rate in rates.select_related("province", "operator", "account"):
        row = as_dict(rate)
        current = table.in_force(_key(rate), today)
        row["in_force"] = current is not None and current.id == rate.pk
        out.append(row)
    return out


def _key(rate) -> tuple:
    return (rate.account_id, rate.operator.code if rate.operator_id else None,
            None if rate.account_id else rate.province_id, rate.supply_mode, rate.invoice_type)


@router.get("", response=TaxFactorPage,
            summary="The tax-factor table with its history (税负因子表)")
def list_tax_factors(request, filters: Query[TaxFactorFilters], paging: Query[PageParams]):
    qs = visible(request.auth_user)
    if filters.province:
        qs = qs.filter(province__name=filters.province)
    if filters.operator:
        qs = qs.filter(operator__code=filters.operator)
    if filters.invoice_type:
        qs = qs.filter(invoice_type=filters.invoice_type)
    if filters.supply_mode:
        qs = qs.filter(supply_mode=filters.supply_mode)
    if filters.account_no:
        qs = qs.filter(account__account_no=filters.account_no)
    if filters.effective_on_or_before:
        qs = qs.filter(effective_from__lte=filters.effective_on_or_before)
    qs = qs.order_by("province__name", "operator__code", "account__account_no", "invoice_type",
                     "supply_mode", "effective_from", "id")
    return page(qs, paging, lambda part: _rows(request, part))


class ApplicableQuery(Schema):
    operator: OperatorCode | None = Field(None, description="the line's operator (default: "
                                                            "no operator override)")
    on: date | None = Field(None, description="the bill's period end (default: today)")
    invoice_type: InvoiceType | None = Field(None, description="default: the account's")


@router.get("/applicable/{account_no}", response=ApplicableOut,
            summary="Which row gives the factor for a line on an account's bill (适用税负因子)")
def applicable(request, account_no: str, q: Query[ApplicableQuery]):
    # operators never see supply accounts: for them every account is "not found"
    account = scoped(request.auth_user, SupplyAccount.objects.all()).filter(
        account_no=account_no).first()
    if account is None:
        raise ApiError(404)
    on = q.on or timezone.localdate()
    terms = supply_terms.load([account.pk]).on(account.pk, on)    # dated: the terms on ``on``
    found = load_table().lookup(province=account_provinces([account.pk]).get(account.pk),
                                operator=q.operator, account=account.pk,
                                supply_mode=terms.supply_mode,
                                invoice_type=q.invoice_type or terms.input_invoice_type, on=on)
    row = None
    if found.row is not None:
        row = _rows(request, TaxFactorRate.objects.filter(pk=found.row.id))[0]
    return {"factor": found.factor, "level": found.level, "row": row, "on": on}


@router.get("/{rate_id}", response=TaxFactorOut, summary="One row of the tax-factor table")
def get_tax_factor(request, rate_id: int):
    rates = visible(request.auth_user).filter(pk=rate_id)
    found = _rows(request, rates)
    if not found:
        raise ApiError(404)
    return found[0]
