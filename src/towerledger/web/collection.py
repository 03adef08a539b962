"""Collection pages: 对账单 statements (issue, confirm, withdraw, invoice, XLSX and PDF),
回款核销 receipts and their matching (automatic, suggested, by hand, 反核销) and 账龄 ageing.

Every list goes through the collection scope (``scoped_statements`` / ``scoped_receipts``
/ ``scoped`` lines); every object page answers 404 outside it. State changes are POST
with CSRF and call the services, which check the role again; their errors are shown in
the user's language."""

from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from towerledger.access.models import Role
from towerledger.access.scope import role_of, scoped
from towerledger.analysis import rollups
from towerledger.analysis.models import StatementModes, StatementPaid
from towerledger.collection import services
from towerledger.collection.models import Receipt, Statement
from towerledger.collection.pdf import render_statement
from towerledger.domain import ageing as ageing_rule
from towerledger.exchange.export import download
from towerledger.settlement.models import Application, Line
from towerledger.settlement.receivables import fen
from towerledger.web import params as parameters
from towerledger.web.context import CLERKS, EVERYONE
from towerledger.web.settlement import OPERATORS, _back, _month_filter
from towerledger.web.statement_month import default_issue_month, has_ended, issue_preview
from towerledger.web.tables import cell, choice_filter, header, num, paginate, roles, text_filter
from towerledger.web.views import _cities, code_label

ZERO = Decimal("0.00")


def _error(exc: services.CollectionError) -> str:
    return exc.en if get_language() == "en" else exc.zh


def _day(text) -> date | None:
    """A day typed into a form (POST): None when it is not one, and the form says so."""
    try:
        return parameters.parse_day(text or "", "date")
    except parameters.BadParameter:
        return None


def _amount(text) -> Decimal | None:
    text = (text or "").replace(",", "").strip()
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _export(name: str, headers, rows, sheet: str) -> FileResponse:
    return download(name, list(headers), rows, sheet=sheet)   # streamed, nothing left


def mode_label(mode: str) -> str:
    """A settlement mode in the page's language (web.labels.code_label)."""
    return code_label(mode) or "—"


def paid_state(receivable, outstanding) -> tuple[str, str]:
    """How far a statement is paid: (badge class, label)."""
    if outstanding <= 0 and receivable > 0:
        return "PAID", pgettext("collection", "Paid")
    if outstanding < receivable:
        return "PARTIAL", pgettext("collection", "Part-paid")
    return "OPEN", pgettext("collection", "Unpaid")


def _operator_filter(request):
    if role_of(request.user) == Role.OPERATOR:
        return []
    return [choice_filter(request, "operator", _("Operator"),
                          [(c, code_label(c)) for c in OPERATORS])]


# ---- statements ---------------------------------------------------------------------------

def paid_of_statements():
    """What receipts have written off of each statement (``services.statement_paid``), read
    from its rollup (analysis.rollups) instead of summing its lines' write-offs."""
    return Coalesce(Subquery(StatementPaid.objects.filter(statement=OuterRef("pk"))
                             .values("paid")[:1]), Value(ZERO),
                    output_field=DecimalField(max_digits=16, decimal_places=2))


def filtered_statements(user, params, paid=True):
    """The statements the list shows; ``paid``: with what is written off of each."""
    qs = services.scoped_statements(user)
    qs = _month_filter(qs, params)
    if params.get("operator") in OPERATORS:
        qs = qs.filter(operator__code=params["operator"])
    if params.get("city") == "province":
        qs = qs.filter(city__isnull=True)
    elif city := parameters.record_id(params, "city"):
        qs = qs.filter(city_id=city)
    if params.get("status") in Statement.Status.values:
        qs = qs.filter(status=params["status"])
    return qs.annotate(paid=paid_of_statements()) if paid else qs


