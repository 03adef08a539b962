"""Read endpoints of the rent program, scoped like every other (under /api/v1/rent):

* ``GET /contracts``           landlord contracts; the landlord and its bank account only for
                               the tower's staff, never for operators (they see the contracts
                               of the sites they are on, without the landlord);
* ``GET /schedule?contract_no=`` a contract's payment schedule (tower staff);
* ``GET /payments``            rent and deposit payments (tower staff);
* ``GET /lines``               RENT and SITE_FEE_LUMP_SUM lines (operators: their own);
* ``GET /site-fees``           lump-sum site-fee agreements (operators: their tenancies');
* ``GET /months``              the monthly figures by city stored by the close (tower staff).
"""

from datetime import date
from decimal import Decimal

from ninja import Query, Router, Schema

from towerledger.access.models import Role
from towerledger.access.scope import role_of
from towerledger.api.errors import ApiError, ErrorOut
from towerledger.api.pagination import PageParams, page
from towerledger.api.scoping import visible, visible_one
from towerledger.programs.rent.models import (
    RentContract,
    RentMonth,
    RentPayment,
    ScheduleItem,
    SiteFeeAgreement,
)
from towerledger.settlement.models import Line

PREFIX = "/v1/rent"
router = Router(tags=["rent"])


class LandlordOut(Schema):
    name: str
    kind: str
    bank_name: str
    bank_account: str


class RentContractOut(Schema):
    contract_no: str
    site_code: str
    start_date: date
    end_date: date
    terminated_on: date | None
    annual_rent: Decimal
    payment_cycle: str
    payment_timing: str
    escalation: str
    escalation_pct: Decimal
    escalation_step: Decimal
    deposit: Decimal | None = None
    pass_through: str
    landlord: LandlordOut | None = None


class ContractPage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[RentContractOut]


class ItemOut(Schema):
    seq: int
    period_start: date
    period_end: date
    due_date: date
    year: int
    annual_rent: Decimal
    amount: Decimal
    cancelled: bool
    paid: bool


class PaymentOut(Schema):
    payment_no: str
    contract_no: str
    seq: int | None
    kind: str
    paid_date: date
    amount: Decimal
    reference: str


class PaymentPage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[PaymentOut]


class RentLineOut(Schema):
    line_id: str
    kind: str
    site_code: str
    tenancy_id: str
    operator: str
    month: date
    period_start: date
    period_end: date
    active_days: int
    share: Decimal
    receivable: Decimal
    status: str
    text_zh: str
    text_en: str


class RentLinePage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[RentLineOut]


class SiteFeeOut(Schema):
    tenancy_id: str
    operator: str
    site_code: str
    monthly_fee: Decimal
    effective_from: date
    effective_to: date | None


class MonthOut(Schema):
    month: date
    city: str
    paid: Decimal
    passed_through: Decimal
    borne: Decimal
    overdue: Decimal
    overdue_items: int
    site_fees: Decimal
    site_fee_rent: Decimal
    site_fee_gap: Decimal


def _operator(request) -> bool:
    return role_of(request.auth_user) == Role.OPERATOR


def _contract(c: RentContract, operator: bool) -> dict:
    out = {"contract_no": c.contract_no, "site_code": c.site.site_code,
           "start_date": c.start_date, "end_date": c.end_date, "terminated_on": c.terminated_on,
           "annual_rent": c.annual_rent, "payment_cycle": c.cycle, "payment_timing": c.timing,
           "escalation": c.escalation, "escalation_pct": c.escalation_pct,
           "escalation_step": c.escalation_step, "pass_through": c.pass_through}
    if not operator:
        out["deposit"] = c.deposit
        if c.landlord:
            lord = c.landlord
            out["landlord"] = {"name": lord.name, "kind": lord.kind,
                               "bank_name": lord.bank_name, "bank_account": lord.bank_account}
    return out


@router.get("/contracts", response={200: ContractPage, 403: ErrorOut, 422: ErrorOut},
            summary="Rent contracts (场租合同)",
            description="Contracts in your scope by contract number. Operators see the "
                        "contracts of the sites they are on, without the landlord or its "
                        "bank details.")
def contracts(request, paging: Query[PageParams], site_code: str | None = None):
    qs = visible(request, RentContract.objects.select_related("site", "landlord"))
    if site_code:
        qs = qs.filter(site__site_code=site_code)
    operator = _operator(request)
    return page(qs.order_by("contract_no"), paging,
                lambda part: [_contract(c, operator) for c in part])


