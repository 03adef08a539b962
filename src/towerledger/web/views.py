"""Pages of master data and the home page (the audit log: web.audit_log). Every query
goes through ``scoped``; a record outside the user's scope answers 404 like one that does not exist."""

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from towerledger.access.models import Role
from towerledger.access.scope import role_of, scoped
from towerledger.exchange.models import ImportJob
from towerledger.org.models import City
from towerledger.sites.models import AccountSite, Site, SupplyAccount, Tenancy
from towerledger.web import labels, params
from towerledger.web.context import CLERKS, STAFF
from towerledger.web.tables import (
    cell,
    choice_filter,
    header,
    num,
    paginate,
    roles,
    text_filter,
)

OPERATOR_CODES = ("CMCC", "CUCC", "CTCC", "CBN", "OTHER")


def code_label(code) -> str:
    return labels.code_label(code)


@login_required
def home(request):
    """The user's to-do list (web.todo) above an overview of what their scope holds."""
    from towerledger.web import todo
    from towerledger.web.monthly import latest_closed_label

    user, role = request.user, role_of(request.user)
    tiles = [
        {"label": _("Dashboard"), "value": latest_closed_label(),
         "url": reverse("dashboard"), "tone": "lead"},
        {"label": _("Sites"), "value": scoped(user, Site.objects.all()).count(),
         "url": reverse("sites")},
        {"label": _("Tenancies"), "value": scoped(user, Tenancy.objects.all()).count(),
         "url": reverse("tenancies")},
    ]
    if role in STAFF:
        tiles += [
            {"label": _("Supply accounts"), "value": scoped(
                user, SupplyAccount.objects.all()).count(), "url": reverse("accounts")},
            {"label": _("Open audit flags"), "value": todo.open_findings(user), "tone": "warn",
             "url": reverse("flags") + "?status=OPEN"},
        ]
    recent = ImportJob.objects.filter(user=user)[:8] if role in CLERKS else []
    return render(request, "web/home.html", {
        "tasks": todo.tasks_for(user), "tiles": tiles, "recent_imports": recent,
        "is_viewer": role == Role.VIEWER})


def _cities(user):
    qs = City.objects.order_by("name")
    if role_of(user) == Role.CITY_CLERK or getattr(getattr(user, "profile", None), "city_id",
                                                    None):
        qs = qs.filter(pk=user.profile.city_id)
    return qs.values_list("pk", "name")


@login_required
def sites(request):
    qs = scoped(request.user, Site.objects.select_related("county__city")).order_by("site_code")
    q, city = params.text(request.GET, "q"), params.record_id(request.GET, "city")
    status = params.choice(request.GET, "status", ("ACTIVE", "DECOMMISSIONED", "ARCHIVED"))
    if q:
        qs = qs.filter(Q(site_code__icontains=q) | Q(site_name__icontains=q))
    if city:
        qs = qs.filter(county__city_id=city)
    if status:
        qs = qs.filter(status=status)
    page, query = paginate(request, qs)
    rows = [{"cells": [cell(s.site_code, reverse("site", args=[s.site_code])), cell(s.site_name),
                       cell(s.county.city.name), cell(s.county.name), cell(code_label(s.site_type)),
                       cell(code_label(s.status), badge="" if s.status == "ACTIVE" else "WARN")]}
            for s in page]
    return render(request, "web/list.html", {
        "title": _("Sites"), "page": page, "query": query, "rows": rows,
        "headers": [header(h) for h in (_("Site code"), _("Name"), _("City"), _("County"),
                                        _("Type"), _("Status"))],
        "filters": [text_filter(request, "q", _("Code or name")),
                    choice_filter(request, "city", _("City"), _cities(request.user)),
                    choice_filter(request, "status", _("Status"),
                                  [("ACTIVE", code_label("ACTIVE")),
                                   ("DECOMMISSIONED", code_label("DECOMMISSIONED")),
                                   ("ARCHIVED", code_label("ARCHIVED"))])],
        "top_actions": _exports(request, "sites")})


def _exports(request, kind):
    return [{"url": reverse("export", args=[kind]) + "?format=xlsx", "label": _("Export XLSX")}]


