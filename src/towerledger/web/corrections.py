"""The clerk's correction pages (调账, 冲销, 退费): void a bill, re-allocate it, record a refund.

Each is two steps: the form (with a reason) shows a preview of every line the correction
will push — per site and tenancy, the amount before and after — and writes nothing; the
clerk confirms it on that page and the same service applies it. The services check role,
scope and reason again; a refusal comes back on the page in the user's language."""

from datetime import date

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods

from towerledger.access.scope import writable
from towerledger.bills.models import Bill
from towerledger.collection import corrections
from towerledger.domain.errors import DomainError
from towerledger.settlement import refunds
from towerledger.web.context import CLERKS
from towerledger.web.tables import roles

ACTIONS = {
    "void": (corrections.void_bill, "冲销缴费单 Void the bill",
             "每条明细由金额 0 的冲销明细替代，连同原因推送给运营商；已核销金额退回运营商预收。"
             " Every line is superseded by a reversal line of 0, pushed to the operator with "
             "the reason; what receipts wrote off goes back to the operator's unapplied cash."),
    "reallocate": (corrections.reallocate_bill, "重新分摊 Re-allocate the bill",
                   "按当前主数据重新分摊；每个金额变化的租户推送一条调账明细（调前、调后）。"
                   " Allocated again with today's master data; each tenancy whose amount "
                   "changes gets an adjustment line showing before and after."),
}


def _message(exc: DomainError) -> str:
    return exc.en if get_language() == "en" else exc.zh


@require_http_methods(["GET", "POST"])
@roles(*CLERKS)
def bill_correction(request, pk, action):
    bill = get_object_or_404(writable(request.user, Bill.objects.select_related("account")),
                             pk=pk)
    service, title, help_text = ACTIONS[action]
    reason = request.POST.get("reason", "").strip()
    ctx = {"title": title, "help": help_text, "bill": bill, "reason": reason,
           "action_url": reverse(f"bill_{action}", args=[pk])}
    if request.method == "POST":
        apply = request.POST.get("step") == "apply"
        try:
            plan = service(bill.pk, request.user, reason, preview=not apply)
        except DomainError as exc:
            ctx["error"] = _message(exc)
            return render(request, "web/correction.html", ctx, status=400)
        if apply:
            messages.success(request, _summary(plan))
            return redirect("bill", pk=bill.pk)
        ctx["plan"] = plan
    return render(request, "web/correction.html", ctx)


REFUND_FIELDS = ("account_no", "refund_no", "amount", "refund_date", "bill_no", "reason")


@require_http_methods(["GET", "POST"])
@roles(*CLERKS)
def refund(request):
    data = {f: (request.POST.get(f) or request.GET.get(f) or "").strip()
            for f in REFUND_FIELDS}
    data["refund_date"] = data["refund_date"] or timezone.localdate().isoformat()
    ctx = {"title": "退费 Refund / credit note",
           "help": "按原缴费单各方承担的比例拆分退费，运营商部分以负数明细（CREDIT）推送，"
                   "在下一期对账单中冲抵。 Split by the shares that bore the original bill; "
                   "the operators' parts are pushed as credit lines, netted on their next "
                   "statement.", "refund": data, "reason": data["reason"],
           "action_url": reverse("refund_new")}
    if request.method == "POST":
        apply = request.POST.get("step") == "apply"
        try:
            day = date.fromisoformat(data["refund_date"])
            plan = refunds.record_refund(data["account_no"], data["refund_no"],
                                         data["amount"] or "0", day, request.user,
                                         data["reason"], bill_no=data["bill_no"] or None,
                                         preview=not apply)
        except DomainError as exc:
            ctx["error"] = _message(exc)
            return render(request, "web/correction.html", ctx, status=400)
        except (ValueError, ArithmeticError):
            ctx["error"] = ("日期或金额格式不正确 / the date or the amount is malformed")
            return render(request, "web/correction.html", ctx, status=400)
        if apply:
            messages.success(request, _summary(plan))
            return redirect("refund_new")
        ctx["plan"] = plan
    return render(request, "web/correction.html", ctx)


def _summary(plan) -> str:
    if plan.already:
        return f"{plan.subject}: 已处理，无需再做 / already done, nothing changed"
    lines = " ".join(f"L{c.line}" for c in plan.changes if c.line)
    return (f"{plan.subject}: 已推送 {len(plan.changes)} 条明细 / pushed {len(plan.changes)} "
            f"lines ({lines}); 差额 difference {plan.total_difference}")