@roles(*EVERYONE)
def statements(request):
    user = request.user
    qs = filtered_statements(user, request.GET).select_related("operator", "city")
    page, query = paginate(request, qs.order_by("-month", "number"))
    operator = role_of(user) == Role.OPERATOR
    rows = []
    for st in page:
        paid = fen(st.paid)
        badge, label = paid_state(st.receivable, st.receivable - paid)
        rows.append({"cells": [
            cell(st.number, reverse("statement", args=[st.pk])),
            *([] if operator else [cell(code_label(st.operator.code))]),
            cell(st.city.name if st.city_id else _("Whole province")),
            cell(f"{st.month:%Y-%m}"), cell(st.lines_count, cls="num"),
            num(st.cost_share), num(st.tax_amount), num(st.receivable), num(paid),
            num(st.receivable - paid),
            cell(st.get_status_display(), badge=st.status),
            cell(label if st.status != Statement.Status.VOID else "—",
                 badge=badge if st.status != Statement.Status.VOID else None),
            cell(st.invoice_no or "—")]})
    heads = [header(_("Statement")), *([] if operator else [header(_("Operator"))]),
             header(_("City")), header(_("Month")), header(_("Lines"), "num"),
             header(_("Cost share"), "num"), header(_("Tax factor amount"), "num"),
             header(_("Receivable"), "num"), header(_("Written off"), "num"),
             header(_("Outstanding"), "num"), header(_("Status")), header(_("Payment")),
             header(_("Invoice no"))]
    live = filtered_statements(user, request.GET, paid=False).exclude(
        status=Statement.Status.VOID)
    t = live.aggregate(n=Count("pk"), receivable=Sum("receivable"))
    paid = fen(StatementPaid.objects.filter(statement__in=live.values("pk")).aggregate(
        s=Sum("paid"))["s"])
    totals = {"n": t["n"], "receivable": t["receivable"] or ZERO, "paid": paid,
              "outstanding": (t["receivable"] or ZERO) - paid}
    cities = [("province", _("Whole province"))] if role_of(user) in (
        Role.PROVINCE_ADMIN, Role.VIEWER) or operator else []
    filters = [text_filter(request, "month", _("Month"), _("YYYY-MM")),
               *_operator_filter(request),
               choice_filter(request, "city", _("City"), [*_cities(user), *cities]),
               choice_filter(request, "status", _("Status"), Statement.Status.choices)]
    today = timezone.localdate()
    issue = issue_preview(user, default_issue_month(user, today)) if role_of(user) in CLERKS \
        else None
    return render(request, "web/statements.html", {
        "title": _("Statements"), "page": page, "query": query, "rows": rows,
        "headers": heads, "filters": filters, "totals": totals,
        "can_issue": role_of(user) in CLERKS, "is_operator": operator,
        "is_admin": role_of(user) == Role.PROVINCE_ADMIN,
        "this_month": f"{today:%Y-%m}", "issue": issue,
        "operators": [(c, code_label(c)) for c in OPERATORS],
        "top_actions": [{"url": reverse("export", args=["statements"]) + "?format=xlsx",
                         "label": _("Download XLSX")}]})


@require_POST
@roles(*CLERKS)
def statements_issue(request):
    try:
        month = parameters.parse_month(request.POST.get("month", ""))
    except parameters.BadParameter:
        messages.error(request, _("Enter the month as YYYY-MM."))
        return redirect("statements")
    if refused := _not_ended(month, request.POST.get("early") == "1"):
        messages.error(request, refused)
        return redirect("statements")
    by_city = request.POST.get("by") != "province"
    if not by_city and role_of(request.user) != Role.PROVINCE_ADMIN:
        by_city = True   # a city clerk states its own city only
    op = request.POST.get("operator") if request.POST.get("operator") in OPERATORS else None
    try:
        issued = services.issue_statements(month, request.user, operator=op, by_city=by_city)
    except services.CollectionError as exc:
        messages.error(request, _error(exc))
        return redirect("statements")
    if not issued:
        messages.error(request, _("No confirmed lines are waiting for a statement in "
                                  "%(month)s.") % {"month": f"{month:%Y-%m}"})
        return redirect("statements")
    total = sum((s.receivable for s in issued), ZERO)
    messages.success(request, _("Issued %(n)d statements for %(month)s, %(amount)s yuan in "
                                "all; each operator now confirms its own.") % {
        "n": len(issued), "month": f"{month:%Y-%m}", "amount": f"{total:,.2f}"})
    return redirect(reverse("statements") + f"?month={month:%Y-%m}")


def _not_ended(month, early: bool) -> str | None:
    """Why issuing ``month`` now is refused: it has not begun, or it has not ended and the
    clerk did not confirm issuing it early (lines confirmed later in the month would go on
    the next month's statement)."""
    today = timezone.localdate()
    if month > today.replace(day=1):
        return _("%(month)s has not begun: statements are issued for ended months.") % {
            "month": f"{month:%Y-%m}"}
    if not has_ended(month, today) and not early:
        return _("%(month)s has not ended yet. Tick 'Issue before the month ends' "
                 "to issue it now; lines confirmed later this month will go on the next "
                 "statement.") % {"month": f"{month:%Y-%m}"}
    return None


