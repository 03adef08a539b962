"""The tax-factor table page (税负因子表): every row with its history, filters, and for a
province admin the form that adds a dated row and the button that withdraws a row not yet
in force. Rows in force are never edited: a change is a new row with its own date."""

from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from towerledger.domain.codes import InvoiceType, OperatorCode, SupplyMode
from towerledger.domain.errors import DomainError
from towerledger.org.models import Operator, Province
from towerledger.sites.models import SupplyAccount
from towerledger.sites.tax_factors import (
    add_rate,
    load_table,
    may_write,
    visible,
    withdraw_rate,
)
from towerledger.web import params
from towerledger.web.labels import code_label

OPERATORS = tuple(m.value for m in OperatorCode)
INVOICES = tuple(m.value for m in InvoiceType)
MODES = tuple(m.value for m in SupplyMode)
ANY = "*"   # a filter value: the rows for "any" (no operator, no invoice type …)


def RULE_TEXT() -> str:  # noqa: N802 - a text, translated when the page renders
    return _("The factor of a RESALE line comes from the most specific row in force on the "
             "bill's period end: an account override, then an operator override (this "
             "province's before all provinces'), then the province's row, then the row for "
             "all provinces, then the formula (1+13%)/(1+r_in)−1. Within each, a row naming "
             "the invoice type wins, then one naming the supply type. One factor per bill: a "
             "bill whose period spans a change takes the row in force on its period end. Rows "
             "in force are never edited: a change is a new row with its own date.")


def _label(code) -> str:
    return code_label(code) if code else "—"


def _filtered(request):
    g = request.GET
    qs = visible(request.user).select_related("province", "operator", "account", "recorded_by")
    province = params.record_id(g, "province")
    operator = params.choice(g, "operator", (*OPERATORS, ANY))
    invoice = params.choice(g, "invoice_type", (*INVOICES, ANY))
    mode = params.choice(g, "supply_mode", (*MODES, ANY))
    account = params.text(g, "account")
    if province:
        qs = qs.filter(province_id=province)
    if operator:
        qs = qs.filter(operator__isnull=True) if operator == ANY else qs.filter(
            operator__code=operator)
    if invoice:
        qs = qs.filter(invoice_type="" if invoice == ANY else invoice)
    if mode:
        qs = qs.filter(supply_mode="" if mode == ANY else mode)
    if account:
        qs = qs.filter(account__account_no__icontains=account)
    # one key's history reads top to bottom: same key together, oldest first
    return qs.order_by("province__name", "operator__code", "account__account_no", "invoice_type",
                       "supply_mode", "effective_from", "id")


def _state(rate, table, today) -> tuple[str, str]:
    """(label, badge) of a row today: in force, superseded, scheduled, or an end."""
    if rate.effective_from > today:
        return _("Scheduled"), "WARN"
    if rate.factor is None:
        return _("Override ended"), ""
    key = (rate.account_id, rate.operator.code if rate.operator_id else None,
           None if rate.account_id else rate.province_id, rate.supply_mode, rate.invoice_type)
    current = table.in_force(key, today)
    if current is not None and current.id == rate.pk:
        return _("In force"), "CONFIRMED"
    return _("Superseded"), "SUPERSEDED"


@login_required
def tax_factors(request):
    page = Paginator(_filtered(request), 100).get_page(request.GET.get("page"))
    today = timezone.localdate()
    table = load_table(visible(request.user))
    rows = []
    for rate in page:
        label, badge = _state(rate, table, today)
        rows.append({"rate": rate, "state": label, "badge": badge,
                     "pct": None if rate.factor is None else rate.factor * 100,
                     "withdrawable": rate.effective_from > today})
    g = request.GET
    return render(request, "web/tax_factors.html", {
        "page": page, "rows": rows, "can_write": may_write(request.user),
        "query": urlencode([(k, v) for k, v in g.items() if k != "page" and v]),
        "provinces": Province.objects.order_by("name").values_list("pk", "name"),
        "operators": [(c, _label(c)) for c in OPERATORS],
        "invoices": [(c, _label(c)) for c in INVOICES],
        "modes": [(c, _label(c)) for c in MODES],
        "f": {k: g.get(k, "") for k in ("province", "operator", "invoice_type", "supply_mode",
                                         "account")},
        "any": ANY, "today": today,
        "show_accounts": _sees_accounts(request.user), "rule_text": RULE_TEXT(),
    })


def _sees_accounts(user) -> bool:
    from towerledger.access.models import Role
    from towerledger.access.scope import role_of

    return role_of(user) != Role.OPERATOR


def _message(exc: DomainError) -> str:
    return exc.message(get_language())


def _form_rate(post):
    """The form's fields as ``add_rate`` takes them; a bad value is a DomainError."""
    def pick(model, field, value):
        if not value:
            return None
        found = model.objects.filter(**{field: value}).first()
        if found is None:
            raise DomainError(f"{value} 不存在", f"no such {field.split('_')[0]} {value}")
        return found

    try:
        day = params.parse_day(post.get("effective_from", ""), "effective_from")
    except params.BadParameter as exc:
        raise DomainError(exc.zh, exc.en) from None
    ends = post.get("ends") == "1"
    pct = (post.get("factor_pct") or "").strip().rstrip("%％")
    factor = None
    if not ends:
        try:
            factor = (Decimal(pct) / 100).quantize(Decimal("0.0001"))
        except (InvalidOperation, ValueError):
            raise DomainError("税负因子应为 0–100 之间的百分数",
                              "the tax factor is a percentage from 0 to 100") from None
        if not factor.is_finite() or Decimal(pct) != (factor * 100):
            raise DomainError("税负因子最多两位小数（百分数）",
                              "the tax factor takes at most 2 decimals (percent)")
    return dict(
        effective_from=day, factor=factor,
        province=pick(Province, "pk", params.record_id(post, "province")),
        operator=pick(Operator, "code", params.choice(post, "operator", OPERATORS)),
        account=pick(SupplyAccount, "account_no", params.text(post, "account_no")),
        supply_mode=params.choice(post, "supply_mode", MODES),
        invoice_type=params.choice(post, "invoice_type", INVOICES),
        note=params.text(post, "note"), reason=params.text(post, "reason", 500))


@require_POST
@login_required
def tax_factor_add(request):
    if not may_write(request.user):
        raise Http404
    try:
        rate = add_rate(request.user, **_form_rate(request.POST))
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("Row %(id)s added, in force from %(day)s.")
                         % {"id": rate.pk, "day": rate.effective_from})
    return redirect("tax_factors")


@require_POST
@login_required
def tax_factor_withdraw(request, pk):
    if not may_write(request.user):
        raise Http404
    try:
        withdraw_rate(request.user, pk, reason=params.text(request.POST, "reason", 500))
    except DomainError as exc:
        if exc.code == "not_found":
            raise Http404 from None
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("Row %(id)s withdrawn.") % {"id": pk})
    return redirect("tax_factors")
