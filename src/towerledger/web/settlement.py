"""Settlement pages: the operator's pending lines (待确认) with bulk confirmation and an
XLSX download, a line's page (explanation, dispute form, adjustment chain), the dispute
desk (争议处理) and the site ledger (站址台账).

Every list goes through ``scoped``; every object page answers 404 for an object outside
the user's scope. Actions call the settlement services, which check the role again."""

from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, F, Q, Sum
from django.http import FileResponse, Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from towerledger.access.models import Role
from towerledger.access.scope import profile_of, role_of, scope_filter, scoped
from towerledger.analysis.models import LedgerFigures, LedgerSites, LedgerTotals, LineTotals
from towerledger.exchange.export import download
from towerledger.settlement import services
from towerledger.settlement.models import Dispute, Line, LineQuerySet, line_state
from towerledger.settlement.receivables import chain as line_chain
from towerledger.settlement.receivables import fen
from towerledger.sites.models import Site
from towerledger.web import params as parameters
from towerledger.web.bills import finding_details, queue_order, rule_label
from towerledger.web.context import CLERKS, EVERYONE, STAFF
from towerledger.web.line_bill import bill_facts
from towerledger.web.redirects import back
from towerledger.web.tables import cell, choice_filter, header, num, paginate, roles, text_filter
from towerledger.web.uploads import ATTACHMENT_TYPES, check_attachment
from towerledger.web.views import _cities, code_label

ZERO = Decimal("0.00")
OPERATORS = ("CMCC", "CUCC", "CTCC", "CBN", "OTHER")



def _error(exc: services.SettlementError) -> str:
    return exc.en if get_language() == "en" else exc.zh


def _back(request, default: str) -> str:
    return back(request, default)


def _month_filter(qs, query, field="month"):
    """``qs`` in the month of ``query["month"]`` (YYYY-MM; malformed: 400, web.params)."""
    month = parameters.month(query)
    if month is None:
        return qs
    return qs.filter(**{f"{field}__year": month.year, f"{field}__month": month.month})


# ---- pending lines ------------------------------------------------------------------------

def _tab(params) -> str:
    return "history" if params.get("tab") == "history" else "pending"


def _narrowed(qs, params):
    """The list's filters but the site search, on lines or on their rollup ``LineTotals``
    (the same field names, the same ``LineQuerySet`` states)."""
    if _tab(params) == "history":
        qs = qs.answered().with_status(params.get("status"))
    else:
        qs = qs.pending()
    qs = _month_filter(qs, params)
    if city := parameters.record_id(params, "city"):
        qs = qs.filter(city_id=city)
    if params.get("kind") in Line.Kind.values:
        qs = qs.filter(kind=params["kind"])
    if params.get("operator") in OPERATORS:
        qs = qs.filter(operator__code=params["operator"])
    return qs


def filtered_lines(user, params):
    """The lines the list shows for these GET parameters (also used by the download and by
    "confirm all filtered", so the three always agree)."""
    # the history's status filter keeps the operators' lines itself (with_status): asked
    # twice, PostgreSQL counts its selectivity twice and plans a sort of the whole month
    lines = Line.objects.all() if _tab(params) == "history" else Line.objects.of_operators()
    qs = _narrowed(scoped(user, lines), params)
    if site := parameters.text(params, "site"):
        qs = qs.filter(site__site_code__icontains=site)
    return qs


def _rolled_up(user, params):
    """The ``LineTotals`` rows of the lines ``filtered_lines`` selects (scoped by the
    lines' city and operator, which the rollup carries), or None when a site is searched
    for (the rollup has no sites)."""
    if parameters.text(params, "site"):
        return None
    scope = scope_filter(user, "settlement.line")
    qs = LineQuerySet(model=LineTotals)
    return _narrowed(qs.none() if scope is None else qs.filter(scope).of_operators(), params)