def _statement(request, pk) -> Statement:
    return get_object_or_404(services.scoped_statements(request.user).select_related(
        "operator", "city", "issued_by", "confirmed_by"), pk=pk)


@roles(*EVERYONE)
def statement(request, pk):
    role = role_of(request.user)
    st = _statement(request, pk)
    lines = st.lines.select_related("site", "tenancy", "bill").order_by(
        "site__site_code", "month", "pk")
    # the sums per mode and what is written off of the lines (their ``written_off``),
    # read from their rollup (analysis.StatementModes), whatever the statement's size
    by_mode = [{"mode": m["mode"], "n": m["lines"], "cost": fen(m["cost_share"]),
                "tax": fen(m["tax_amount"]), "rec": fen(m["receivable"]),
                "off": fen(m["paid"])}
               for m in StatementModes.objects.filter(statement=st, lines__gt=0).values(
                   "mode", "lines", "cost_share", "tax_amount", "receivable", "paid")
               .order_by("mode")]
    agg = {"n": sum(m["n"] for m in by_mode),
           **{k: sum((m[k] for m in by_mode), ZERO) for k in ("cost", "tax", "rec", "off")}}
    page, query = paginate(request, lines, count=agg["n"])
    page.object_list = list(page.object_list)
    for ln in page.object_list:
        ln.left = ln.receivable - ln.written_off
    modes = [{"label": mode_label(m["mode"]), "left": m["rec"] - m["off"], **m}
             for m in by_mode]
    if st.status == Statement.Status.VOID:   # its lines went back to the pool: show the record
        modes = [{"label": mode_label(k), "n": v["lines"], "cost": Decimal(v["cost_share"]),
                  "tax": Decimal(v["tax_amount"]), "rec": Decimal(v["receivable"]),
                  "off": None} for k, v in sorted(st.by_mode.items())]
        agg = {"n": st.lines_count, "cost": st.cost_share, "tax": st.tax_amount,
               "rec": st.receivable, "off": ZERO}
    badge, label = paid_state(agg["rec"], agg["rec"] - agg["off"])
    receipts = Application.objects.filter(statement=st, reversed_at__isnull=True).values(
        "receipt_id", "receipt__receipt_no", "receipt__received_date").annotate(
        amount=Sum("amount")).order_by("receipt__received_date", "receipt_id")
    return render(request, "web/statement.html", {
        "st": st, "page": page, "query": query, "totals": agg, "modes": modes,
        "paid_badge": badge, "paid_label": label, "outstanding": agg["rec"] - agg["off"],
        "receipts": receipts,
        "can_confirm": role == Role.OPERATOR and st.status == Statement.Status.ISSUED,
        "can_withdraw": role in CLERKS and st.status == Statement.Status.ISSUED,
        "can_invoice": role in CLERKS and st.status == Statement.Status.CONFIRMED
        and not st.invoice_no,
        "is_void": st.status == Statement.Status.VOID,
        "today": f"{timezone.localdate():%Y-%m-%d}"})


@require_POST
@roles(Role.OPERATOR)
def statement_confirm(request, pk):
    st = _statement(request, pk)
    if request.POST.get("agree") != "1":
        messages.error(request, _("Tick the box to say you have checked the statement."))
        return redirect("statement", st.pk)
    try:
        services.confirm_statement(st.pk, request.user)
    except services.CollectionError as exc:
        messages.error(request, _error(exc))
        return redirect("statement", st.pk)
    messages.success(request, _("Statement %(no)s confirmed: %(amount)s yuan. It no longer "
                                "changes.") % {"no": st.number,
                                               "amount": f"{st.receivable:,.2f}"})
    return redirect("statement", st.pk)


@require_POST
@roles(*CLERKS)
def statement_withdraw(request, pk):
    st = _statement(request, pk)
    try:
        services.withdraw_statement(st.pk, request.user, request.POST.get("reason", ""))
    except services.CollectionError as exc:
        messages.error(request, _error(exc))
        return redirect("statement", st.pk)
    messages.success(request, _("Statement %(no)s withdrawn; its lines go on the next one.")
                     % {"no": st.number})
    return redirect("statement", st.pk)


