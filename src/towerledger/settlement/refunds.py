"""退费: grid refunds and suppliers' credit notes, allocated like a negative bill.

A refund is recorded against an account (``bills.Refund``, its number unique per account)
and split over the parts of the bill it refunds (the one named, else the account's latest
paid bill on or before the refund date) in proportion to what each bore: the cost share of
each chain's current version and each site's tower-borne part, by the largest remainder
(ties by tenancy code, then site code; the tower last), so the parts sum to the refund
exactly. Each operator's part is a CREDIT line (negative receivable: the cost part, and the
tax-factor gross-up on it for RESALE, as the original was charged), born confirmed — the
operator only gains, there is nothing to confirm — so it goes on the operator's next
statement, where it nets against what it owes. The tower's part is a tower-borne CREDIT line.

Credits are never matched by receipts (matching takes lines with something left to pay);
the operator pays its statements net of them. Entry (kind REFUND): Dr CASH the refund,
Dr TAX_FACTOR the gross-up given back / Cr RECEIVABLE each credit, Cr TOWER_COST the tower's
part. Recording the same refund number again with the same amount changes nothing.
"""

from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.db import transaction
from django.utils import timezone

from towerledger.access.audit import record
from towerledger.access.scope import writable
from towerledger.bills.models import Bill, Refund
from towerledger.domain.codes import SettlementMode
from towerledger.domain.journal import Posting
from towerledger.domain.money import fen, largest_remainder
from towerledger.settlement.corrections import (
    ZERO,
    Change,
    CorrectionError,
    Plan,
    net,
    post,
    refuse_held,
    require,
)
from towerledger.settlement.models import Line, LineTrace
from towerledger.sites.models import SupplyAccount


def record_refund(account_no: str, refund_no: str, amount, refund_date: date, user,
                  reason: str, bill_no: str | None = None, today: date | None = None,
                  preview: bool = False) -> Plan:
    """Record a refund and push its credit lines (see the module's docstring)."""
    require(user, reason)
    today = today or timezone.localdate()
    amount = fen(Decimal(str(amount)))
    if amount <= 0:
        raise CorrectionError("退费金额须大于 0", "the refund amount must be above 0")
    if not (refund_no or "").strip():
        raise CorrectionError("请填写退费单号", "the refund number is required")
    with transaction.atomic():
        account = writable(user, SupplyAccount.objects.filter(account_no=account_no)).first()
        if account is None:
            raise CorrectionError(f"户号 {account_no} 不存在", f"no account {account_no}",
                                  "not_found")
        plan = Plan("REFUND", f"{account_no}/{refund_no}")
        done = Refund.objects.filter(account=account, refund_no=refund_no).first()
        if done:
            if done.amount != amount:
                raise CorrectionError(f"退费单号 {refund_no} 已登记金额 {done.amount}",
                                      f"refund {refund_no} is recorded with amount "
                                      f"{done.amount}", "conflict")
            plan.already = True
            plan.changes = [_change(ln) for ln in Line.objects.filter(
                kind=Line.Kind.CREDIT, explained__trace__refund=refund_no,
                bill=done.bill).select_related("site", "operator", "tenancy")]
            return plan
        bill = _original(account, bill_no, refund_date)
        refuse_held(bill)
        if amount > bill.amount:
            raise CorrectionError(f"退费金额 {amount} 超过原缴费单金额 {bill.amount}",
                                  f"the refund {amount} exceeds the bill's {bill.amount}")
        parts = _parts(bill, amount)
        plan.changes = [Change(p["site"].site_code, p["tenancy"], p["operator"], None,
                               p["receivable"], None, p["cost"]) for p in parts]
        if preview:
            return plan
        refund = Refund.objects.create(account=account, refund_no=refund_no, amount=amount,
                                       refund_date=refund_date, reason=reason, bill=bill,
                                       created_by=user if getattr(user, "pk", None) else None)
        plan.journal = _push(refund, bill, parts, plan, user, today)
        record(user, "refund", "account", plan.subject, None,
               {"amount": amount, "bill": bill.bill_no,
                "lines": " ".join(f"L{c.line}" for c in plan.changes)}, reason)
        plan.done = True
    return plan


def _change(ln: Line) -> Change:
    return Change(ln.site.site_code, ln.tenancy.tenancy_id if ln.tenancy else "",
                  ln.operator.code if ln.operator else "", None, ln.receivable, None,
                  ln.cost_share, line=ln.pk)


