"""Bills (缴费单) and the audit queue (稽核): lists, a bill's page with its flags, history
and benchmark chart, and the actions: assign, resolve, whitelist, pay."""

from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Case, F, IntegerField, Q, When
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from towerledger.access.models import AuditEntry
from towerledger.access.scope import can_change, scoped
from towerledger.bills import services
from towerledger.bills.models import Bill, Flag
from towerledger.domain.audits import BLOCK, RULE_LABELS, describe_figures
from towerledger.domain.supply_terms import bill_day
from towerledger.settlement.models import Line
from towerledger.sites import terms as supply_terms
from towerledger.web import labels, params, redirects
from towerledger.web.context import CLERKS, STAFF
from towerledger.web.exports import background_exports
from towerledger.web.tables import (
    ById,
    cell,
    choice_filter,
    header,
    num,
    paginate,
    roles,
    text_filter,
)
from towerledger.web.views import _cities, _exports


def rule_label(code) -> str:
    return labels.rule_label(code, with_code=True)


def finding_details(flag) -> str:
    """A finding's figures in words with units, in the page's language (the one formatter:
    domain.audits.describe_figures), for the queue, the bill page and the line page."""
    en = get_language() == "en"
    return " · ".join(en_text if en else zh for zh, en_text in
                      describe_figures(flag.code, flag.figures))


def queue_order(qs):
    """The audit queue's order: open findings first, BLOCK before WARN (as text "BLOCK"
    sorts before "WARN", so ``-severity`` put every warning first), then the oldest bill
    first — what has held a payment longest."""
    return qs.annotate(
        open_first=Case(When(status=Flag.Status.OPEN, then=0), default=1,
                        output_field=IntegerField()),
        block_first=Case(When(severity=BLOCK, then=0), default=1,
                         output_field=IntegerField()),
    ).order_by("open_first", "block_first", "bill__period_start", "bill_id", "pk")


def _bill_filters(request, qs):
    g = request.GET
    q, account = params.text(g, "q"), params.text(g, "account")
    status = params.choice(g, "status", Bill.Status.values)
    city, month = params.record_id(g, "city"), params.month(g)
    if q:
        qs = qs.filter(Q(bill_no__icontains=q) | Q(account__account_no__icontains=q))
    if account:
        qs = qs.filter(account__account_no=account)
    if status:
        qs = qs.filter(status=status)
    if city:
        qs = qs.filter(account__splits__site__county__city_id=city).distinct()
    if month:
        qs = qs.filter(period_start__year=month.year, period_start__month=month.month)
    held = g.get("blocked")   # 1: held by a BLOCK finding; 0: payable (the home's to-do)
    if held == "1":
        qs = qs.filter(blocking__gt=0, status=Bill.Status.UNPAID)
    elif held == "0":
        qs = qs.filter(blocking=0, status=Bill.Status.UNPAID)
    return qs


@roles(*STAFF)
def bills(request):
    qs = _bill_filters(request, scoped(request.user, Bill.objects.select_related("account")))
    page, query = paginate(request, qs.order_by("-period_start", "account__account_no", "bill_no"))
    rows = [{"id": b.pk, "cells": [
        cell(b.bill_no, reverse("bill", args=[b.pk])), cell(b.account.account_no),
        cell(f"{b.period_start} ～ {b.period_end}"), num(b.kwh), num(b.unit_price, 4),
        num(b.amount), cell(b.get_status_display(), badge=b.status),
        cell(b.paid_date or "—"),
        cell(b.blocking or "", badge="BLOCK" if b.blocking else None, cls="num"),
        cell(b.warnings or "", badge="WARN" if b.warnings else None, cls="num")]}
        for b in page]
    return render(request, "web/bills.html", {
        "title": _("Bills"), "page": page, "query": query, "rows": rows,
        "selectable": can_change(request.user),
        "headers": [header(_("Bill no")), header(_("Account")), header(_("Period")),
                    header(_("kWh"), "num"), header(_("Unit price"), "num"),
                    header(_("Amount"), "num"), header(_("Status")), header(_("Paid on")),
                    header(_("Blocking"), "num"), header(_("Warnings"), "num")],
        "filters": [text_filter(request, "q", _("Bill or account")),
                    choice_filter(request, "status", _("Status"), Bill.Status.choices),
                    choice_filter(request, "city", _("City"), _cities(request.user)),
                    text_filter(request, "month", _("Period month"), _("YYYY-MM")),
                    choice_filter(request, "blocked", _("Held"), [("1", _("blocked")),
                                                                  ("0", _("payable"))])],
        "top_actions": background_exports("bills"), "today": timezone.localdate().isoformat()})


