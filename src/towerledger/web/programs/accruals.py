"""暂估 Accruals and 总账凭证 the general-ledger export: the month's accruals with their
inputs and city totals (XLSX download), the province's reversal rule, the GL export (CSV /
XLSX) and its mapping to the company's chart (edited by the province admin)."""

from datetime import date

from django.contrib import messages
from django.db.models import Count, Sum
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from towerledger.access.models import Role
from towerledger.access.scope import can_admin, scoped
from towerledger.domain.errors import DomainError
from towerledger.domain.journal import CHART
from towerledger.domain.months import next_month
from towerledger.exchange.export import download
from towerledger.org.models import Province
from towerledger.programs.accruals import gl
from towerledger.programs.accruals.models import (
    Accrual,
    AccrualPart,
    AccrualSetting,
    GlMapping,
    ReverseOn,
)
from towerledger.programs.accruals.services import set_reverse_on
from towerledger.web import params
from towerledger.web.context import STAFF
from towerledger.web.tables import paginate, roles

PROVINCE = (Role.PROVINCE_ADMIN, Role.VIEWER)
XLSX_HEADERS = ["月份 month", "电表户号 account_no", "站址 sites", "地市 cities",
                "未覆盖天数 days_uncovered", "首个未覆盖日 first_uncovered",
                "基期起 basis_from", "基期止 basis_to", "基期天数 basis_days",
                "日均用量 use_per_day", "按金额 by_money", "单价 unit_price",
                "暂估金额 amount", "冲回方式 reverse_on", "入账日 posted_on",
                "冲回日 reversed_on"]


def _message(exc: DomainError) -> str:
    return exc.message(get_language())


def _month(request) -> date:
    chosen = params.month(request.GET)
    if chosen:
        return chosen
    latest = Accrual.objects.order_by("-month").values_list("month", flat=True).first()
    return latest or (timezone.localdate().replace(day=1) - date.resolution).replace(day=1)


def _clerk_city(user) -> int | None:
    """A city clerk's city: the site parts of other cities are not shown to them."""
    from towerledger.access.scope import profile_of, role_of

    return profile_of(user).city_id if role_of(user) == Role.CITY_CLERK else None


def _rows(accruals, city: int | None = None):
    for a in accruals:
        parts = sorted((p for p in a.parts.all() if city is None or p.site.county.city_id == city),
                       key=lambda p: p.site.site_code)
        a.site_list = [(p.site.site_code, p.amount) for p in parts]
        a.city_list = sorted({p.site.county.city.name for p in parts})
        yield a


def _accruals(request, month):
    return scoped(request.user, Accrual.objects.filter(month=month)) \
        .select_related("account").prefetch_related("parts__site__county__city") \
        .order_by("account__account_no")


@roles(*STAFF)
def accruals(request):
    month = _month(request)
    qs = _accruals(request, month)
    if request.GET.get("format") == "xlsx":
        rows = ([f"{a.month:%Y-%m}", a.account.account_no,
                 " ".join(f"{c}:{v}" for c, v in a.site_list), " ".join(a.city_list),
                 a.days_uncovered, a.first_uncovered, a.basis_from, a.basis_to, a.basis_days,
                 a.use_per_day, a.by_money, a.unit_price, a.amount, a.reverse_on,
                 a.posted_on, a.reversed_on]
                for a in _rows(qs.iterator(chunk_size=2000), _clerk_city(request.user)))
        return download(f"accruals-{month:%Y-%m}.xlsx", XLSX_HEADERS, rows, sheet="accruals")
    page, query = paginate(request, qs)
    parts = scoped(request.user, AccrualPart.objects.filter(accrual__month=month))
    by_city = parts.values("site__county__city__name").annotate(
        amount=Sum("amount"), accounts=Count("accrual", distinct=True)) \
        .order_by("site__county__city__name")
    total = sum((c["amount"] for c in by_city), 0)
    province = Province.objects.order_by("pk").first()
    setting = AccrualSetting.objects.filter(province=province).first() if province else None
    return render(request, "web/programs/accruals/list.html", {
        "month": month, "page": page, "rows": list(_rows(page, _clerk_city(request.user))),
        "query": query,
        "by_city": by_city, "total": total, "count": qs.count(),
        "reverse_on": setting.reverse_on if setting else ReverseOn.NEXT_MONTH,
        "choices": ReverseOn.choices, "can_admin": can_admin(request.user),
        "next_first": next_month(month), "province": province,
    })