@require_POST
@roles(*CLERKS)
def statement_invoice(request, pk):
    st = _statement(request, pk)
    day = _day(request.POST.get("invoice_date"))
    amount = _amount(request.POST.get("invoice_amount"))
    if day is None or amount is None or amount <= 0:
        messages.error(request, _("Enter the invoice date and a positive amount."))
        return redirect("statement", st.pk)
    if day > timezone.localdate():
        messages.error(request, _("The invoice date is in the future."))
        return redirect("statement", st.pk)
    try:
        services.record_invoice(st.pk, request.user, request.POST.get("invoice_no", "").strip(),
                                day, amount)
    except services.CollectionError as exc:
        messages.error(request, _error(exc))
        return redirect("statement", st.pk)
    text = _("Invoice %(no)s recorded.") % {"no": request.POST.get("invoice_no", "").strip()}
    if amount != st.receivable:
        text += " " + _("Its amount differs from the statement's receivable %(r)s yuan.") % {
            "r": f"{st.receivable:,.2f}"}
    messages.success(request, text)
    return redirect("statement", st.pk)


STATEMENT_XLSX = ("line_id", "site_code", "site_name", "tenancy_id", "bill_no", "month",
                  "settlement_mode", "period_start", "period_end", "active_days",
                  "cost_share", "tax_factor", "tax_amount", "receivable", "written_off",
                  "outstanding")


@roles(*EVERYONE)
def statement_xlsx(request, pk):
    st = _statement(request, pk)
    qs = st.lines.order_by("site__site_code", "month", "pk").values_list(
        "pk", "site__site_code", "site__site_name", "tenancy__tenancy_id", "bill__bill_no",
        "month", "mode", "period_start", "period_end", "active_days", "cost_share",
        "tax_factor", "tax_amount", "receivable", "written_off")
    totals = [ZERO] * 5

    def rows():
        for r in qs.iterator(chunk_size=2000):
            for i, v in enumerate((r[10], r[12], r[13], r[14])):
                totals[i] += v
            yield [f"L{r[0]}", r[1], r[2], r[3] or "", r[4] or "", r[5].strftime("%Y-%m"),
                   *r[6:], r[13] - r[14]]
        yield ["合计 total", "", "", "", "", "", "", "", "", "", totals[0], "", totals[1],
               totals[2], totals[3], totals[2] - totals[3]]

    return _export(f"{st.number}.xlsx", STATEMENT_XLSX, rows(), sheet=st.number)