def _totals(qs, rolled=None) -> dict:
    """Count and sums of the lines ``qs``, from their rollup rows ``rolled`` when given."""
    if rolled is not None:
        t = rolled.aggregate(n=Sum("lines"), cost=Sum("cost_share"), tax=Sum("tax_amount"),
                             receivable=Sum("receivable"))
        return {"n": t["n"] or 0, **{k: fen(t[k]) for k in ("cost", "tax", "receivable")}}
    t = qs.aggregate(n=Count("pk"), cost=Sum("cost_share"), tax=Sum("tax_amount"),
                     receivable=Sum("receivable"))
    return {k: v if v is not None else ZERO for k, v in t.items()}


class ByMonth:
    """The lines ``qs`` in the list's order (newest month first, then site code, then
    id), cut month by month: a page asks its one or two months for their lines in site
    order instead of sorting every line in scope. ``months``: [(month, lines)] newest
    first, the counts the pager adds up. ``by_id``: a page's ids first (a narrow query
    PostgreSQL answers walking the sites in code order), then their rows with what
    ``qs`` selects with them, instead of joining every site and tenancy to sort."""

    ordered = True   # for the Paginator: the order is the one above

    def __init__(self, qs, months, order=("site__site_code", "pk"), by_id=False):
        self.qs, self.months, self.order = qs, [(m, n) for m, n in months if n], order
        self.by_id = by_id

    def _part(self, month, lo, hi) -> list:
        part = self.qs.filter(month=month).order_by(*self.order)
        if not self.by_id:
            return list(part[lo:hi])
        ids = list(part.values_list("pk", flat=True)[lo:hi])
        rows = {row.pk: row for row in self.qs.filter(pk__in=ids)}
        return [rows[i] for i in ids]

    def count(self) -> int:
        return sum(n for _m, n in self.months)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, part):
        if not isinstance(part, slice):
            return self[part:part + 1][0]
        start, stop = part.start or 0, part.stop if part.stop is not None else self.count()
        out, offset = [], 0
        for m, n in self.months:
            lo, hi = max(start - offset, 0), min(stop - offset, n)
            if lo < hi:
                out += self._part(m, lo, hi)
            offset += n
            if offset >= stop:
                break
        return out


def _by_month(qs, rolled) -> ByMonth:
    counted = (rolled.values("month").annotate(n=Sum("lines")) if rolled is not None
               else qs.values("month").annotate(n=Count("pk")))
    return ByMonth(qs, counted.order_by("-month").values_list("month", "n"), by_id=True)


def _line_filters(request, tab):
    filters = [text_filter(request, "month", _("Month"), _("YYYY-MM")),
               choice_filter(request, "city", _("City"), _cities(request.user)),
               text_filter(request, "site", _("Site code")),
               choice_filter(request, "kind", _("Kind"), Line.Kind.choices)]
    if tab == "history":
        filters.append(choice_filter(request, "status", _("Status"),
                                     Line.history_choices()))
    if role_of(request.user) != Role.OPERATOR:
        filters.append(choice_filter(request, "operator", _("Operator"),
                                     [(c, code_label(c)) for c in OPERATORS]))
    return filters


