"""What the API returns, with the canonical English names of DOMAIN.md §8.

Amounts, kWh, ratios and prices are decimals and travel as JSON strings ("4752.00"), never as
floats; dates are ISO 8601.
"""

from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Schema


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


# ---- settlement: lines (分摊明细), confirmation (确认), disputes (争议) ------------------------
# Lines are "L123" and disputes "D45" here, as in the exports, the audit log and the trace;
# requests take "L123" or the bare number 123.

LINE_EXAMPLE = {
    "id": "L8", "kind": "ALLOCATION", "adjusts": None, "bill_no": "B-2405", "month": "2024-05",
    "site_code": "ZZ001", "tenancy_id": "T-ZZ001-CMCC", "operator": "CMCC",
    "settlement_mode": "RESALE", "period_start": "2024-05-01", "period_end": "2024-05-31",
    "active_days": 31, "share": "0.559553", "cost_share": "2659.00", "tax_factor": "0.1300",
    "tax_amount": "345.67", "receivable": "3004.67", "status": "PUSHED",
    "push_date": "2024-06-03", "confirm_due": "2024-06-13", "confirmed_at": None,
    "deemed": False,
    "explanation": {"zh": "缴费单B-2405：2024-05-01至2024-05-31，共31天，金额4752.00元；…",
                    "en": "Bill B-2405, 2024-05-01 to 2024-05-31 (31 days), 4752.00 yuan; …"}}


class ExplanationOut(Schema):
    zh: str
    en: str


class LineOut(Schema):
    id: str = Field(description='the line, "L123"')
    kind: str = Field(description="ALLOCATION | LUMP_SUM | ADJUSTMENT")
    adjusts: str | None = Field(description="the line an ADJUSTMENT corrects")
    bill_no: str | None = Field(description="the paid bill (none for LUMP_SUM)")
    month: str = Field(description="YYYY-MM the line belongs to")
    site_code: str
    tenancy_id: str
    operator: str
    settlement_mode: str = Field(description="RESALE | ON_BEHALF | LUMP_SUM")
    period_start: date
    period_end: date
    active_days: int
    share: Decimal = Field(description="share of the bill, 6 places")
    cost_share: Decimal
    tax_factor: Decimal
    tax_amount: Decimal
    receivable: Decimal = Field(description="what the operator owes for this line (yuan)")
    status: str = Field(description="PUSHED (to confirm) | CONFIRMED | DISPUTED | SUPERSEDED")
    push_date: date | None
    confirm_due: date | None = Field(description="confirm or dispute by this day")
    confirmed_at: datetime | None
    deemed: bool = Field(description="confirmed by the deadline, not by the operator")
    explanation: ExplanationOut

    model_config = {"json_schema_extra": {"examples": [LINE_EXAMPLE]}}


DISPUTE_EXAMPLE = {
    "id": "D3", "line": "L8", "bill_no": "B-2405", "site_code": "ZZ001",
    "tenancy_id": "T-ZZ001-CMCC", "operator": "CMCC", "round": 1, "reason": "KWH",
    "comment": "电表读数与我方抄表不符", "raised_at": "2024-06-05T09:30:00+08:00",
    "due": "2024-06-25", "overdue": False, "status": "PARTIAL",
    "answer": "核实后按新读数调整", "new_amount": "2800.00", "answered_at":
        "2024-06-10T15:00:00+08:00", "adjustment": "L21"}


class DisputeOut(Schema):
    id: str = Field(description='the dispute, "D45"')
    line: str = Field(description="the disputed line")
    bill_no: str | None
    site_code: str
    tenancy_id: str | None
    operator: str | None
    round: int = Field(description="2: a second dispute after a rejection (escalated)")
    reason: str
    comment: str
    raised_at: datetime
    due: date = Field(description="the tower side answers by this day")
    overdue: bool
    status: str = Field(description="OPEN | ESCALATED | ACCEPTED | PARTIAL | REJECTED")
    answer: str = Field(description="the tower side's explanation")
    new_amount: Decimal | None = Field(description="the receivable now asked (answered)")
    answered_at: datetime | None
    adjustment: str | None = Field(description="the adjustment line pushed with the answer")

    model_config = {"json_schema_extra": {"examples": [DISPUTE_EXAMPLE]}}


class LineDetailOut(LineOut):
    trace: dict = Field(description="how the line was computed (operators: other tenancies "
                                    "on the site appear as OTHER-1, OTHER-2, …)")
    disputes: list[DisputeOut]


class ConfirmIn(Schema):
    lines: list[int | str] = Field(min_length=1, max_length=5000,
                                   description='line ids, "L123" or 123; at most 5000')

    model_config = {"json_schema_extra": {"examples": [{"lines": ["L8", "L9", 12]}]}}


class ItemError(Schema):
    """The bilingual, coded error of one item of a batch (the error body's shape)."""
    code: str = Field(description="INVALID | FORBIDDEN | NOT_FOUND | CONFLICT")
    message_zh: str
    message_en: str


class RefusedOut(ItemError):
    id: str = Field(description="the line id as sent")
    reason: str = Field(description='"not found", "status DISPUTED", …')