@roles(*EVERYONE)
def statement_pdf(request, pk):
    st = _statement(request, pk)
    response = HttpResponse(render_statement(st), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{st.number}.pdf"'
    return response


# ---- receipts and matching ----------------------------------------------------------------

def filtered_receipts(user, params):
    qs = services.scoped_receipts(user)
    if params.get("status") in Receipt.Status.values:
        qs = qs.filter(status=params["status"])
    elif params.get("status") == "open":
        qs = qs.exclude(status=Receipt.Status.APPLIED)
    if params.get("operator") in OPERATORS:
        qs = qs.filter(operator__code=params["operator"])
    if city := parameters.record_id(params, "city"):
        qs = qs.filter(city_id=city)
    if since := parameters.day(params, "date_from"):
        qs = qs.filter(received_date__gte=since)
    if until := parameters.day(params, "date_to"):
        qs = qs.filter(received_date__lte=until)
    if text := parameters.text(params, "q"):
        qs = qs.filter(Q(receipt_no__icontains=text) | Q(reference__icontains=text))
    return qs


@roles(*EVERYONE)
def receipts(request):
    user = request.user
    qs = filtered_receipts(user, request.GET).select_related("operator", "city")
    page, query = paginate(request, qs.order_by("-received_date", "-pk"))
    operator = role_of(user) == Role.OPERATOR
    rows = [{"cells": [
        cell(r.receipt_no, reverse("receipt", args=[r.pk])),
        *([] if operator else [cell(code_label(r.operator.code))]),
        cell(r.city.name if r.city_id else "—"), cell(f"{r.received_date:%Y-%m-%d}"),
        num(r.amount), num(r.applied), num(r.unapplied),
        cell(r.reference or "—", cls="wrap"),
        cell(r.get_status_display(), badge=f"R-{r.status}")]} for r in page]
    heads = [header(_("Receipt")), *([] if operator else [header(_("Operator"))]),
             header(_("City")), header(_("Received on")), header(_("Amount"), "num"),
             header(_("Applied"), "num"), header(_("Unapplied (advance)"), "num"),
             header(_("Reference")), header(_("Status"))]
    t = qs.aggregate(n=Count("pk"), amount=Sum("amount"), applied=Sum("applied"))
    totals = {"n": t["n"], "amount": t["amount"] or ZERO, "applied": t["applied"] or ZERO}
    totals["unapplied"] = totals["amount"] - totals["applied"]
    states = [("open", _("Not fully applied")), *Receipt.Status.choices]
    filters = [choice_filter(request, "status", _("Status"), states),
               *_operator_filter(request),
               choice_filter(request, "city", _("City"), _cities(user)),
               {**text_filter(request, "date_from", _("Received from")), "type": "date"},
               {**text_filter(request, "date_to", _("Received to")), "type": "date"},
               text_filter(request, "q", _("Number or reference"))]
    can_match = role_of(user) in CLERKS
    return render(request, "web/receipts.html", {
        "title": _("Receipts and write-off") if not operator else _("Our payments"),
        "page": page, "query": query, "rows": rows, "headers": heads, "filters": filters,
        "totals": totals, "can_match": can_match, "is_operator": operator,
        "open_count": filtered_receipts(user, request.GET).exclude(
            status=Receipt.Status.APPLIED).count(),
        "top_actions": [*([{"url": reverse("imports") + "?kind=receipts",
                            "label": _("Import receipts")}] if can_match else []),
                        {"url": reverse("export", args=["receipts"]) + "?format=xlsx",
                         "label": _("Download XLSX")}]})


@require_POST
@roles(*CLERKS)
def receipts_match(request):
    """自动核销 for the user's receipts (the filtered set) that are not fully applied."""
    params = request.POST
    ids = list(filtered_receipts(request.user, params).exclude(
        status=Receipt.Status.APPLIED).values_list("pk", flat=True))
    back = _back(request, reverse("receipts"))
    if not ids:
        messages.error(request, _("Every receipt is already applied."))
        return redirect(back)
    result = services.auto_match(ids, request.user)
    rules = dict(Application.Rule.choices)
    how = "; ".join(f"{rules.get(k, k)} {v}" for k, v in sorted(result.by_rule.items()))
    text = _("Automatic matching applied %(amount)s yuan in %(n)d write-offs; "
             "%(left)d receipts found nothing to match.") % {
        "amount": f"{result.applied:,.2f}", "n": result.applications,
        "left": len(result.unmatched)}
    (messages.success if result.applications else messages.error)(
        request, text + (f" ({how})" if how else ""))
    return redirect(back)


def _receipt(request, pk) -> Receipt:
    return get_object_or_404(services.scoped_receipts(request.user).select_related(
        "operator", "city"), pk=pk)


def open_lines(user, receipt: Receipt, params):
    """Confirmed lines of the receipt's operator with something left to write off, in the
    user's scope (and the receipt's city, when it has one), oldest push first."""
    qs = scoped(user, Line.objects.open().filter(operator_id=receipt.operator_id,
                                                 receivable__gt=F("written_off")))
    if receipt.city_id:
        qs = qs.filter(city_id=receipt.city_id)
    if site := parameters.text(params, "site"):
        qs = qs.filter(site__site_code__icontains=site)
    if number := parameters.text(params, "statement"):
        qs = qs.filter(statement__number__icontains=number)
    return qs.order_by("push_date", "pk")


@roles(*EVERYONE)
def receipt(request, pk):
    user, role = request.user, role_of(request.user)
    r = _receipt(request, pk)
    apps = list(r.applications.select_related("line__site", "statement", "created_by",
                                              "reversed_by").order_by("created_at", "pk"))
    rules = dict(Application.Rule.choices)
    for a in apps:
        a.rule_label = rules.get(a.rule, a.rule)
    can_match = role in CLERKS
    context = {"r": r, "apps": apps, "can_match": can_match,
               "active_total": sum((a.amount for a in apps if not a.reversed_at), ZERO)}
    if can_match and r.unapplied > 0:
        sugg = services.suggestions(r)
        visible = set(services.scoped_statements(user).filter(
            pk__in=[s["statement"].pk for s in sugg]).values_list("pk", flat=True))
        context["suggestions"] = [s for s in sugg if s["statement"].pk in visible]
        lines = open_lines(user, r, request.GET).select_related("site", "statement")
        line_page = Paginator(lines, 30).get_page(request.GET.get("page"))
        line_page.object_list = list(line_page.object_list)
        for ln in line_page.object_list:
            ln.left = ln.receivable - ln.written_off
        context["line_page"] = line_page
        context["line_query"] = urlencode([(k, request.GET[k]) for k in ("site", "statement")
                                           if request.GET.get(k)])
        context["site_q"] = request.GET.get("site", "")
        context["statement_q"] = request.GET.get("statement", "")
    return render(request, "web/receipt.html", context)


@require_POST
@roles(*CLERKS)
def receipt_match(request, pk):
    r = _receipt(request, pk)
    if statement := parameters.ids(request.POST, "statement"):
        st = get_object_or_404(services.scoped_statements(request.user), pk=statement[0])
        ids = list(st.lines.values_list("pk", flat=True))
    else:
        ids = parameters.ids(request.POST, "lines")
    if not ids:
        messages.error(request, _("Choose the lines or the statement to match."))
        return redirect("receipt", r.pk)
    try:
        n, total = services.manual_match(r.pk, ids, request.user,
                                         request.POST.get("reason", ""))
    except services.CollectionError as exc:
        messages.error(request, _error(exc))
        return redirect("receipt", r.pk)
    messages.success(request, _("Matched %(amount)s yuan to %(n)d lines.") % {
        "amount": f"{total:,.2f}", "n": n})
    return redirect("receipt", r.pk)


@require_POST
@roles(*CLERKS)
def receipt_unmatch(request, pk):
    r = _receipt(request, pk)
    ids = parameters.ids(request.POST, "applications")
    ids = list(r.applications.filter(pk__in=ids).values_list("pk", flat=True))
    if not ids:
        messages.error(request, _("Choose the write-offs to undo."))
        return redirect("receipt", r.pk)
    try:
        n = services.unmatch(ids, request.user, request.POST.get("reason", ""))
    except services.CollectionError as exc:
        messages.error(request, _error(exc))
        return redirect("receipt", r.pk)
    (messages.success if n else messages.error)(
        request, _("Undid %(n)d write-offs; the amount is unapplied again.") % {"n": n})
    return redirect("receipt", r.pk)


# ---- ageing --------------------------------------------------------------------------------

BY = ("operator", "city", "county", "site")


def _by_choices():
    return [("operator", _("Operator")), ("city", _("City")), ("county", _("County")),
            ("site", _("Site"))]


def ageing_rows(request):
    by = parameters.choice(request.GET, "by", BY, "operator")
    as_of = parameters.day(request.GET, "as_of") or timezone.localdate()
    filters = _ageing_filters(request)
    # as of today the chains' rollup answers (analysis.rollups); any other day, the core
    fast = rollups.ageing_today(request.user, by, as_of, **filters)
    return by, as_of, fast if fast is not None else services.ageing(request.user, by, as_of,
                                                                    **filters)


def _ageing_key(by, key):
    if by == "operator":
        return cell(code_label(key))
    if by == "site":
        return cell(key, reverse("site", args=[key]))
    return cell(key)


def _ageing_filters(request) -> dict:
    filters = {}
    if request.GET.get("operator") in OPERATORS and role_of(request.user) != Role.OPERATOR:
        filters["operator__code"] = request.GET["operator"]
    if city := parameters.record_id(request.GET, "city"):
        filters["city_id"] = city
    return filters


def _bucket_of(as_of, pushed) -> str:
    return services.BUCKETS[ageing_rule.bucket((as_of - pushed).days)][2]


def _sites_today(request, as_of):
    """Ageing by site as of today from the sites' rollup (analysis.SiteOwed: what each
    site's open chains owe, kept from the chains' rollup; its totals by push date from
    analysis.OwedDay), paged in the database (a
    province has a hundred thousand sites that owe): (page of rows, the 30 largest, totals
    per bucket, grand total, chains), each row as ``services.ageing`` makes it; None when
    the rollups cannot answer (analysis.rollups.site_owed_today)."""
    found = rollups.site_owed_today(request.user, as_of, **_ageing_filters(request))
    if found is None:
        return None
    chains, owed, days = found
    labels = [label for _lo, _hi, label in services.BUCKETS]
    left = Sum(F("amount") - F("written_off"))
    per_site = owed.order_by("-owed", "site_code").values("site_id", "site_code", "owed",
                                                          "chains")
    paginator = Paginator(per_site, 50)   # the largest first, as the list sorts them
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    # the 30 largest head the first page, in the same order: not asked again
    top = page.object_list[:30] if page.number == 1 else list(per_site[:30])
    split = {}
    for site, pushed, amount in chains.filter(site_id__in={
            r["site_id"] for r in [*page.object_list, *top]}).values(
            "site_id", "chain_date").annotate(s=left).values_list("site_id", "chain_date", "s"):
        b = split.setdefault(site, dict.fromkeys(labels, ZERO))
        b[_bucket_of(as_of, pushed)] += fen(amount)

    def row(r):
        return {"key": r["site_code"], "total": fen(r["owed"]), "lines": r["chains"],
                "buckets": split[r["site_id"]]}

    page.object_list = [row(r) for r in page.object_list]
    totals, grand, n = dict.fromkeys(labels, ZERO), ZERO, 0
    for pushed, amount, count in days.values_list("chain_date", "owed", "chains"):
        totals[_bucket_of(as_of, pushed)] += fen(amount)
        grand += fen(amount)
        n += count
    return page, [row(r) for r in top], totals, grand, n


@roles(*EVERYONE)
def ageing(request):
    labels = [label for _lo, _hi, label in services.BUCKETS]
    by = parameters.choice(request.GET, "by", BY, "operator")
    as_of = parameters.day(request.GET, "as_of") or timezone.localdate()
    fast = _sites_today(request, as_of) if by == "site" else None
    if fast is not None:
        page, top, totals, grand, lines = fast
        many = page.paginator.count > len(top)
    else:
        by, as_of, data = ageing_rows(request)
        if by == "site":   # many rows: the largest first
            data.sort(key=lambda r: -r["total"])
        totals = {label: sum((r["buckets"][label] for r in data), ZERO) for label in labels}
        grand = sum((r["total"] for r in data), ZERO)
        lines = sum(r["lines"] for r in data)
        page = Paginator(data, 50).get_page(request.GET.get("page"))
        top = sorted(data, key=lambda r: -r["total"])[:30]
        many = len(data) > len(top)
    query = urlencode([(k, v) for k, v in request.GET.items() if k != "page" and v])
    rows = [{"cells": [_ageing_key(by, r["key"]), cell(r["lines"], cls="num"),
                       *[num(r["buckets"][label]) for label in labels], num(r["total"])]}
            for r in page]
    heads = [header(dict(_by_choices())[by]), header(_("Lines"), "num"),
             *[header(_("%(b)s days") % {"b": label} if label[0] != ">" else
                      _("over %(n)s days") % {"n": label[1:]}, "num") for label in labels],
             header(_("Outstanding"), "num")]
    chart = {"keys": [code_label(r["key"]) if by == "operator" else r["key"] for r in top],
             "series": [{"name": h["label"], "data": [float(r["buckets"][label]) for r in top]}
                        for h, label in zip(heads[2:-1], labels, strict=True)]}
    filters = [choice_filter(request, "by", _("Group by"), _by_choices()),
               {**text_filter(request, "as_of", _("As of")), "type": "date"},
               *_operator_filter(request),
               choice_filter(request, "city", _("City"), _cities(request.user))]
    filters[0]["value"] = by
    return render(request, "web/ageing.html", {
        "title": _("Receivables ageing"), "page": page, "query": query, "rows": rows,
        "headers": heads, "filters": filters, "as_of": as_of, "by": by,
        "totals": [totals[label] for label in labels], "grand": grand,
        "over90": sum((totals[label] for lo, _hi, label in services.BUCKETS if lo > 90),
                      ZERO),
        "lines": lines, "chart": chart, "chart_limited": many,
        "top_actions": [{"url": reverse("ageing_export") + "?" + request.GET.urlencode(),
                         "label": _("Download XLSX")}]})


@roles(*EVERYONE)
def ageing_export(request):
    by, as_of, data = ageing_rows(request)
    labels = [label for _lo, _hi, label in services.BUCKETS]
    total = {label: sum((r["buckets"][label] for r in data), ZERO) for label in labels}
    rows = [[r["key"], r["lines"], *[r["buckets"][label] for label in labels], r["total"]]
            for r in data]
    rows.append(["合计 total", sum(r["lines"] for r in data), *total.values(),
                 sum((r["total"] for r in data), ZERO)])
    return _export(f"ageing-{by}-{as_of:%Y%m%d}.xlsx",
                   [by, "lines", *labels, "outstanding"], rows, sheet="ageing")
