"""Pages of the rent program (场租与场地费包干): the overview (contracts, renewals, overdue
payments, benchmark findings, monthly figures, lump-sum site-fee gaps), a contract's page
(schedule, payments, pay an item or the deposit), the new-contract form, the site-fee page.

Operators see their RENT and site-fee lines and the contracts of their sites without the
landlords (never their bank details); clerks see and change their city; viewers read."""

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from towerledger.access.models import Role
from towerledger.access.scope import can_change, role_of, scoped, writable
from towerledger.programs.rent import services
from towerledger.programs.rent.models import (
    Landlord,
    RentContract,
    RentFinding,
    RentMonth,
    RentPayment,
    ScheduleItem,
    SiteFeeAgreement,
)
from towerledger.settlement.models import Line
from towerledger.sites.models import Site, Tenancy
from towerledger.web import params
from towerledger.web.tables import paginate


def _operator(user) -> bool:
    return role_of(user) == Role.OPERATOR


def _dec(value: str, name: str) -> Decimal:
    try:
        d = Decimal((value or "0").strip())
    except InvalidOperation:
        raise services.RentError(f"{name}不是数字", f"{name} is not a number") from None
    if not d.is_finite() or d < 0:
        raise services.RentError(f"{name}不能为负", f"{name} must not be negative")
    return d.quantize(Decimal("0.0001"))


SHOWN = 20   # rows of each list to act on shown on the overview