def _original(account, bill_no, refund_date) -> Bill:
    qs = Bill.objects.filter(account=account, status=Bill.Status.PAID)
    b = (qs.filter(bill_no=bill_no) if bill_no else
         qs.filter(paid_date__lte=refund_date).order_by("-period_end", "-pk")).first()
    if b is None:
        raise CorrectionError("找不到被退费的已支付缴费单", "no paid bill to refund", "not_found")
    return b


def _parts(bill: Bill, amount: Decimal) -> list[dict]:
    """The refund split by what each part of the bill bore (current versions, tower lines)."""
    bore = [ln for ln in Line.objects.current().filter(bill=bill).exclude(
        kind=Line.Kind.CREDIT).select_related("site", "tenancy", "operator", "city")]
    bore += list(Line.objects.tower_borne().filter(bill=bill, kind=Line.Kind.ALLOCATION)
                 .select_related("site", "tenancy", "operator", "city"))
    bore.sort(key=lambda ln: (ln.operator_id is None or ln.status == Line.Status.TOWER,
                              ln.tenancy.tenancy_id if ln.tenancy else "", ln.site.site_code))
    weights = [(i, Fraction(str(ln.cost_share))) for i, ln in enumerate(bore)
               if ln.cost_share > 0]
    if not weights:
        raise CorrectionError("原缴费单无分摊可依", "the bill has no allocation to follow",
                              "conflict")
    split = largest_remainder(amount, weights)
    parts = []
    for i, _ in weights:
        ln, cost = bore[i], split[i]
        if not cost:
            continue
        operator = ln.operator.code if ln.operator and ln.status != Line.Status.TOWER else ""
        tax = ZERO
        if operator and ln.mode == SettlementMode.RESALE and ln.tax_factor:
            tax = fen(cost * ln.tax_factor)
        parts.append({"line": ln, "site": ln.site, "operator": operator,
                      "tenancy": ln.tenancy.tenancy_id if ln.tenancy else "",
                      "cost": -cost, "tax": -tax, "receivable": -(cost + tax)})
    return parts


def _push(refund, bill, parts, plan, user, today) -> Decimal:
    now = timezone.now()
    postings = [Posting("CASH", debit=refund.amount)]
    for p, ch in zip(parts, plan.changes, strict=True):
        ln, tower = p["line"], not p["operator"]
        credit = Line.objects.create(
            kind=Line.Kind.CREDIT, bill=bill, site=ln.site, city=ln.city,
            tenancy=ln.tenancy, operator=None if tower else ln.operator, mode=ln.mode,
            month=today.replace(day=1), period_start=bill.period_start,
            period_end=bill.period_end, active_days=ln.active_days, share=ln.share,
            cost_share=p["cost"], tax_factor=ln.tax_factor, tax_amount=p["tax"],
            receivable=ZERO if tower else p["receivable"],
            status=Line.Status.TOWER if tower else Line.Status.CONFIRMED,
            pushed_at=None if tower else now, push_date=None if tower else today,
            confirmed_at=None if tower else now)
        who = "铁塔自担 tower-borne" if tower else p["tenancy"]
        LineTrace.objects.create(line=credit, trace={
            "correction": "REFUND", "refund": refund.refund_no, "reason": refund.reason,
            "bill": bill.bill_no, "bore": f"L{ln.pk}", "bore_cost": str(ln.cost_share),
            "text_zh": f"退费 {refund.refund_no}（{refund.reason}）：原缴费单 {bill.bill_no} "
                       f"由 {who} 承担 {ln.cost_share}，按比例退还 {-p['cost']}"
                       + (f"，含税负因子 {-p['tax']}" if p["tax"] else ""),
            "text_en": f"refund {refund.refund_no} ({refund.reason}): of bill {bill.bill_no} "
                       f"{who} bore {ln.cost_share}, credited {-p['cost']} in proportion"
                       + (f", tax factor {-p['tax']}" if p["tax"] else "")})
        ch.line = credit.pk
        site = ln.site.site_code
        if tower:
            postings.append(Posting("TOWER_COST", credit=-p["cost"], site=site))
        else:
            op = ln.operator.code
            postings += [Posting("RECEIVABLE", credit=-p["receivable"], site=site, operator=op),
                         Posting("TAX_FACTOR", debit=-p["tax"], site=site, operator=op)]
    return post([(today, "REFUND", f"RF{refund.pk}", f"退费 {plan.subject}", net(postings))],
                user)