@roles(*EVERYONE)
def lines(request):
    user, tab = request.user, _tab(request.GET)
    qs = filtered_lines(user, request.GET).select_related("bill", "site", "tenancy", "operator")
    rolled = _rolled_up(user, request.GET)   # totals and counts per month, not the lines
    totals = _totals(qs, rolled)
    page, query = paginate(request, _by_month(qs, rolled), count=totals.pop("n"))
    totals["n"] = page.paginator.count
    operator = role_of(user) == Role.OPERATOR
    rows = [{"id": ln.pk, "cells": [
        cell(f"L{ln.pk}", reverse("line", args=[ln.pk])), cell(f"{ln.month:%Y-%m}"),
        cell(ln.get_kind_display()), cell(ln.bill.bill_no if ln.bill_id else "—"),
        cell(ln.site.site_code, reverse("site", args=[ln.site.site_code])),
        cell(ln.tenancy.tenancy_id if ln.tenancy_id else "—"),
        *([] if operator else [cell(ln.operator.code if ln.operator_id else "")]),
        cell(f"{ln.period_start:%m-%d}～{ln.period_end:%m-%d}"),
        cell(ln.active_days, cls="num"), num(ln.cost_share), num(ln.tax_amount),
        num(ln.receivable), cell(ln.get_status_display(), badge=ln.status),
        cell(ln.confirm_due or "—")]} for ln in page]
    heads = [header(_("Line")), header(_("Month")), header(_("Kind")), header(_("Bill")),
             header(_("Site code")), header(_("Tenancy")),
             *([] if operator else [header(_("Operator"))]),
             header(_("Period")), header(_("Active days"), "num"),
             header(_("Cost share"), "num"), header(_("Tax factor amount"), "num"),
             header(_("Receivable"), "num"), header(_("Status")), header(_("Confirm by"))]
    can_confirm = role_of(user) == Role.OPERATOR and tab == "pending"
    plain = QueryDict(mutable=True)
    plain.update({k: v for k, v in request.GET.items() if k not in ("page", "tab") and v})
    tabs = [{"label": _("Pending confirmation"), "active": tab == "pending",
             "url": "?" + plain.urlencode()},
            {"label": _("Line history"), "active": tab == "history",
             "url": "?" + urlencode({"tab": "history", **{k: v for k, v in plain.items()
                                                           if k != "status"}})}]
    return render(request, "web/lines.html", {
        "title": _("Pending lines"), "page": page, "query": query, "rows": rows,
        "headers": heads, "selectable": can_confirm, "tabs": tabs, "tab": tab,
        "totals": totals, "filters": _line_filters(request, tab),
        "filter_query": request.GET.urlencode(), "total_span": 8 if operator else 9,
        "top_actions": [{"url": reverse("export_start", args=["lines"]) + "?"
                         + request.GET.urlencode(),
                         "label": _("Download XLSX")}]})


@require_POST
@roles(Role.OPERATOR)
def confirm(request):
    back = _back(request, reverse("lines"))
    if request.POST.get("scope") == "filtered":
        params = QueryDict(request.POST.get("filter", ""))
        ids = list(filtered_lines(request.user, params).values_list("pk", flat=True))
    else:
        ids = parameters.ids(request.POST, "ids")
    if not ids:
        messages.error(request, _("Select the lines to confirm."))
        return redirect(back)
    try:
        result = services.confirm_lines(ids, request.user)
    except services.SettlementError as exc:
        messages.error(request, _error(exc))
        return redirect(back)
    text = _("Confirmed %(confirmed)d; already confirmed %(already)d; not confirmable "
             "%(refused)d.") % {"confirmed": len(result.confirmed),
                                "already": len(result.already),
                                "refused": len(result.refused)}
    (messages.success if result.confirmed else messages.error)(request, text)
    return redirect(back)


EXPORT_HEADERS = ("line_id", "month", "kind", "status", "bill_no", "site_code", "tenancy_id",
                  "operator", "settlement_mode", "period_start", "period_end", "active_days",
                  "share", "cost_share", "tax_factor", "tax_amount", "receivable",
                  "push_date", "confirm_due", "adjusts")


@roles(*EVERYONE)
def lines_export(request):
    """The filtered list as XLSX (scoped; text cells formula-safe through write_xlsx). The
    page's button makes it in the background (web.exports); this answers at once."""
    name, headers, rows, _count = lines_table(request.user, request.GET)
    return download(name, headers, rows, sheet="lines")


def lines_table(user, params) -> tuple[str, list, object, object]:
    """The lines list ``params`` filter, as ``user`` may see it: file name, headers, rows
    (an iterator) and a function counting them (for a background job's progress)."""
    qs = filtered_lines(user, params).order_by("-month", "site__site_code", "pk")
    rows = ([f"L{r[0]}", r[1].strftime("%Y-%m"), *r[2:19], f"L{r[19]}" if r[19] else ""]
            for r in qs.values_list(
                "pk", "month", "kind", "status", "bill__bill_no", "site__site_code",
                "tenancy__tenancy_id", "operator__code", "mode", "period_start", "period_end",
                "active_days", "share", "cost_share", "tax_factor", "tax_amount", "receivable",
                "push_date", "confirm_due", "adjusts_id").iterator(chunk_size=2000))
    name = "lines-history.xlsx" if _tab(params) == "history" else "lines-pending.xlsx"
    return name, list(EXPORT_HEADERS), rows, qs.count


