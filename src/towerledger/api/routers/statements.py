"""The operators' systems' side of collection (DOMAIN.md §2 steps 7–8), under /api/v1:

* ``GET  /statements``                  statements (对账单) in your scope, by month and status;
* ``GET  /statements/{number}``         one statement: totals by settlement mode, its lines;
* ``POST /statements/{number}/confirm`` the operator confirms its statement (电子确认);
* ``GET  /receipts``                    receipts (回款) with what is applied and unapplied.

Reads go through the collection services' scope (``scoped_statements``,
``scoped_receipts``): an operator sees its own (and its city's, when set), a clerk their
city's, the province admin and viewers all; a statement outside the scope answers 404, like
one that does not exist. The confirmation is ``collection.services.confirm_statement``, whose
``CollectionError`` becomes the bilingual, coded error body (``errors.DOMAIN_ERRORS``); it
honours an ``Idempotency-Key`` as the settlement writes do (``settlement.services.once``).
"""

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import DecimalField
from ninja import Field, Path, Query, Router, Schema

from towerledger.access.models import Role
from towerledger.access.scope import role_of, scoped
from towerledger.api.errors import ApiError, ErrorOut
from towerledger.api.pagination import PageParams, page
from towerledger.api.params import Day, Month
from towerledger.api.routers.lines import (
    ERROR_RESPONSES,
    IDEMPOTENCY_KEY,
    idempotent,
    ref,
)
from towerledger.api.schemas import ReceiptPage, StatementDetailOut, StatementOut, StatementPage
from towerledger.collection import services
from towerledger.collection.models import Statement
from towerledger.collection.services import CollectionError
from towerledger.settlement.models import Line

router = Router(tags=["collection"])
receipts_router = Router(tags=["collection"])

NUMBER = Path(..., pattern=r"^DZ[0-9A-Za-z\-]{1,38}$", examples=["DZ202405-CMCC-01-01"])
MONEY = DecimalField(max_digits=16, decimal_places=2)
CENT = Decimal("0.01")


def text(value) -> str | None:
    """JSON-native (the idempotent answer is stored as JSON): decimals and moments as text."""
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def cents(value) -> Decimal:
    """A stored total to the fen (on SQLite the service's sums carry float digits, e.g.
    "781.200000000000" or "2659")."""
    return Decimal(str(value or "0")).quantize(CENT, ROUND_HALF_UP)


def statement_rows(qs) -> list[dict]:
    qs = qs.select_related("operator", "city").annotate(
        paid=services.statement_paid())
    out = []
    for st in qs:
        paid = cents(st.paid)
        out.append({
            "number": st.number, "operator": st.operator.code,
            "city": st.city.name if st.city_id else None, "month": f"{st.month:%Y-%m}",
            "status": st.status, "lines_count": st.lines_count,
            "cost_share": text(st.cost_share), "tax_amount": text(st.tax_amount),
            "receivable": text(st.receivable), "written_off": text(paid),
            "outstanding": text(st.receivable - paid), "issued_at": text(st.issued_at),
            "confirmed_at": text(st.confirmed_at), "invoice_no": st.invoice_no,
            "invoice_date": text(st.invoice_date), "invoice_amount": text(st.invoice_amount)})
    return out


def visible_statements(request):
    return services.scoped_statements(request.auth_user)


def one_statement(request, number: str) -> Statement:
    st = visible_statements(request).filter(number=number).first()
    if st is None:
        raise ApiError(404)
    return st


# ---- reads ----------------------------------------------------------------------------------

class StatementFilters(Schema):
    month: Month | None = None
    status: str | None = Field(None, pattern=r"^(ISSUED|CONFIRMED|VOID)$",
                               description="ISSUED (waiting for your confirmation), "
                                           "CONFIRMED or VOID (withdrawn)")
    operator: str | None = Field(None, description="CMCC | CUCC | CTCC | CBN | OTHER")


@router.get("", response={200: StatementPage, 422: ErrorOut},
            summary="Your statements (对账单列表)",
            description="Statements in your scope, newest month first, with what has been "
                        "written off and what is outstanding. Operators see only their own "
                        "(and their city's, when their account is for one city).")
def list_statements(request, filters: Query[StatementFilters], paging: Query[PageParams]):
    qs = visible_statements(request)
    if filters.month:
        qs = qs.filter(month=filters.month)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.operator:
        qs = qs.filter(operator__code=filters.operator)
    return page(qs.order_by("-month", "number"), paging, statement_rows)


