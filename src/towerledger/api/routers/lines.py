"""The operators' systems' side of settlement (DOMAIN.md §4), under /api/v1:

* ``GET  /lines``           pushed lines (分摊明细) to confirm, and the others by status;
* ``GET  /lines/{line_id}`` one line with its full trace and its disputes;
* ``POST /lines/confirm``   confirm lines (确认), per line confirmed / already / refused;
* ``POST /lines/disputes``  dispute lines (争议), per item the dispute or a coded error;
* ``GET  /disputes``        disputes and the tower side's answers.

Reads go through the caller's scope; tower-borne rows (status TOWER) are never shown. The
writes are the settlement services, which check the role and the scope themselves; their
``SettlementError`` becomes the bilingual, coded error body (``errors.DOMAIN_ERRORS``). Both
POSTs honour an ``Idempotency-Key`` header: a retry with the same key gets the same answer
and changes nothing again (``settlement.services.once``).
"""

import hashlib
import json
import re
from typing import Literal

from django.db import IntegrityError
from django.db.models import Q
from ninja import Field, Header, Path, Query, Router, Schema

from towerledger.access.models import Role
from towerledger.access.scope import role_of, scoped
from towerledger.api.errors import ApiError, ErrorOut, body_of
from towerledger.api.pagination import PageParams, page
from towerledger.api.params import Moment, Month
from towerledger.api.schemas import (
    ConfirmIn,
    ConfirmOut,
    DisputePage,
    DisputesIn,
    DisputesOut,
    ItemError,
    LineDetailOut,
    LinePage,
)
from towerledger.api.scoping import visible
from towerledger.settlement import explain, services
from towerledger.settlement.models import Dispute, Line
from towerledger.settlement.services import SettlementError

router = Router(tags=["settlement"])
disputes_router = Router(tags=["settlement"])

# the services' errors (400, 409) carry their own messages: documented with ``ItemError``
# (same shape, code a string); their status and code come from ``errors.DOMAIN_ERRORS``
ERROR_RESPONSES = {400: ItemError, 403: ErrorOut, 404: ErrorOut, 409: ItemError, 422: ErrorOut}

LINE_ID = re.compile(r"^[Ll]?(\d{1,18})$")
IDEMPOTENCY_KEY = Header(None, alias="Idempotency-Key", max_length=100,
                         description="any string up to 100 characters, new per request; "
                                     "a retry with the same key and body gets the first "
                                     "answer and changes nothing again")


def error_body(code: str, zh: str, en: str) -> dict:
    return {"code": code, "message_zh": zh, "message_en": en}


# ---- ids and rows -------------------------------------------------------------------------