# ---- a line's page ------------------------------------------------------------------------

def _weights_table(line: Line, mine: bool) -> dict:
    """Per tenancy of the site: active days and its weight in each run of the bill period.
    An operator sees other operators' tenancies as anonymous co-tenants."""
    trace = line.trace or {}
    runs = [r for r in trace.get("runs", []) if isinstance(r, dict)]
    rows, other = [], 0
    for t in trace.get("tenancies", []):
        if not isinstance(t, list | tuple) or len(t) < 5:
            continue
        tid, op, days, first, last = t[:5]
        own = line.tenancy_id and line.tenancy and tid == line.tenancy.tenancy_id
        if mine and not own:
            other += 1
            label, operator = _("Co-tenant %(n)d") % {"n": other}, ""
        else:
            label, operator = tid, code_label(op)
        weights = []
        for r in runs:
            found = {w[0]: w[1] for w in r.get("weights", []) if len(w) == 2}
            weights.append(found.get(tid, "—"))
        rows.append({"tenancy": label, "operator": operator, "days": days,
                     "span": f"{first} ～ {last}", "weights": weights, "own": own})
    heads = [{"span": f"{r.get('from', '')} ～ {r.get('to', '')}", "days": r.get("days", ""),
              "method": code_label(r.get("method", "")),
              "tower_share": r.get("tower_share", "")} for r in runs]
    return {"rows": rows, "runs": heads}


def dispute_status(status: str) -> str:
    """A dispute's status in words (own context: "Rejected" means another thing on imports)."""
    return {"OPEN": pgettext("dispute", "Open"),
            "ESCALATED": pgettext("dispute", "Escalated to province"),
            "ACCEPTED": pgettext("dispute", "Accepted"),
            "PARTIAL": pgettext("dispute", "Partly accepted"),
            "REJECTED": pgettext("dispute", "Rejected")}.get(status, status)


def _labelled(disputes):
    out = list(disputes)
    for d in out:
        d.status_label = dispute_status(d.status)
    return out


