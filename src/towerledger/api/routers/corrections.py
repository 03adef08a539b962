"""Corrections started by the tower side (调账, 冲销, 退费), under /api/v1/corrections:

* ``POST /corrections/bills/{bill_id}/void``        void a bill (冲销);
* ``POST /corrections/bills/{bill_id}/reallocate``  re-allocate it with today's master data;
* ``POST /corrections/refunds``                     record a refund (退费) and push its credits.

Each takes a ``reason`` and ``preview`` (true: the lines it would push, nothing written) and
answers with every line it pushes, before and after. The services check role and scope
(staff of the bill's city or the province); their refusals are the coded, bilingual error
body. Each honours an ``Idempotency-Key`` header, and is idempotent without one too: a void
bill is void, a re-allocation finds nothing left to change, a refund number is recorded once.
"""

from datetime import date
from decimal import Decimal

from ninja import Field, Header, Router, Schema

from towerledger.api.errors import ErrorOut
from towerledger.api.schemas import ItemError
from towerledger.collection import corrections
from towerledger.settlement import refunds
from towerledger.settlement.corrections import Plan
from towerledger.settlement.services import once

router = Router(tags=["corrections"])
ERRORS = {400: ItemError, 403: ErrorOut, 404: ErrorOut, 409: ItemError, 422: ErrorOut}
KEY = Header(None, alias="Idempotency-Key", max_length=100,
             description="new per request; a retry with the same key gets the first answer")


class CorrectionIn(Schema):
    reason: str = Field(min_length=1, max_length=200, description="why (required)")
    preview: bool = Field(False, description="true: show the lines, change nothing")

    model_config = {"json_schema_extra": {"examples": [{"reason": "重复缴费 duplicate",
                                                        "preview": True}]}}


class RefundIn(CorrectionIn):
    account_no: str = Field(min_length=1, max_length=60)
    refund_no: str = Field(min_length=1, max_length=60)
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    refund_date: date
    bill_no: str | None = Field(None, max_length=60,
                                description="the bill refunded (default: the account's "
                                            "latest paid bill on or before the refund date)")

    model_config = {"json_schema_extra": {"examples": [{
        "reason": "供电局退费 overcharge", "preview": True, "account_no": "A-100",
        "refund_no": "RF-2024-001", "amount": "120.50", "refund_date": "2024-06-20"}]}}


class ChangeOut(Schema):
    site: str
    tenancy: str
    operator: str
    before: Decimal | None = Field(description="the chain's amount before; null: a new chain")
    after: Decimal
    difference: Decimal
    supersedes: str | None = Field(description="the line replaced (L…)")
    line: str | None = Field(description="the line pushed (L…); null on a preview")


class PlanOut(Schema):
    action: str = Field(description="VOID | REALLOCATE | REFUND")
    subject: str
    done: bool = Field(description="applied now")
    already: bool = Field(description="nothing to do: applied before")
    total_difference: Decimal
    changes: list[ChangeOut]


def _out(plan: Plan) -> dict:
    return {"action": plan.action, "subject": plan.subject, "done": plan.done,
            "already": plan.already, "total_difference": str(plan.total_difference),
            "changes": [{"site": c.site, "tenancy": c.tenancy, "operator": c.operator,
                         "before": None if c.before is None else str(c.before),
                         "after": str(c.after), "difference": str(c.difference),
                         "supersedes": f"L{c.supersedes}" if c.supersedes else None,
                         "line": f"L{c.line}" if c.line else None} for c in plan.changes]}


def _run(request, key, endpoint, preview, work):
    if preview:
        return _out(work())
    return once(request.auth_user, key, endpoint, lambda: _out(work()))


@router.post("/bills/{int:bill_id}/void", response={200: PlanOut, **ERRORS})
def void(request, bill_id: int, body: CorrectionIn, idempotency_key: str | None = KEY):
    """冲销: every current line of the bill superseded by a reversal line of 0."""
    return _run(request, idempotency_key, f"void:{bill_id}", body.preview,
                lambda: corrections.void_bill(bill_id, request.auth_user, body.reason,
                                              preview=body.preview))


@router.post("/bills/{int:bill_id}/reallocate", response={200: PlanOut, **ERRORS})
def reallocate(request, bill_id: int, body: CorrectionIn, idempotency_key: str | None = KEY):
    """重新分摊: the difference per tenancy pushed as adjustment lines."""
    return _run(request, idempotency_key, f"reallocate:{bill_id}", body.preview,
                lambda: corrections.reallocate_bill(bill_id, request.auth_user, body.reason,
                                                    preview=body.preview))


@router.post("/refunds", response={200: PlanOut, **ERRORS})
def refund(request, body: RefundIn, idempotency_key: str | None = KEY):
    """退费: credit lines to the tenancies that bore the original bill, by their shares."""
    return _run(request, idempotency_key, f"refund:{body.account_no}", body.preview,
                lambda: refunds.record_refund(body.account_no, body.refund_no, body.amount,
                                              body.refund_date, request.auth_user,
                                              body.reason, bill_no=body.bill_no,
                                              preview=body.preview))