@roles(*STAFF)
def bill(request, pk):
    obj = get_object_or_404(scoped(request.user, Bill.objects.select_related("account")), pk=pk)
    recent = list(Bill.objects.filter(account=obj.account).exclude(status=Bill.Status.VOID)
                  .order_by("period_start")[:24])
    chart = {"labels": [f"{b.period_start:%Y-%m}" for b in recent],
             "kwh_per_day": [float(b.kwh / b.days) if b.kwh is not None else None
                             for b in recent],
             "amount": [float(b.amount) for b in recent],
             "current": recent.index(obj) if obj in recent else None}
    flags = [{"flag": f, "label": rule_label(f.code), "details": finding_details(f)}
             for f in queue_order(obj.flags.all())]
    history = AuditEntry.objects.filter(object_type="bill", object_key=str(obj.pk)) \
        .select_related("user")
    splits = obj.account.splits.select_related("site").order_by("site__site_code")
    # the account's supply terms the bill is judged by (dated: on its period end)
    terms = supply_terms.load([obj.account_id]).on(obj.account_id,
                                                    bill_day(obj.period_start, obj.period_end))
    lines = list(obj.lines.select_related("site", "tenancy", "operator")
                 .order_by("site__site_code", "kind", F("tenancy_id").asc(nulls_last=True),
                           "pk"))
    totals = {k: sum((getattr(ln, k) for ln in lines if ln.kind == Line.Kind.ALLOCATION),
                     Decimal(0)) for k in ("cost_share", "tax_amount", "receivable")}
    return render(request, "web/bill.html", {
        "bill": obj, "terms": terms, "flags": flags, "history": history, "chart": chart,
        "splits": splits, "today": timezone.localdate().isoformat(),
        "colleagues": _colleagues(request.user), "lines": lines, "line_totals": totals})


def _colleagues(user):
    return get_user_model().objects.filter(profile__role__in=CLERKS).order_by("username") \
        .values_list("pk", "username")


@roles(*STAFF)
def flags(request):
    qs = scoped(request.user, Flag.objects.select_related("bill__account", "assignee"))
    g = request.GET
    for key, lookup in (("rule", "code"), ("severity", "severity"), ("status", "status")):
        if params.text(g, key):
            qs = qs.filter(**{lookup: params.text(g, key)})
    city = params.record_id(g, "city")
    if city:
        qs = qs.filter(bill__account__splits__site__county__city_id=city).distinct()
    if g.get("mine"):
        qs = qs.filter(assignee=request.user)
    # the page's ids sorted alone, then their findings with bill, account and assignee
    page, query = paginate(request, ById(queue_order(qs)))
    rows = [{"cells": [
        cell(f.severity, badge=f.severity), cell(rule_label(f.code)),
        cell(f.bill.bill_no, reverse("bill", args=[f.bill_id])), cell(f.bill.account.account_no),
        cell(f"{f.bill.period_start:%Y-%m}"), cell(f.message_zh if get_language() != "en"
                                                   else f.message_en, cls="wrap"),
        cell(finding_details(f), cls="wrap small"),
        cell(f.get_status_display(), badge=f.status), cell(f.assignee or "")]} for f in page]
    return render(request, "web/list.html", {
        "title": _("Audit queue"), "page": page, "query": query, "rows": rows,
        "headers": [header(_("Severity")), header(_("Rule")), header(_("Bill")),
                    header(_("Account")), header(_("Month")), header(_("Finding")),
                    header(_("Figures")), header(_("Status")),
                    header(_("Assigned to"))],
        "filters": [choice_filter(request, "rule", _("Rule"),
                                  [(c, rule_label(c)) for c in RULE_LABELS]),
                    choice_filter(request, "severity", _("Severity"),
                                  [("BLOCK", "BLOCK"), ("WARN", "WARN")]),
                    choice_filter(request, "status", _("Status"), Flag.Status.choices),
                    choice_filter(request, "city", _("City"), _cities(request.user)),
                    choice_filter(request, "mine", _("Assigned"), [("1", _("to me"))])],
        "top_actions": _exports(request, "flags")})


def _done(request, ok_message):
    messages.success(request, ok_message)


@require_POST
@roles(*CLERKS)
def flag_action(request, pk):
    flag = get_object_or_404(scoped(request.user, Flag.objects.all()), pk=pk)
    action, reason = request.POST.get("action"), request.POST.get("reason", "")
    try:
        if action == "resolve":
            services.resolve_flag(flag.pk, request.user, reason)
            _done(request, _("Flag resolved."))
        elif action == "whitelist":
            services.whitelist_flag(flag.pk, request.user, reason)
            _done(request, _("Account whitelisted for this rule."))
        elif action == "assign":
            assignee = get_user_model().objects.filter(pk=request.POST.get("assignee")).first()
            services.assign_flag(flag.pk, request.user, assignee)
            _done(request, _("Flag assigned."))
    except services.ServiceError as exc:
        messages.error(request, exc.en if get_language() == "en" else exc.zh)
    return redirect("bill", flag.bill_id)


@require_POST
@roles(*CLERKS)
def pay(request):
    ids = params.ids(request.POST, "ids")
    back = redirects.back(request, reverse("bills"))  # never off this site
    try:
        paid_date = date.fromisoformat(request.POST.get("paid_date", ""))
        result = services.pay_bills(ids, request.user, paid_date,
                                    reason=request.POST.get("reason", ""))
    except ValueError:
        messages.error(request, _("Give the paid date."))
        return redirect(back)
    except services.ServiceError as exc:
        messages.error(request, exc.en if get_language() == "en" else exc.zh)
        return redirect(back)
    messages.success(request, _("Paid %(paid)d; already paid %(already)d; held by a blocking "
                                "flag %(blocked)d.") % {"paid": len(result.paid),
                                                       "already": len(result.already_paid),
                                                       "blocked": len(result.blocked)})
    return redirect(back)