@router.get("/{number}", response={200: StatementDetailOut, 404: ErrorOut, 422: ErrorOut},
            summary="One statement with its lines (对账单详情)",
            description="The statement, its totals per settlement mode and its lines (ids "
                        '"L123", as in GET /lines). A statement outside your scope answers '
                        "404, like one that does not exist.")
def get_statement(request, number: str = NUMBER):
    st = one_statement(request, number)
    out = statement_rows(Statement.objects.filter(pk=st.pk))[0]
    out["by_mode"] = [{"settlement_mode": mode, "lines": v.get("lines", 0),
                       **{k: cents(v.get(k)) for k in ("cost_share", "tax_amount",
                                                        "receivable")}}
                      for mode, v in sorted((st.by_mode or {}).items())]
    lines = scoped(request.auth_user, Line.objects.filter(statement=st)).order_by("pk")
    out["lines"] = [{
        "id": ref("L", r[0]), "kind": r[1], "month": f"{r[2]:%Y-%m}", "site_code": r[3],
        "tenancy_id": r[4], "settlement_mode": r[5], "cost_share": r[6], "tax_amount": r[7],
        "receivable": r[8], "written_off": r[9]} for r in lines.values_list(
            "pk", "kind", "month", "site__site_code", "tenancy__tenancy_id", "mode",
            "cost_share", "tax_amount", "receivable", "written_off")]
    return out


class ReceiptFilters(Schema):
    status: str | None = Field(None, pattern=r"^(UNMATCHED|PARTIAL|APPLIED|OPEN)$",
                               description="OPEN: UNMATCHED or PARTIAL (something unapplied)")
    received_from: Day | None = None
    received_to: Day | None = None
    operator: str | None = Field(None, description="CMCC | CUCC | CTCC | CBN | OTHER")


@receipts_router.get("", response={200: ReceiptPage, 422: ErrorOut},
                     summary="Your receipts (回款列表)",
                     description="Payments received from you, newest first, with how much "
                                 "has been applied to lines (核销) and how much is unapplied "
                                 "(预收 when over-paid). Operators see only their own.")
def list_receipts(request, filters: Query[ReceiptFilters], paging: Query[PageParams]):
    qs = services.scoped_receipts(request.auth_user)
    if filters.status == "OPEN":
        qs = qs.filter(status__in=["UNMATCHED", "PARTIAL"])
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.received_from:
        qs = qs.filter(received_date__gte=filters.received_from)
    if filters.received_to:
        qs = qs.filter(received_date__lte=filters.received_to)
    if filters.operator:
        qs = qs.filter(operator__code=filters.operator)

    def rows(part):
        return [{"receipt_no": r.receipt_no, "operator": r.operator.code,
                 "city": r.city.name if r.city_id else None, "amount": r.amount,
                 "received_date": r.received_date, "reference": r.reference,
                 "applied": r.applied, "unapplied": r.unapplied, "status": r.status}
                for r in part.select_related("operator", "city")]

    return page(qs.order_by("-received_date", "-pk"), paging, rows)


# ---- the write ------------------------------------------------------------------------------

@router.post("/{number}/confirm", response={200: StatementOut, **ERROR_RESPONSES},
             summary="Confirm a statement (电子确认对账单)",
             description="The operator confirms its ISSUED statement; from then on it never "
                         "changes (later corrections land on the next one). Operators only "
                         "(403 otherwise); a statement outside your scope is 404; one already "
                         "confirmed or withdrawn is 409 CONFLICT. Send an ``Idempotency-Key``: "
                         "a retry with it returns the first answer instead of 409.")
def confirm_statement(request, number: str = NUMBER,
                      idempotency_key: str | None = IDEMPOTENCY_KEY):
    user = request.auth_user
    if role_of(user) != Role.OPERATOR:
        # before ``once``, so a refused caller's key is not spent; the service checks too
        raise CollectionError("只有运营商确认对账单", "only the operator confirms its statement",
                              "forbidden")

    def work():
        st = visible_statements(request).filter(number=number).first()
        if st is None:
            raise CollectionError("对账单不存在", "no such statement", "not_found")
        services.confirm_statement(st.pk, user)
        return statement_rows(Statement.objects.filter(pk=st.pk))[0]

    return idempotent(request, idempotency_key, "api.statements.confirm", {"number": number},
                      work)