@roles(Role.PROVINCE_ADMIN)
@require_POST
def setting(request):
    province = Province.objects.order_by("pk").first()
    try:
        set_reverse_on(province, params.choice(request.POST, "reverse_on", ReverseOn.values),
                       request.user, params.text(request.POST, "reason", 200))
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "已保存 / saved")
    return redirect("accruals")


@roles(*PROVINCE)
def gl_export(request):
    month = params.month(request.GET) or _month(request)
    fmt = params.choice(request.GET, "format", ("csv", "xlsx"))
    error = None
    if fmt:
        try:
            vouchers = gl.vouchers(month)
        except DomainError as exc:
            error = _message(exc)
        else:
            headers, rows = gl.table(vouchers)
            return download(f"gl-{month:%Y-%m}.{fmt}", headers, rows, sheet=f"GL {month:%Y-%m}")
    totals = gl.journal_totals(month)
    return render(request, "web/programs/accruals/gl.html", {
        "month": month, "error": error, "can_admin": can_admin(request.user),
        "totals": [(a, *totals[a]) for a in CHART if a in totals],
        "debit": sum((d for d, _ in totals.values()), 0),
        "credit": sum((c for _, c in totals.values()), 0),
    })


@roles(*PROVINCE)
def gl_mapping(request):
    gl.ensure_defaults()
    if request.method == "POST":
        if not can_admin(request.user):
            return redirect("gl_mapping")
        reason = params.text(request.POST, "reason", 200)
        changed = 0
        try:
            have = {m.account: m for m in GlMapping.objects.all()}
            for account in CHART:     # a chart account without a row yet can be mapped here
                if f"code_{account}" not in request.POST:
                    continue              # not on the form that was sent: left as it is
                m = have.get(account)
                code = params.text(request.POST, f"code_{account}", 40)
                name = params.text(request.POST, f"name_{account}", 80)
                dims = tuple(d for d in ("city", "site", "operator")
                             if request.POST.get(f"{d}_{account}"))
                before = (m.subject_code, m.subject_name, m.dims) if m else ("", "", ())
                if (code, name, dims) != before:
                    gl.update_mapping(account, code, name, dims, request.user, reason)
                    changed += 1
        except DomainError as exc:
            messages.error(request, _message(exc))
        except params.BadParameter as exc:
            messages.error(request, exc.zh if get_language().startswith("zh") else exc.en)
        else:
            messages.success(request, f"已保存 {changed} 项 / {changed} saved")
        return redirect("gl_mapping")
    rows = {m.account: m for m in GlMapping.objects.all()}
    return render(request, "web/programs/accruals/mapping.html", {
        "rows": [(a, rows.get(a)) for a in CHART], "can_admin": can_admin(request.user),
        "missing": [a for a in CHART if a not in rows or not rows[a].subject_code.strip()],
    })


urlpatterns = [
    path("programs/accruals/", accruals, name="accruals"),
    path("programs/accruals/setting/", setting, name="accruals_setting"),
    path("programs/accruals/gl/", gl_export, name="gl_export"),
    path("programs/accruals/gl/mapping/", gl_mapping, name="gl_mapping"),
]
HUB = [
    ("accruals", "暂估", "Accruals", STAFF),
    ("gl_export", "总账凭证导出", "General-ledger export", PROVINCE),
    ("gl_mapping", "总账科目映射", "General-ledger mapping", PROVINCE),
]