@roles(*EVERYONE)
def line(request, pk):
    user, role = request.user, role_of(request.user)
    obj = get_object_or_404(scoped(user, Line.objects.select_related(
        "bill__account", "site__county__city", "tenancy", "operator", "confirmed_by")), pk=pk)
    chain = line_chain(obj)
    disputes = scoped(user, Dispute.objects.filter(line__in=chain)).select_related(
        "raised_by", "answered_by", "line__site", "line__tenancy", "adjustment").order_by(
        "raised_at", "pk")
    trace = obj.trace or {}
    text = trace.get("text_en" if get_language() == "en" else "text_zh") or trace.get(
        "text_zh", "")
    findings = []
    if role in STAFF and obj.bill_id:   # the bill's audit findings, BLOCK first, in words
        findings = [{"flag": f, "label": rule_label(f.code), "details": finding_details(f)}
                    for f in queue_order(obj.bill.flags.all())]
    return render(request, "web/line.html", {
        "bill_facts": bill_facts(obj), "findings": findings,
        "line": obj, "chain": chain, "disputes": _labelled(disputes), "explanation": text,
        "weights": _weights_table(obj, role == Role.OPERATOR),
        "is_operator": role == Role.OPERATOR, "bill_link": role in STAFF and obj.bill_id,
        "can_act": role == Role.OPERATOR and obj.is_pending,
        "reasons": Dispute.Reason.choices,
        "attachment_types": ", ".join(sorted({k.lstrip(".") for k in ATTACHMENT_TYPES})),
        "attachment_mb": settings.ATTACHMENT_MAX_BYTES // 2**20})


@require_POST
@roles(Role.OPERATOR)
def dispute(request, pk):
    obj = get_object_or_404(scoped(request.user, Line.objects.all()), pk=pk)
    upload = request.FILES.get("attachment")
    problem = check_attachment(upload) if upload is not None else None
    if problem:
        messages.error(request, problem)
        return redirect("line", obj.pk)
    try:
        services.dispute_line(obj.pk, request.user, request.POST.get("reason", ""),
                              request.POST.get("comment", "").strip(), upload)
    except services.SettlementError as exc:
        messages.error(request, _error(exc))
        return redirect("line", obj.pk)
    messages.success(request, _("Dispute raised; the line waits for the tower's answer."))
    return redirect("line", obj.pk)


# ---- dispute desk -------------------------------------------------------------------------

def desk_states():
    return [("open", _("Open and escalated")), ("OPEN", _("Open")),
            ("ESCALATED", _("Escalated to province")), ("overdue", _("Overdue")),
            ("answered", _("Answered")), ("all", _("All"))]


@roles(*CLERKS)
def disputes(request):
    user, g = request.user, request.GET
    qs = scoped(user, Dispute.objects.select_related(
        "line__site", "line__operator", "line__tenancy", "line__bill", "line__city",
        "raised_by", "answered_by", "adjustment"))
    state = g.get("state") or "open"
    if state == "open":
        qs = qs.filter(status__in=Dispute.OPEN_STATES)
    elif state in ("OPEN", "ESCALATED"):
        qs = qs.filter(status=state)
    elif state == "overdue":
        qs = qs.filter(status__in=Dispute.OPEN_STATES, overdue=True)
    elif state == "answered":
        qs = qs.exclude(status__in=Dispute.OPEN_STATES)
    city, site = parameters.record_id(g, "city"), parameters.text(g, "site")
    if city:
        qs = qs.filter(line__city_id=city)
    if site:
        qs = qs.filter(line__site__site_code__icontains=site)
    if g.get("reason") in Dispute.Reason.values:
        qs = qs.filter(reason=g["reason"])
    page, query = paginate(request, qs.order_by("-overdue", "due", "pk"), size=20)
    page.object_list = _labelled(page.object_list)
    counts = scoped(user, Dispute.objects.filter(status__in=Dispute.OPEN_STATES)).aggregate(
        open=Count("pk", filter=Q(status=Dispute.Status.OPEN)),
        escalated=Count("pk", filter=Q(status=Dispute.Status.ESCALATED)),
        overdue=Count("pk", filter=Q(overdue=True)))
    return render(request, "web/disputes.html", {
        "title": _("Dispute desk"), "page": page, "query": query, "counts": counts,
        "is_admin": role_of(user) == Role.PROVINCE_ADMIN,
        "filters": [choice_filter(request, "state", _("State"), desk_states()),
                    choice_filter(request, "city", _("City"), _cities(user)),
                    text_filter(request, "site", _("Site code")),
                    choice_filter(request, "reason", _("Reason"), Dispute.Reason.choices)],
        "state": state})


def _amount(text: str) -> Decimal | None:
    text = (text or "").replace(",", "").strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None


@require_POST
@roles(*CLERKS)
def answer(request, pk):
    obj = get_object_or_404(scoped(request.user, Dispute.objects.all()), pk=pk)
    back = _back(request, reverse("disputes"))
    outcome = request.POST.get("outcome", "")
    if outcome not in ("ACCEPT", "PARTIAL", "REJECT"):   # the desk preselects nothing
        messages.error(request, _("Choose the outcome: accept, partly accept or reject."))
        return redirect(back)
    try:
        amount = _amount(request.POST.get("new_amount", "")) if outcome == "PARTIAL" else None
    except ValueError:
        messages.error(request, _("The new amount is not a number."))
        return redirect(back)
    try:
        adj = services.answer_dispute(obj.pk, request.user, outcome,
                                      request.POST.get("explanation", ""), new_amount=amount)
    except services.SettlementError as exc:
        messages.error(request, _error(exc))
        return redirect(back)
    messages.success(request, _("Dispute D%(d)d answered: adjustment line L%(line)d asks "
                                "%(amount)s yuan.") % {"d": obj.pk, "line": adj.pk,
                                                       "amount": f"{adj.receivable:,.2f}"})
    return redirect(back)


@roles(*EVERYONE)
def attachment(request, pk):
    """A dispute's attachment, only for users who may see the dispute."""
    obj = get_object_or_404(scoped(request.user, Dispute.objects.all()), pk=pk)
    if not obj.attachment:
        raise Http404
    try:
        handle = obj.attachment.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(handle, as_attachment=True, filename=Path(obj.attachment.name).name)


# ---- site ledger --------------------------------------------------------------------------

def ledger_lines(user, params):
    """The lines the ledger sums, by definition (the rollups it reads equal their sums:
    tests/web/test_pages_fast.py)."""
    qs = scoped(user, Line.objects.all())
    qs = _month_filter(qs, params)
    city, site = parameters.record_id(params, "city"), parameters.text(params, "site")
    if city:
        qs = qs.filter(city_id=city)
    if site:
        qs = qs.filter(site__site_code__icontains=site)
    return qs


def ledger_sums(operators):
    """The ledger's columns as aggregates over lines (the definition; the page reads the
    same sums from analysis.rollups).

    paid: the site's part of its paid bills (the allocation lines' cost shares, tower-borne
    included, which the allocation makes sum to the bill exactly); allocated per operator and
    tower-borne: the cost shares of the original allocation; confirmed / disputed /
    outstanding: receivables of the lines as they stand (superseded lines excluded, their
    adjustment lines counted instead)."""
    alloc = Q(kind=Line.Kind.ALLOCATION)
    sums = {"paid": Sum("cost_share", filter=alloc),
            "tower": Sum("cost_share", filter=alloc & line_state("tower"))}
    for code in operators:
        sums[f"op_{code}"] = Sum("cost_share", filter=alloc & Q(operator__code=code))
    sums.update({
        "confirmed": Sum("receivable", filter=line_state("confirmed")),
        "disputed": Sum("receivable", filter=line_state("disputed")),
        "unconfirmed": Sum("receivable", filter=line_state("unanswered")),
        "paid_off": Sum("written_off", filter=line_state("current")),
        "owed": Sum(F("receivable") - F("written_off"), filter=line_state("current")),
    })
    return sums


# the ledger's columns from the rollups' figures (analysis.models.LedgerFigures)
ROLLUP_COLUMNS = {"paid": "alloc", "tower": "tower", "confirmed": "confirmed",
                  "disputed": "disputed", "unconfirmed": "unconfirmed",
                  "paid_off": "paid_off"}


def ledger_rollups(user, params):
    """(site rows, their operators' parts, totals rows, their operators' parts, sites per
    month): the rollups of the lines ``ledger_lines`` selects — the sums of every line or
    (for an operator user) of their own, per site and month, and the same per month and
    city for the totals (per site when a site is searched for), with each operator's part;
    and how many ledger rows each month has, newest first ([(month, sites)]; None when a
    site is searched for: the rows are few, counted as they are grouped).
    Scoped like the lines: the rollups carry the lines' city and operator."""
    scope = scope_filter(user, "settlement.line")
    staff = role_of(user) in STAFF
    city, site = parameters.record_id(params, "city"), parameters.text(params, "site")

    def narrow(qs):
        if scope is None:
            return qs.none()
        qs = _month_filter(qs.filter(scope, **{("sites" if qs.model is LedgerSites
                                                 else "lines") + "__gt": 0}), params)
        if city:
            qs = qs.filter(city_id=city)
        if site and qs.model is LedgerFigures:
            qs = qs.filter(site_code__icontains=site)
        return qs

    # staff read the all-operators rows, an operator user its own (op_key: the index's)
    profile = profile_of(user)
    own = getattr(profile, "operator_id", None)
    mine = Q(op_key=LedgerFigures.ALL) if staff else Q(op_key=own or 0, op_key__gt=0)
    whole = LedgerFigures if site else LedgerTotals
    counts = None
    if not site:
        # one city's sites, or the sites of every city (a site with lines in two cities
        # in a month is one row of the ledger)
        in_city = city or (role_of(user) in (Role.CITY_CLERK, Role.OPERATOR)
                           and getattr(profile, "city_id", None))
        counts = narrow(LedgerSites.objects.filter(mine, **(
            {} if in_city else {"city__isnull": True}))).values("month").annotate(
            n=Sum("sites")).order_by("-month").values_list("month", "n")
    return (narrow(LedgerFigures.objects.filter(mine)),
            narrow(LedgerFigures.objects.filter(op_key__gt=0)),
            narrow(whole.objects.filter(mine)), narrow(whole.objects.filter(op_key__gt=0)),
            counts)


def _ledger_values(r, operators, op_parts) -> dict:
    """A ledger row's (or the totals') columns from the rollups' sums, to the fen (SQLite
    adds decimals as floats)."""
    out = {k: fen(r[f]) for k, f in ROLLUP_COLUMNS.items()}
    out["owed"] = fen(r["current_rec"]) - fen(r["paid_off"])
    for code in operators:
        out[f"op_{code}"] = fen(op_parts.get(code))
    return out


@roles(*EVERYONE)
def ledger(request):
    user = request.user
    staff = role_of(user) in STAFF
    sites, site_parts, totals_qs, parts, counts = ledger_rollups(user, request.GET)
    operators = set(parts.values_list("operator__code", flat=True).distinct())
    operators = [c for c in OPERATORS if c in operators]
    keys = list(ledger_sums(operators))
    if not staff:   # an operator sees its own receivables, never the bills or the tower's part
        keys = [k for k in keys if k not in ("paid", "tower")]
    figures = {f: Sum(f) for f in ("alloc", "tower", "confirmed", "disputed", "unconfirmed",
                                   "current_rec", "paid_off")}
    # grouped by code first: a month's rows come in code order from the page index
    grouped = sites.values("site_code", "site_id", "month").annotate(**figures)
    if counts is None:
        page, query = paginate(request, grouped.order_by("-month", "site_code"))
    else:   # counted per month from the rollup, each page asking only its months' rows
        page, query = paginate(request, ByMonth(grouped, counts, order=("site_code",)))
    page.object_list = list(page.object_list)
    ids = {r["site_id"] for r in page.object_list}
    names = dict(Site.objects.filter(pk__in=ids).values_list("pk", "site_name"))
    split = {}
    for site_id, month, code, alloc in site_parts.filter(
            site_id__in=ids, month__in={r["month"] for r in page.object_list}).values(
            "site_id", "month", "operator__code").annotate(a=Sum("alloc")).values_list(
            "site_id", "month", "operator__code", "a"):
        split.setdefault((site_id, month), {})[code] = alloc
    rows = []
    for r in page.object_list:
        values = _ledger_values(r, operators, split.get((r["site_id"], r["month"]), {}))
        rows.append({"cells": [
            cell(r["site_code"], reverse("site", args=[r["site_code"]])),
            cell(names.get(r["site_id"], "")), cell(f"{r['month']:%Y-%m}"),
            *[num(values[k] or ZERO) for k in keys]]})
    total = totals_qs.aggregate(**figures)
    total = {k: v if v is not None else ZERO for k, v in total.items()}
    by_operator = dict(parts.values("operator__code").annotate(a=Sum("alloc"))
                       .values_list("operator__code", "a"))
    total = _ledger_values(total, operators, by_operator)
    labels = {"paid": _("Paid amount"), "tower": _("Tower-borne"), "confirmed": _("Confirmed"),
              "disputed": _("Disputed"), "unconfirmed": _("Pending confirmation"),
              "paid_off": _("Written off"), "owed": _("Outstanding")}
    for code in operators:
        labels[f"op_{code}"] = _("Allocated %(operator)s") % {"operator": code_label(code)}
    heads = [header(_("Site code")), header(_("Name")), header(_("Month")),
             *[header(labels[k], "num") for k in keys]]
    return render(request, "web/ledger.html", {
        "title": _("Site ledger"), "page": page, "query": query, "rows": rows,
        "headers": heads, "totals": [total[k] or ZERO for k in keys], "staff": staff,
        "filters": [text_filter(request, "month", _("Month"), _("YYYY-MM")),
                    choice_filter(request, "city", _("City"), _cities(user)),
                    text_filter(request, "site", _("Site code"))]})
