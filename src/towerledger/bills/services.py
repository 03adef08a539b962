"""The state-changing operations on bills and their audit flags (one transaction each).

Views, the API and the CLI call these; each checks the user's scope, records who and why
in the audit log, and raises ``ServiceError`` (Chinese and English) when it refuses.
"""

from datetime import date

from django.db import transaction
from django.utils import timezone

from towerledger.access import audit as log
from towerledger.access.scope import can_change, scoped, writable
from towerledger.bills import audit, findings, payments
from towerledger.bills.models import Bill, Flag, Whitelist
from towerledger.bills.payments import PayResult
from towerledger.domain.audits import ALLOCATION_RULES
from towerledger.domain.errors import DomainError, ErrorCode

__all__ = ["ServiceError", "PayResult", "pay_bills", "assign_flag", "resolve_flag",
           "whitelist_flag", "reaudit"]


class ServiceError(DomainError):
    """A bills service's refusal: ``ServiceError(zh, en, code)``, code an ``ErrorCode``
    (default invalid)."""


def _require_change(user):
    if user is not None and not can_change(user):
        raise ServiceError("无权修改", "you may not change data", ErrorCode.FORBIDDEN)


def _require_reason(reason: str):
    if not (reason or "").strip():
        raise ServiceError("请填写原因", "a reason is required")


def pay_bills(bill_ids: list[int], user, paid_date: date, reason: str = "",
              payment_ref: str = "") -> PayResult:
    """Pay a selection of bills on ``paid_date`` (T). Bills with an open BLOCK flag are
    refused and listed in ``blocked``; bills already paid are listed, not paid twice.
    ``payment_ref`` (only with one bill) makes a retry of the same payment a no-op."""
    _require_change(user)
    if paid_date > timezone.localdate():
        raise ServiceError("支付日期不能晚于今天", "paid date cannot be in the future")
    if payment_ref and len(bill_ids) != 1:
        raise ServiceError("支付流水号只能用于一张缴费单", "a payment_ref pays one bill only")
    # writable, not only visible: paying a bill of an account that also feeds another
    # city's sites advances and allocates to them too (the payments import refuses it alike)
    visible = set(writable(user, Bill.objects.filter(pk__in=bill_ids))
                  .values_list("pk", flat=True))
    missing = set(bill_ids) - visible
    if missing:
        raise ServiceError(f"缴费单不存在：{sorted(missing)}", f"no such bill: {sorted(missing)}",
                           ErrorCode.NOT_FOUND)
    if payment_ref:
        other = Bill.objects.filter(payment_ref=payment_ref).exclude(pk=bill_ids[0]).first()
        if other:
            raise ServiceError(f"支付流水号 {payment_ref} 已用于缴费单 {other}",
                               f"payment_ref {payment_ref} already paid bill {other}",
                               ErrorCode.CONFLICT)
    return payments.pay([(pk, paid_date, payment_ref) for pk in bill_ids], user, reason)


def _flag_for_change(flag_id: int, user) -> Flag:
    _require_change(user)
    flag = scoped(user, Flag.objects.filter(pk=flag_id)).select_related("bill").first()
    if flag is None:
        raise ServiceError("稽核结果不存在", "no such audit flag", ErrorCode.NOT_FOUND)
    return flag


def _snapshot(flag: Flag) -> dict:
    return {"status": flag.status, "assignee": flag.assignee_id, "resolution": flag.resolution}


def assign_flag(flag_id: int, user, assignee) -> Flag:
    """Hand a flag to a colleague (分派)."""
    with transaction.atomic():
        flag = _flag_for_change(flag_id, user)
        before = _snapshot(flag)
        flag.assignee = assignee
        flag.save(update_fields=["assignee"])
        log.record(user, "assign_flag", "bill", flag.bill_id, before, _snapshot(flag),
                   reason=f"{flag.code} → {assignee}")
    return flag


def resolve_flag(flag_id: int, user, reason: str) -> Flag:
    """Close a flag with the reason it is acceptable (核实无误). When it was the bill's last
    blocking flag and the bill arrived already paid, the held payment is recorded now."""
    _require_reason(reason)
    with transaction.atomic():
        flag = _flag_for_change(flag_id, user)
        if flag.status != Flag.Status.OPEN:
            raise ServiceError("该稽核结果已处理", "this flag is already closed", ErrorCode.CONFLICT)
        before = _snapshot(flag)
        _close(flag, Flag.Status.RESOLVED, user, reason)
        log.record(user, "resolve_flag", "bill", flag.bill_id, before, _snapshot(flag),
                   reason=f"{flag.code}: {reason}")
        _release_held(flag.bill_id, user)
        if flag.code in ALLOCATION_RULES:   # its held lines are pushed once nothing blocks
            findings.release_if_cleared([flag.bill_id], user)
    return flag


def whitelist_flag(flag_id: int, user, reason: str) -> Flag:
    """Exempt the bill's account from this rule (白名单), e.g. a government landlord that
    cannot issue invoices; closes this flag and the account's other open flags of the rule."""
    _require_reason(reason)
    with transaction.atomic():
        flag = _flag_for_change(flag_id, user)
        account_id = flag.bill.account_id
        Whitelist.objects.get_or_create(account_id=account_id, code=flag.code,
                                        defaults={"reason": reason, "created_by": user})
        same = list(Flag.objects.filter(bill__account_id=account_id, code=flag.code,
                                        status=Flag.Status.OPEN))
        for f in same:
            _close(f, Flag.Status.WHITELISTED, user, reason)
        log.record_many(user, "whitelist_flag", "bill",
                        [(f.bill_id, {"status": "OPEN"}, {"status": "WHITELISTED",
                                                          "code": f.code}) for f in same],
                        reason=f"{flag.code}: {reason}")
        for bill_id in {f.bill_id for f in same}:
            _release_held(bill_id, user)
        if flag.code in ALLOCATION_RULES:
            findings.release_if_cleared({f.bill_id for f in same}, user)
        flag.refresh_from_db()
    return flag


def _close(flag: Flag, status, user, reason):
    flag.status = status
    flag.resolution = reason
    flag.resolved_by = user if getattr(user, "pk", None) else None
    flag.resolved_at = timezone.now()
    flag.save(update_fields=["status", "resolution", "resolved_by", "resolved_at"])
    audit.refresh_counters([flag.bill_id])


def _release_held(bill_id: int, user):
    bill = Bill.objects.get(pk=bill_id)
    if bill.blocking == 0 and bill.requested_paid_date and bill.status == Bill.Status.UNPAID:
        payments.pay([(bill.pk, bill.requested_paid_date, "")], user,
                     reason="稽核放行后支付 paid once the blocking flags were resolved")


def reaudit(bill_ids, user=None, progress=None) -> int:
    """Run the audit rules again on demand (e.g. after master data or thresholds changed)."""
    _require_change(user)
    ids = list(scoped(user, Bill.objects.filter(pk__in=bill_ids)).values_list("pk", flat=True))
    found = audit.audit_bills(ids, progress)
    log.record(user, "reaudit", "bills", f"{len(ids)} bills", after={"findings": found})
    return found