@router.get("/schedule", response={200: list[ItemOut], 403: ErrorOut, 404: ErrorOut,
                                   422: ErrorOut},
            summary="A contract's payment schedule (付款计划)",
            description="The schedule of ``contract_no`` (required; tower staff only: "
                        "operators are refused whatever they ask).")
def schedule(request, contract_no: str | None = None):
    if _operator(request):
        raise ApiError(403)
    if not contract_no:
        raise ApiError(422)
    c = visible_one(request, RentContract.objects.all(), contract_no=contract_no)
    paid = set(RentPayment.objects.filter(contract=c, item__isnull=False)
               .values_list("item_id", flat=True))
    return [{"seq": i.seq, "period_start": i.period_start, "period_end": i.period_end,
             "due_date": i.due_date, "year": i.year, "annual_rent": i.annual_rent,
             "amount": i.amount, "cancelled": i.cancelled, "paid": i.pk in paid}
            for i in ScheduleItem.objects.filter(contract=c).order_by("seq")]


@router.get("/payments", response={200: PaymentPage, 403: ErrorOut, 422: ErrorOut},
            summary="Rent payments to landlords (场租付款)")
def payments(request, paging: Query[PageParams]):
    qs = visible(request, RentPayment.objects.select_related("contract", "item"))
    return page(qs.order_by("paid_date", "payment_no"), paging, lambda part: [
        {"payment_no": p.payment_no, "contract_no": p.contract.contract_no,
         "seq": p.item.seq if p.item else None, "kind": p.kind, "paid_date": p.paid_date,
         "amount": p.amount, "reference": p.reference} for p in part])


@router.get("/lines", response={200: RentLinePage, 403: ErrorOut, 422: ErrorOut},
            summary="Rent and site-fee lines (场租、场地费包干明细)",
            description="RENT and SITE_FEE_LUMP_SUM lines in your scope (operators: their "
                        "own), with their explanation; tower-borne rows are never listed.")
def lines(request, paging: Query[PageParams], kind: str | None = None):
    kinds = [k for k in (Line.Kind.RENT, Line.Kind.SITE_FEE_LUMP_SUM) if not kind or k == kind]
    qs = visible(request, Line.objects.of_operators().filter(kind__in=kinds)).select_related(
        "site", "tenancy", "operator", "explained")
    return page(qs.order_by("pk"), paging, lambda part: [
        {"line_id": f"L{ln.pk}", "kind": ln.kind, "site_code": ln.site.site_code,
         "tenancy_id": ln.tenancy.tenancy_id if ln.tenancy else "",
         "operator": ln.operator.code if ln.operator else "", "month": ln.month,
         "period_start": ln.period_start, "period_end": ln.period_end,
         "active_days": ln.active_days, "share": ln.share, "receivable": ln.receivable,
         "status": ln.status, "text_zh": ln.trace.get("text_zh", ""),
         "text_en": ln.trace.get("text_en", "")} for ln in part])


@router.get("/site-fees", response={200: list[SiteFeeOut], 403: ErrorOut},
            summary="Lump-sum site-fee agreements (场地费包干)")
def site_fees(request):
    qs = visible(request, SiteFeeAgreement.objects.select_related(
        "tenancy__site", "tenancy__operator")).order_by("tenancy__tenancy_id", "effective_from")
    return [{"tenancy_id": a.tenancy.tenancy_id, "operator": a.tenancy.operator.code,
             "site_code": a.tenancy.site.site_code, "monthly_fee": a.monthly_fee,
             "effective_from": a.effective_from, "effective_to": a.effective_to}
            for a in qs[:5000]]


@router.get("/months", response={200: list[MonthOut], 403: ErrorOut},
            summary="Monthly rent figures by city (场租月度分析)")
def months(request):
    qs = visible(request, RentMonth.objects.select_related("city")).order_by("month",
                                                                             "city__name")
    return [{"month": m.month, "city": m.city.name, "paid": m.paid,
             "passed_through": m.passed_through, "borne": m.borne, "overdue": m.overdue,
             "overdue_items": m.overdue_items, "site_fees": m.site_fees,
             "site_fee_rent": m.site_fee_rent, "site_fee_gap": m.site_fee_gap}
            for m in qs[:5000]]
