"""What the API returns, with the canonical English names of DOMAIN.md §8.

Amounts, kWh, ratios and prices are decimals and travel as JSON strings ("4752.00"), never as
floats; dates are ISO 8601.
"""

from datetime import date, datetime
from decimal import Decimal

from ninja import Schema


class PageBase(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None


def page_of(item: type[Schema]) -> type[PageBase]:
    """A page schema whose ``items`` are ``item``s (one named OpenAPI component per item)."""
    name = item.__name__.removesuffix("Out") + "Page"
    return type(name, (PageBase,), {"__annotations__": {"items": list[item]}})


class ScopeOut(Schema):
    level: str  # PROVINCE | CITY | OPERATOR | NONE
    city: str | None
    operator: str | None


class MeOut(Schema):
    username: str
    role: str | None
    scope: ScopeOut
    can_change: bool


class SiteOut(Schema):
    site_code: str
    site_name: str
    province: str
    city: str
    county: str
    site_type: str
    host_site_code: str | None
    status: str
    decommission_date: date | None
    longitude: Decimal | None
    latitude: Decimal | None


class SiteDetailOut(SiteOut):
    tenancies: list[str]  # tenancy_id of the tenancies you may see on this site
    accounts: list[str]  # account_no of the supply accounts feeding it (not for operators)


class TenancyOut(Schema):
    tenancy_id: str
    site_code: str
    operator: str
    start_date: date
    end_date: date | None
    settlement_mode: str
    lump_sum_monthly: Decimal | None
    rated_power_w: Decimal | None
    dc_current_a: Decimal | None
    agreed_ratio: Decimal | None


class AccountSiteOut(Schema):
    site_code: str
    split_ratio: Decimal


class AccountOut(Schema):
    account_no: str
    supply_mode: str
    supplier_type: str
    supplier_name: str
    input_invoice_type: str
    contract_price: Decimal | None
    price_cap: Decimal | None
    payment_cycle_months: int
    multiplier: Decimal
    lump_sum: bool
    sites: list[AccountSiteOut]


class BillOut(Schema):
    id: int
    bill_no: str
    account_no: str
    dup_seq: int
    period_start: date
    period_end: date
    start_reading: Decimal | None
    end_reading: Decimal | None
    multiplier: Decimal | None
    loss_kwh: Decimal | None
    kwh: Decimal | None
    unit_price: Decimal | None
    amount: Decimal
    input_tax: Decimal | None
    invoice_type: str
    status: str
    paid_date: date | None
    payment_ref: str
    blocking: int  # open BLOCK flags
    warnings: int  # open WARN flags


class FlagOut(Schema):
    code: str
    severity: str
    status: str
    message_zh: str
    message_en: str
    figures: dict
    resolution: str
    resolved_at: datetime | None


class BillDetailOut(BillOut):
    flags: list[FlagOut]


SitePage = page_of(SiteOut)
TenancyPage = page_of(TenancyOut)
AccountPage = page_of(AccountOut)
BillPage = page_of(BillOut)