def line_pk(value) -> int | None:
    """123 for "L123", "l123", "123" or 123; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    match = LINE_ID.match(str(value).strip())
    return int(match.group(1)) if match else None


def ref(prefix: str, pk) -> str | None:
    return f"{prefix}{pk}" if pk else None


LINE_FIELDS = ("pk", "kind", "adjusts_id", "bill__bill_no", "month", "site__site_code",
               "tenancy__tenancy_id", "operator__code", "mode", "period_start", "period_end",
               "active_days", "share", "cost_share", "tax_factor", "tax_amount", "receivable",
               "status", "push_date", "confirm_due", "confirmed_at", "deemed",
               "adjusts__receivable")
# what a list shows of each line's explanation (the whole trace is the line's detail)
TRACE_KEYS = ("text_zh", "text_en", "dispute")


def explanation(row: dict, trace: dict) -> dict:
    zh, en = trace.get("text_zh", ""), trace.get("text_en", "")
    if row["kind"] == Line.Kind.ADJUSTMENT and row["adjusts_id"]:
        # the trace of an adjustment is its original's (plus the dispute): say what changed
        was, now = row["adjusts__receivable"], row["receivable"]
        origin, dispute = ref("L", row["adjusts_id"]), trace.get("dispute", "")
        zh = f"调账：{origin} 经争议 {dispute} 处理，应收由 {was} 元调整为 {now} 元。原明细：{zh}"
        en = (f"Adjustment of {origin} after dispute {dispute}: receivable {was} → {now} "
              f"yuan. Original line: {en}")
    return {"zh": zh, "en": en}


def line_rows(qs, with_trace: bool = False) -> list[dict]:
    """``qs`` as API lines; ``with_trace``: with the whole trace (one line's detail).

    Explanations are stored in parts (settlement.explain): a page of lines reads its own
    parts and their bills' shared parts in two queries, and renders the sentences."""
    names = (*LINE_FIELDS, "bill_id", "site_id", "explained__trace")
    rows = [dict(zip(names, values, strict=True)) for values in qs.values_list(*names)]
    whole = explain.whole(
        {r["pk"]: r["explained__trace"] for r in rows if r["explained__trace"] is not None},
        [(r["pk"], r["bill_id"], r["site_id"], _figures(r)) for r in rows])
    out = []
    for r in rows:
        trace = whole.get(r["pk"], {})
        if not with_trace:
            trace = {k: trace[k] for k in TRACE_KEYS if k in trace}
        out.append({
            "id": ref("L", r["pk"]), "kind": r["kind"], "adjusts": ref("L", r["adjusts_id"]),
            "bill_no": r["bill__bill_no"], "month": f"{r['month']:%Y-%m}",
            "site_code": r["site__site_code"], "tenancy_id": r["tenancy__tenancy_id"],
            "operator": r["operator__code"], "settlement_mode": r["mode"],
            "period_start": r["period_start"], "period_end": r["period_end"],
            "active_days": r["active_days"], "share": r["share"],
            "cost_share": r["cost_share"], "tax_factor": r["tax_factor"],
            "tax_amount": r["tax_amount"], "receivable": r["receivable"],
            "status": r["status"], "push_date": r["push_date"],
            "confirm_due": r["confirm_due"], "confirmed_at": r["confirmed_at"],
            "deemed": r["deemed"], "explanation": explanation(r, trace)})
        if with_trace:
            out[-1]["trace"] = trace
    return out


def _figures(r: dict) -> dict:
    return {k: str(r[k]) for k in ("share", "cost_share", "tax_factor", "tax_amount",
                                   "receivable")}


DISPUTE_FIELDS = ("pk", "line_id", "line__bill__bill_no", "line__site__site_code",
                  "line__tenancy__tenancy_id", "line__operator__code", "round", "reason",
                  "comment", "raised_at", "due", "overdue", "status", "answer", "new_amount",
                  "answered_at", "adjustment_id")


def dispute_rows(qs) -> list[dict]:
    out = []
    for values in qs.values_list(*DISPUTE_FIELDS):
        r = dict(zip(DISPUTE_FIELDS, values, strict=True))
        out.append({
            "id": ref("D", r["pk"]), "line": ref("L", r["line_id"]),
            "bill_no": r["line__bill__bill_no"], "site_code": r["line__site__site_code"],
            "tenancy_id": r["line__tenancy__tenancy_id"], "operator": r["line__operator__code"],
            "round": r["round"], "reason": r["reason"], "comment": r["comment"],
            "raised_at": r["raised_at"], "due": r["due"], "overdue": r["overdue"],
            "status": r["status"], "answer": r["answer"], "new_amount": r["new_amount"],
            "answered_at": r["answered_at"], "adjustment": ref("L", r["adjustment_id"])})
    return out


def operator_view(trace: dict, own_tenancy: str | None, own_operator: str | None) -> dict:
    """The trace as an operator may see it: the other tenancies sharing the site (their ids
    and operators) become OTHER-1, OTHER-2, …; their weights and days stay, since the
    operator's share is computed from them."""
    others = [t[0] for t in trace.get("tenancies", []) if t and t[0] != own_tenancy]
    alias = {tid: f"OTHER-{i}" for i, tid in enumerate(others, 1)}

    def walk(value):
        if isinstance(value, str):
            return alias.get(value, value)
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    out = walk(trace)
    if "tenancies" in out:
        out["tenancies"] = [
            [t[0], t[1] if t[0] == own_tenancy or t[1] == own_operator else "OTHER", *t[2:]]
            for t in out["tenancies"]]
    return out


def shown_lines():
    """Lines the API shows at all: never the tower-borne rows."""
    return Line.objects.of_operators()


# ---- reads ----------------------------------------------------------------------------------

class LineFilters(Schema):
    status: Literal["PUSHED", "CONFIRMED", "DISPUTED", "SUPERSEDED", "ALL"] = Field(
        "PUSHED", description="PUSHED (default: waiting for you), CONFIRMED, DISPUTED, "
                              "SUPERSEDED (settled by an adjustment) or ALL")
    month: Month | None = Field(None, description="YYYY-MM the line belongs to")
    site_code: str | None = None
    tenancy_id: str | None = None
    operator: str | None = Field(None, description="CMCC | CUCC | CTCC | CBN | OTHER")
    kind: Literal["ALLOCATION", "LUMP_SUM", "ADJUSTMENT"] | None = None
    bill_no: str | None = None
    pushed_since: Moment | None = Field(
        None, description="lines pushed at or after this moment (ISO 8601; with an offset "
                          "such as +08:00 or Z, else read as Beijing time)",
        examples=["2024-06-01T00:00:00+08:00"])
    updated_since: Moment | None = Field(
        None, description="lines pushed, confirmed, disputed or answered at or after this "
                          "moment: poll with the time of your last poll")


@router.get("", response={200: LinePage, 403: ErrorOut, 422: ErrorOut},
            summary="Your allocation lines (分摊明细列表)",
            description="Lines in your scope, by default those waiting for your confirmation "
                        "(PUSHED), oldest first; each with its explanation in Chinese and "
                        "English. Operators see only their own lines; tower-borne rows are "
                        "never listed.")
def list_lines(request, filters: Query[LineFilters], paging: Query[PageParams]):
    qs = visible(request, shown_lines())
    qs = qs.with_status(filters.status)
    if filters.month:
        qs = qs.filter(month=filters.month)
    for name, lookup in (("site_code", "site__site_code"), ("tenancy_id", "tenancy__tenancy_id"),
                         ("operator", "operator__code"), ("kind", "kind"),
                         ("bill_no", "bill__bill_no")):
        if getattr(filters, name):
            qs = qs.filter(**{lookup: getattr(filters, name)})
    if filters.pushed_since:
        qs = qs.filter(pushed_at__gte=filters.pushed_since)
    if filters.updated_since:
        since = filters.updated_since
        touched = Dispute.objects.filter(Q(raised_at__gte=since) | Q(answered_at__gte=since))
        qs = qs.filter(Q(pushed_at__gte=since) | Q(confirmed_at__gte=since)
                       | Q(pk__in=touched.values("line_id")))
    return page(qs.order_by("pk"), paging,
                line_rows)


class DisputeFilters(Schema):
    status: Literal["OPEN", "ESCALATED", "ACCEPTED", "PARTIAL", "REJECTED", "ANSWERED"] | None \
        = Field(None, description="ANSWERED: any of ACCEPTED, PARTIAL, REJECTED")
    line: str | None = Field(None, pattern=r"^[Ll]?\d{1,18}$", description="the disputed line")
    site_code: str | None = None
    operator: str | None = None
    updated_since: Moment | None = Field(
        None, description="disputes raised or answered at or after this moment")


@disputes_router.get("", response={200: DisputePage, 403: ErrorOut, 422: ErrorOut},
                     summary="Your disputes and their answers (争议列表)",
                     description="Disputes of lines in your scope, newest first, with the "
                                 "tower side's answer, the new amount and the adjustment line "
                                 "pushed with it.")
def list_disputes(request, filters: Query[DisputeFilters], paging: Query[PageParams]):
    qs = visible(request, Dispute.objects.all())
    if filters.status == "ANSWERED":
        qs = qs.exclude(status__in=Dispute.OPEN_STATES)
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.line:
        qs = qs.filter(line_id=line_pk(filters.line))
    if filters.site_code:
        qs = qs.filter(line__site__site_code=filters.site_code)
    if filters.operator:
        qs = qs.filter(line__operator__code=filters.operator)
    if filters.updated_since:
        since = filters.updated_since
        qs = qs.filter(Q(raised_at__gte=since) | Q(answered_at__gte=since))
    return page(qs.order_by("-pk"), paging, dispute_rows)


# ---- writes ---------------------------------------------------------------------------------

def idempotent(request, key: str | None, endpoint: str, payload: dict, work) -> dict:
    """``work()`` once per (caller, Idempotency-Key) through ``services.once``.

    The stored answer carries a fingerprint of the endpoint and the body, so a key sent
    again with another body or to the other endpoint is refused (422) instead of being
    answered with the first request's result."""
    fingerprint = hashlib.sha256(json.dumps([endpoint, payload], sort_keys=True, default=str)
                                 .encode()).hexdigest()
    stored = services.once(request.auth_user, key, endpoint,
                           lambda: {"fingerprint": fingerprint, "answer": work()})
    if not isinstance(stored, dict) or stored.get("fingerprint") != fingerprint:
        raise SettlementError("该 Idempotency-Key 已用于另一个请求",
                              "this Idempotency-Key was used for a different request")
    return stored["answer"]


def refusal(sent, reason: str) -> dict:
    if reason == "not found":
        code, zh = "NOT_FOUND", "分摊明细不存在或不在您的权限范围内"
        en = "no such line within your scope"
    elif reason.startswith("status "):
        status = reason.removeprefix("status ")
        code, zh, en = "CONFLICT", f"该明细状态为 {status}，不能确认", f"line is {status}, not pending"
    else:
        code, zh, en = "INVALID", f"明细编号 {sent} 无效", f"invalid line id {sent}"
    return {"id": str(sent), "reason": reason, **error_body(code, zh, en)}


@router.post("/confirm", response={200: ConfirmOut, **ERROR_RESPONSES},
             summary="Confirm lines (确认分摊明细)",
             description="Confirms each PUSHED line of the list that is yours; the answer says "
                         "per line: confirmed now, already confirmed, or refused (not found or "
                         "not in scope, or not pending: disputed, superseded). Up to 5000 lines "
                         "per call. Operators and the province admin only (403 otherwise). "
                         "Send an ``Idempotency-Key``: retrying with it returns the same answer "
                         "and never confirms (or posts) twice.")
def confirm(request, body: ConfirmIn, idempotency_key: str | None = IDEMPOTENCY_KEY):
    def work():
        pks, refused = {}, []
        for sent in body.lines:
            pk = line_pk(sent)
            if pk is None:
                refused.append(refusal(sent, "invalid id"))
            else:
                pks.setdefault(pk, sent)
        # lines never shown here (tower-borne) are "not found", as for a GET
        hidden = set(pks) - set(shown_lines().filter(pk__in=list(pks))
                                .values_list("pk", flat=True))
        result = services.confirm_lines([pk for pk in pks if pk not in hidden],
                                        request.auth_user)
        refused += [refusal(ref("L", pk), "not found") for pk in sorted(hidden)]
        refused += [refusal(ref("L", pk), reason) for pk, reason in result.refused]
        return {"confirmed": [ref("L", pk) for pk in result.confirmed],
                "already_confirmed": [ref("L", pk) for pk in result.already],
                "refused": refused}

    if role_of(request.auth_user) not in (Role.OPERATOR, Role.PROVINCE_ADMIN):
        # before ``once``, so a refused caller's key is not spent; the service checks too
        raise SettlementError("只有运营商确认分摊明细", "only the operator confirms its lines",
                              "forbidden")
    return idempotent(request, idempotency_key, "api.lines.confirm",
                      {"lines": [str(x) for x in body.lines]}, work)


def dispute_one(user, item) -> dict:
    sent = str(item.line)
    pk = line_pk(item.line)
    try:
        if pk is None:
            raise SettlementError(f"明细编号 {sent} 无效", f"invalid line id {sent}")
        if not shown_lines().filter(pk=pk).exists():  # tower-borne rows: as for a GET
            raise SettlementError("分摊明细不存在", "no such line", "not_found")
        d = services.dispute_line(pk, user, item.reason, item.comment)
    except SettlementError as e:
        return {"line": sent, "ok": False, "error": body_of(e)[1]}
    except IntegrityError:  # a concurrent dispute of the same line won (one open per line)
        return {"line": sent, "ok": False, "error": error_body(
            "CONFLICT", "该明细已有未处理的争议", "the line already has an open dispute")}
    return {"line": sent, "ok": True, "dispute": ref("D", d.pk), "status": str(d.status)}


@router.post("/disputes", response={200: DisputesOut, **ERROR_RESPONSES},
             summary="Dispute lines (提出争议)",
             description="Raises a dispute per item on a PUSHED line of yours, with a reason "
                         "code (KWH, PRICE, RATIO, PERIOD, TENANCY, INVOICE, DUPLICATE, OTHER; "
                         "OTHER needs a comment). Each item succeeds or fails on its own: the "
                         "answer has, in the order sent, the dispute created or a coded, "
                         "bilingual error (INVALID reason, NOT_FOUND line, CONFLICT: not "
                         "pending). A line whose dispute was rejected before is escalated to "
                         "the province. Up to 1000 items per call; operators only (403 "
                         "otherwise). ``Idempotency-Key`` honoured as for confirm.")
def dispute(request, body: DisputesIn, idempotency_key: str | None = IDEMPOTENCY_KEY):
    if role_of(request.auth_user) != Role.OPERATOR:
        raise SettlementError("只有运营商可以提出争议", "only the operator disputes its lines",
                              "forbidden")
    payload = {"disputes": [[str(d.line), d.reason, d.comment] for d in body.disputes]}
    return idempotent(request, idempotency_key, "api.lines.disputes", payload,
                      lambda: {"results": [dispute_one(request.auth_user, item)
                                           for item in body.disputes]})


# registered after /confirm and /disputes, which its {line_id} would otherwise catch
@router.get("/{line_id}", response={200: LineDetailOut, 404: ErrorOut, 422: ErrorOut},
            summary="One line with its trace (分摊明细详情)",
            description="The line, how it was computed (``trace``) and its disputes. A line "
                        "outside your scope answers 404, like one that does not exist.")
def get_line(request, line_id: str = Path(..., pattern=r"^[Ll]?\d{1,18}$",
                                           examples=["L8"])):
    pk = line_pk(line_id)
    found = line_rows(scoped(request.auth_user, shown_lines().filter(pk=pk)), with_trace=True)
    if not found:
        raise ApiError(404)
    out = found[0]
    if role_of(request.auth_user) == Role.OPERATOR:
        out["trace"] = operator_view(out["trace"], out["tenancy_id"], out["operator"])
    disputes = scoped(request.auth_user, Dispute.objects.filter(line_id=pk))
    out["disputes"] = dispute_rows(disputes.order_by("pk"))
    return out