@login_required
def rent_home(request):
    user = request.user
    today = timezone.localdate()
    g = request.GET
    if _operator(user):
        lines = (scoped(user, Line.objects.of_operators())
                 .filter(kind__in=(Line.Kind.RENT, Line.Kind.SITE_FEE_LUMP_SUM))
                 .select_related("site", "tenancy").order_by("-push_date", "-pk")[:200])
        contracts = (scoped(user, RentContract.objects.all()).select_related("site")
                     .order_by("contract_no")[:200])
        return render(request, "web/programs/rent/operator.html",
                      {"lines": lines, "contracts": contracts})
    days = (g.get("days") or "").strip()
    within = min(max(int(days), 1), 3650) if days.isdigit() and len(days) < 6 else 90
    contracts = scoped(user, RentContract.objects.all()).select_related("site", "landlord")
    items = scoped(user, ScheduleItem.objects.all()).select_related("contract__site")
    month = params.month(g) or (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    fee_lines = scoped(user, Line.objects.all())
    # the contracts page by page; the lists to act on show their first rows (each links on)
    page, query = paginate(request, contracts.order_by("contract_no"), size=25)
    return render(request, "web/programs/rent/home.html", {
        "contracts": page, "page": page, "query": query,
        "contract_count": page.paginator.count,
        "renewals": services.renewals(contracts, today, within)[:SHOWN], "days": within,
        "overdue": services.overdue(items, today)[:SHOWN],
        "overdue_total": services.overdue(items, today).aggregate(s=Sum("amount"))["s"] or 0,
        "findings": scoped(user, RentFinding.objects.filter(resolved=False))
        .select_related("contract__site")[:SHOWN],
        "threshold": services.threshold_pct(),
        "months": scoped(user, RentMonth.objects.all()).select_related("city")
        .order_by("-month", "city__name")[:40],
        "month": month, "gaps": services.site_fee_gaps(month, fee_lines)[:SHOWN],
        "can_change": can_change(user), "today": today,
        "sites": writable(user, Site.objects.all()).order_by("site_code")
        .values_list("site_code", flat=True)[:2000] if can_change(user) else [],
        "cycles": RentContract.Cycle.choices, "timings": RentContract.Timing.choices,
        "escalations": RentContract.Escalation.choices,
        "pass_throughs": RentContract.PassThrough.choices,
        "landlord_kinds": Landlord.Kind.choices,
    })


def _contract_or_404(user, contract_no):
    c = (scoped(user, RentContract.objects.filter(contract_no=contract_no))
         .select_related("site", "landlord").first())
    if c is None:
        raise Http404
    return c


@login_required
def rent_contract(request, contract_no):
    user = request.user
    c = _contract_or_404(user, contract_no)
    operator = _operator(user)
    items = list(c.items.select_related("payment").order_by("seq"))
    lines = []
    if not operator:
        lines = (Line.objects.filter(kind=Line.Kind.RENT, pk__in=c.payments.values(
            "lines__line_id")).select_related("tenancy", "operator").order_by("period_start",
                                                                              "pk"))
    else:
        lines = (scoped(user, Line.objects.filter(kind=Line.Kind.RENT, pk__in=c.payments.values(
            "lines__line_id"))).select_related("tenancy", "operator").order_by("period_start"))
    writable_c = can_change(user) and writable(user, RentContract.objects.filter(
        pk=c.pk)).exists()
    return render(request, "web/programs/rent/contract.html", {
        "c": c, "items": items, "lines": lines, "operator": operator,
        "payments": [] if operator else c.payments.select_related("item").order_by("paid_date"),
        "deposit_paid": c.payments.filter(kind=RentPayment.Kind.DEPOSIT).exists(),
        "can_pay": writable_c, "today": timezone.localdate(),
        "total": sum((i.amount for i in items if not i.cancelled), Decimal("0.00")),
    })


@login_required
@require_POST
def rent_contract_new(request):
    user = request.user
    if not can_change(user):
        raise PermissionDenied
    p = request.POST
    try:
        site = writable(user, Site.objects.filter(site_code=(p.get("site_code") or "").strip())
                        ).first()
        if site is None:
            raise services.RentError("站址不存在或不在您的范围内",
                                     "the site does not exist or is outside your scope")
        no = (p.get("contract_no") or "").strip()
        if not no or len(no) > 40:
            raise services.RentError("请填写合同编号", "enter a contract number")
        if RentContract.objects.filter(contract_no=no).exists():
            raise services.RentError(f"合同编号{no}已存在", f"contract {no} already exists")
        landlord_name = (p.get("landlord") or "").strip()[:120]
        landlord = None
        if landlord_name:
            landlord, _ = Landlord.objects.get_or_create(
                name=landlord_name, defaults={
                    "kind": params.choice(p, "landlord_type", Landlord.Kind.values, "PERSON"),
                    "bank_name": (p.get("bank_name") or "").strip()[:120],
                    "bank_account": (p.get("bank_account") or "").strip()[:40]})
        start, end = params.day(p, "start_date"), params.day(p, "end_date")
        if not start or not end:
            raise services.RentError("请填写起止日期", "enter the start and end dates")
        c = services.save_contract(
            no, user=user, reason=(p.get("reason") or "新建场租合同").strip()[:200],
            site=site, landlord=landlord, start_date=start, end_date=end,
            annual_rent=_dec(p.get("annual_rent"), "年租金").quantize(Decimal("0.01")),
            cycle=params.choice(p, "cycle", RentContract.Cycle.values, "YEARLY"),
            timing=params.choice(p, "timing", RentContract.Timing.values, "ADVANCE"),
            escalation=params.choice(p, "escalation", RentContract.Escalation.values, "NONE"),
            escalation_pct=_dec(p.get("escalation_pct"), "年递增率"),
            escalation_step=_dec(p.get("escalation_step"), "年递增额").quantize(Decimal("0.01")),
            deposit=_dec(p.get("deposit"), "押金").quantize(Decimal("0.01")),
            pass_through=params.choice(p, "pass_through", RentContract.PassThrough.values,
                                       "TENANCY"))
    except (services.RentError, ValueError) as exc:
        messages.error(request, str(exc))
        return redirect("rent_home")
    messages.success(request, f"已登记场租合同 {c.contract_no}，付款计划 {c.items.count()} 期 "
                              f"/ contract saved, {c.items.count()} schedule items")
    return redirect("rent_contract", contract_no=c.contract_no)


@login_required
@require_POST
def rent_pay(request, contract_no):
    user = request.user
    c = _contract_or_404(user, contract_no)
    if not (can_change(user) and writable(user, RentContract.objects.filter(pk=c.pk)).exists()):
        raise PermissionDenied
    p = request.POST
    try:
        kind = params.choice(p, "kind", RentPayment.Kind.values, "RENT")
        seq = params.record_id(p, "seq")
        paid = params.day(p, "paid_date") or timezone.localdate()
        no = (p.get("payment_no") or "").strip()[:40] or (
            f"{c.contract_no}-{'D' if kind == 'DEPOSIT' else seq}")
        pay = services.record_payment(c, payment_no=no, paid_date=paid, seq=seq, kind=kind,
                                      reference=(p.get("reference") or "").strip()[:80],
                                      user=user, reason=(p.get("reason") or "").strip()[:200])
    except (services.RentError, ValueError) as exc:
        messages.error(request, str(exc))
        return redirect("rent_contract", contract_no=c.contract_no)
    n = pay.lines.count()
    messages.success(request, f"已付款 {pay.payment_no} {pay.amount} 元，推送场租明细 {n} 条 / "
                              f"paid {pay.amount} yuan, {n} rent lines")
    return redirect("rent_contract", contract_no=c.contract_no)


@login_required
def rent_site_fees(request):
    user = request.user
    qs = scoped(user, SiteFeeAgreement.objects.all())   # an operator: its own tenancies
    return render(request, "web/programs/rent/site_fees.html", {
        "agreements": qs.select_related("tenancy__site", "tenancy__operator")
        .order_by("tenancy__tenancy_id", "effective_from")[:500],
        "can_change": can_change(user),
    })


@login_required
@require_POST
def rent_site_fee_new(request):
    user = request.user
    if not can_change(user):
        raise PermissionDenied
    p = request.POST
    try:
        t = writable(user, Tenancy.objects.filter(
            tenancy_id=(p.get("tenancy_id") or "").strip())).first()
        if t is None:
            raise services.RentError("租户不存在或不在您的范围内",
                                     "the tenancy does not exist or is outside your scope")
        start = params.day(p, "effective_from")
        if not start:
            raise services.RentError("请填写生效日", "enter effective_from")
        services.save_site_fee(t, _dec(p.get("monthly_fee"), "月场地费").quantize(Decimal("0.01")),
                               start, params.day(p, "effective_to"), user=user,
                               reason=(p.get("reason") or "").strip()[:200])
    except (services.RentError, ValueError) as exc:
        messages.error(request, str(exc))
        return redirect("rent_site_fees")
    messages.success(request, "已登记场地费包干 / site fee saved")
    return redirect("rent_site_fees")


urlpatterns = [
    path("programs/rent/", rent_home, name="rent_home"),
    path("programs/rent/contracts/new/", rent_contract_new, name="rent_contract_new"),
    path("programs/rent/contracts/<str:contract_no>/", rent_contract, name="rent_contract"),
    path("programs/rent/contracts/<str:contract_no>/pay/", rent_pay, name="rent_pay"),
    path("programs/rent/site-fees/", rent_site_fees, name="rent_site_fees"),
    path("programs/rent/site-fees/new/", rent_site_fee_new, name="rent_site_fee_new"),
]
HUB = [
    ("rent_home", "场租", "Site rent", None),
    ("rent_site_fees", "场地费包干", "Lump-sum site fees", None),
]