class ConfirmOut(Schema):
    confirmed: list[str]
    already_confirmed: list[str]
    refused: list[RefusedOut]

    model_config = {"json_schema_extra": {"examples": [{
        "confirmed": ["L8", "L9"], "already_confirmed": ["L12"],
        "refused": [{"id": "L10", "reason": "status DISPUTED", "code": "CONFLICT",
                     "message_zh": "该明细状态为 DISPUTED，不能确认",
                     "message_en": "line is DISPUTED, not pending"}]}]}}


class DisputeItemIn(Schema):
    line: int | str = Field(description='the line, "L123" or 123')
    reason: str = Field(description="KWH | PRICE | RATIO | PERIOD | TENANCY | INVOICE | "
                                    "DUPLICATE | OTHER (OTHER needs a comment)")
    comment: str = Field("", max_length=4000)


class DisputesIn(Schema):
    disputes: list[DisputeItemIn] = Field(min_length=1, max_length=1000,
                                          description="at most 1000")

    model_config = {"json_schema_extra": {"examples": [{"disputes": [
        {"line": "L8", "reason": "KWH", "comment": "电表读数与我方抄表不符"},
        {"line": "L9", "reason": "OTHER", "comment": "站址已于4月退租"}]}]}}


class DisputeResultOut(Schema):
    line: str = Field(description="the line id as sent")
    ok: bool
    dispute: str | None = Field(None, description="the dispute created")
    status: str | None = Field(None, description="OPEN, or ESCALATED after a rejection")
    error: ItemError | None = None


class DisputesOut(Schema):
    results: list[DisputeResultOut] = Field(description="one per item, in the order sent")

    model_config = {"json_schema_extra": {"examples": [{"results": [
        {"line": "L8", "ok": True, "dispute": "D3", "status": "OPEN", "error": None},
        {"line": "L9", "ok": False, "dispute": None, "status": None, "error": {
            "code": "CONFLICT", "message_zh": "该明细状态为 CONFIRMED，不能提出争议",
            "message_en": "line is CONFIRMED, not pending"}}]}]}}


LinePage = page_of(LineOut)
DisputePage = page_of(DisputeOut)


# ---- collection: statements (对账单) and receipts (回款) ----------------------------------------
# Statements are named by their number ("DZ202405-CMCC-01-01"), their lines "L123".

STATEMENT_EXAMPLE = {
    "number": "DZ202405-CMCC-01-01", "operator": "CMCC", "city": "郑州市", "month": "2024-05",
    "status": "ISSUED", "lines_count": 2, "cost_share": "4000.00", "tax_amount": "300.00",
    "receivable": "4300.00", "written_off": "1000.00", "outstanding": "3300.00",
    "issued_at": "2024-06-01T09:00:00+08:00", "confirmed_at": None, "invoice_no": "",
    "invoice_date": None, "invoice_amount": None}


class StatementOut(Schema):
    number: str = Field(description='the statement, "DZ<yyyymm>-<operator>-<city>-<seq>"')
    operator: str
    city: str | None = Field(description="None: a province-level statement")
    month: str = Field(description="YYYY-MM")
    status: str = Field(description="ISSUED (to confirm) | CONFIRMED | VOID (withdrawn)")
    lines_count: int = Field(description="number of lines on the statement")
    cost_share: Decimal
    tax_amount: Decimal
    receivable: Decimal
    written_off: Decimal = Field(description="receipts applied to its lines (核销)")
    outstanding: Decimal = Field(description="receivable − written off")
    issued_at: datetime
    confirmed_at: datetime | None
    invoice_no: str = Field(description="the tower side's invoice (开票), empty until issued")
    invoice_date: date | None
    invoice_amount: Decimal | None

    model_config = {"json_schema_extra": {"examples": [STATEMENT_EXAMPLE]}}


class ModeTotalsOut(Schema):
    settlement_mode: str = Field(description="RESALE | ON_BEHALF | LUMP_SUM")
    lines: int
    cost_share: Decimal
    tax_amount: Decimal
    receivable: Decimal


class StatementLineOut(Schema):
    id: str = Field(description='the line, "L123"')
    kind: str
    month: str
    site_code: str
    tenancy_id: str | None
    settlement_mode: str
    cost_share: Decimal
    tax_amount: Decimal
    receivable: Decimal
    written_off: Decimal


class StatementDetailOut(StatementOut):
    by_mode: list[ModeTotalsOut] = Field(description="totals per settlement mode")
    lines: list[StatementLineOut] = Field(description="the statement's lines, oldest first")


RECEIPT_EXAMPLE = {
    "receipt_no": "R-202406-001", "operator": "CMCC", "city": "郑州市", "amount": "5000.00",
    "received_date": "2024-06-20", "reference": "DZ202405-CMCC-01-01",
    "applied": "4300.00", "unapplied": "700.00", "status": "PARTIAL"}


class ReceiptOut(Schema):
    receipt_no: str
    operator: str
    city: str | None
    amount: Decimal
    received_date: date
    reference: str
    applied: Decimal = Field(description="written off against lines")
    unapplied: Decimal = Field(description="not yet applied (预收 when over-paid)")
    status: str = Field(description="UNMATCHED | PARTIAL | APPLIED")

    model_config = {"json_schema_extra": {"examples": [RECEIPT_EXAMPLE]}}


StatementPage = page_of(StatementOut)
ReceiptPage = page_of(ReceiptOut)