@login_required
def site(request, code):
    user = request.user
    obj = get_object_or_404(scoped(user, Site.objects.select_related("county__city", "host_site")),
                            site_code=code)
    tenancies = scoped(user, Tenancy.objects.filter(site=obj).select_related("operator"))
    if obj.host_site_id and not scoped(user, Site.objects.filter(pk=obj.host_site_id)).exists():
        # a host outside the user's scope (an operator with no tenancy on it) stays unnamed
        # on this page, as in the exports; the object is only displayed, never saved
        obj.host_site = None
    splits = []
    if role_of(user) in STAFF:
        splits = AccountSite.objects.filter(site=obj).select_related("account")
    return render(request, "web/site.html", {
        "site": obj, "tenancies": tenancies.order_by("start_date"), "splits": splits,
        "rules": obj.rules.order_by("effective_from"),
        "hosted": scoped(user, obj.hosted_sites.all())})


@login_required
def tenancies(request):
    qs = scoped(request.user, Tenancy.objects.select_related("site__county__city", "operator"))
    q = params.text(request.GET, "q")
    operator = params.choice(request.GET, "operator", OPERATOR_CODES)
    mode = params.choice(request.GET, "mode", ("RESALE", "ON_BEHALF", "LUMP_SUM"))
    if q:
        qs = qs.filter(Q(tenancy_id__icontains=q) | Q(site__site_code__icontains=q))
    if operator:
        qs = qs.filter(operator__code=operator)
    if mode:
        qs = qs.filter(settlement_mode=mode)
    page, query = paginate(request, qs.order_by("tenancy_id"))
    rows = [{"cells": [cell(t.tenancy_id), cell(t.site.site_code, reverse("site", args=[
        t.site.site_code])), cell(t.site.county.city.name), cell(code_label(t.operator.code)),
        cell(t.start_date), cell(t.end_date or "—"), cell(code_label(t.settlement_mode)),
        num(t.rated_power_w, 0), num(t.dc_current_a), num(t.agreed_ratio)]} for t in page]
    return render(request, "web/list.html", {
        "title": _("Tenancies"), "page": page, "query": query, "rows": rows,
        "headers": [header(_("Tenancy")), header(_("Site code")), header(_("City")),
                    header(_("Operator")), header(_("Start")), header(_("End")),
                    header(_("Settlement")), header(_("Rated power (W)"), "num"),
                    header(_("DC current (A)"), "num"), header(_("Agreed ratio %"), "num")],
        "filters": [text_filter(request, "q", _("Tenancy or site")),
                    choice_filter(request, "operator", _("Operator"),
                                  [(c, code_label(c)) for c in OPERATOR_CODES]),
                    choice_filter(request, "mode", _("Settlement"),
                                  [(c, code_label(c)) for c in
                                   ("RESALE", "ON_BEHALF", "LUMP_SUM")])],
        "top_actions": _exports(request, "tenancies")})


@roles(*STAFF)
def accounts(request):
    qs = scoped(request.user, SupplyAccount.objects.all()).order_by("account_no")
    q = params.text(request.GET, "q")
    mode = params.choice(request.GET, "mode", ("DIRECT", "RESUPPLY"))
    if q:
        qs = qs.filter(Q(account_no__icontains=q) | Q(supplier_name__icontains=q))
    if mode:
        qs = qs.filter(supply_mode=mode)
    page, query = paginate(request, qs)
    rows = [{"cells": [cell(a.account_no, reverse("bills") + f"?account={a.account_no}"),
                       cell(code_label(a.supply_mode)), cell(a.supplier_name),
                       cell(code_label(a.input_invoice_type)), num(a.contract_price, 4),
                       num(a.price_cap, 4), cell(a.payment_cycle_months, cls="num"),
                       cell(_("yes") if a.lump_sum else "")]} for a in page]
    return render(request, "web/list.html", {
        "title": _("Supply accounts"), "page": page, "query": query, "rows": rows,
        "headers": [header(_("Account")), header(_("Supply")), header(_("Supplier")),
                    header(_("Invoice")), header(_("Contract price"), "num"),
                    header(_("Price cap"), "num"), header(_("Cycle (months)"), "num"),
                    header(_("Lump sum"))],
        "filters": [text_filter(request, "q", _("Account or supplier")),
                    choice_filter(request, "mode", _("Supply"),
                                  [("DIRECT", code_label("DIRECT")),
                                   ("RESUPPLY", code_label("RESUPPLY"))])],
        "top_actions": _exports(request, "accounts")})
