"""转改直 pages: the candidates ranked (filter by city, XLSX), the projects and one project's
steps, attachments and payback, the cities' league table, and the settings (direct
catalogue price per province, default cost per site type)."""

from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from towerledger.access.models import Role
from towerledger.access.scope import can_admin, can_change, role_of, scoped
from towerledger.domain import conversion as rules
from towerledger.domain.codes import SiteType
from towerledger.domain.errors import DomainError
from towerledger.exchange.export import download
from towerledger.org.models import City, Province
from towerledger.programs.conversion import report, services
from towerledger.programs.conversion.models import (
    Attachment,
    CostDefault,
    DirectPrice,
    Project,
)
from towerledger.sites import terms as supply_terms
from towerledger.sites.models import SupplyAccount
from towerledger.web import params
from towerledger.web.context import CLERKS, EVERYONE, STAFF
from towerledger.web.tables import paginate, roles
from towerledger.web.uploads import check_attachment

STEP_LABELS = {"approve": "批准 Approve", "build": "施工完成 Built", "complete": "完成转直 Done",
               "fail": "未成功 Failed"}

XLSX_HEADERS = ["排名 rank", "电表户号 account_no", "地市 city", "站址 site_code",
                "站址类型 site_type", "供电方 supplier_name", "年用电量 yearly_kwh",
                "当前单价 current_price", "直供电价 direct_price", "改造费用 cost",
                "费用来源 cost_source", "排名指标 figure", "项目 project", "项目状态 status"]


def _error(request, exc: DomainError):
    messages.error(request, exc.message(get_language()))


def _cities(user):
    qs = City.objects.order_by("name")
    if role_of(user) == Role.CITY_CLERK:
        qs = qs.filter(pk=user.profile.city_id)
    return qs


@roles(*STAFF)
def candidates(request):
    """The stored ranking (the last month close's, or recomputed), page by page; a first
    visit with none stored ranks as of today and stores it."""
    city = params.record_id(request.GET, "city")
    ranking = report.current_ranking()
    qs = report.ranked(request.user, ranking, city)
    if request.GET.get("format") == "xlsx":
        return download("conversion-candidates.xlsx", XLSX_HEADERS, _xlsx_rows(qs),
                        sheet="candidates")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    projects = report.live_projects(r.account_id for r in page)
    for i, r in enumerate(page, start=page.start_index()):
        r.rank = i
        r.project, r.project_status = projects.get(r.account_id, ("", ""))
    query = urlencode([(k, v) for k, v in request.GET.items() if k != "page" and v])
    return render(request, "web/programs/conversion/candidates.html", {
        "page": page, "query": query, "count": page.paginator.count, "city": city,
        "ranking": ranking, "cities": _cities(request.user),
        "can_change": can_change(request.user), "can_admin": can_admin(request.user),
        "today": timezone.localdate()})


def _xlsx_rows(qs):
    count = qs.count()
    for offset in range(0, count, 5000):
        for r in report.ranked_part(qs, offset, 5000):
            yield [r["rank"], r["account_no"], r["city"], r["site_code"], r["site_type"],
                   r["supplier_name"], r["yearly_kwh"], r["current_price"], r["direct_price"],
                   r["cost"], r["cost_source"], r["figure"], r["project"], r["project_status"]]


@require_POST
@roles(Role.PROVINCE_ADMIN)
def rank(request):
    """Rank the candidates again as of today (after a change of the catalogue price or the
    default costs; the month close does it each month)."""
    ranking = report.store_ranking(timezone.localdate())
    messages.success(request, f"已重新排名 {ranking.accounts} 个户号 / ranked again")
    return redirect("conversion")


@require_POST
@roles(*CLERKS)
def submit(request):
    try:
        account = get_object_or_404(scoped(request.user, SupplyAccount.objects.all()),
                                    account_no=params.text(request.POST, "account_no", 40))
        p = services.submit(request.user, account,
                            reason=params.text(request.POST, "reason", 400),
                            submitted_on=params.day(request.POST, "submitted_on"),
                            estimated_cost=params.posted_decimal(request.POST, "estimated_cost"))
    except DomainError as exc:
        _error(request, exc)
        return redirect("conversion")
    messages.success(request, f"已提交 {p.code} / submitted")
    return redirect("conversion_project", p.pk)


@require_POST
@roles(*CLERKS)
def estimate(request):
    try:
        account = get_object_or_404(scoped(request.user, SupplyAccount.objects.all()),
                                    account_no=params.text(request.POST, "account_no", 40))
        cost = params.posted_decimal(request.POST, "cost")
        if cost is None:
            raise params.BadParameter("cost", "请填写费用", "give the cost")
        services.set_estimate(request.user, account, cost,
                              reason=params.text(request.POST, "reason", 400))
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, "已保存 / saved")
    return redirect("conversion")


def _projects(user):
    return scoped(user, Project.objects.all()).select_related("account")


@roles(*STAFF)
def projects(request):
    qs = _projects(request.user)
    status = params.choice(request.GET, "status", rules.STATES)
    if status:
        qs = qs.filter(status=status)
    page, query = paginate(request, qs.order_by("-submitted_on", "code"))
    return render(request, "web/programs/conversion/projects.html", {
        "page": page, "query": query, "status": status,
        "states": [(s, f"{zh} {en}") for s, (zh, en) in rules.STATE_LABELS.items()]})


@roles(*STAFF)
def project(request, pk):
    p = get_object_or_404(_projects(request.user), pk=pk)
    payback = report.project_payback(p)
    return render(request, "web/programs/conversion/project.html", {
        "p": p, "steps": p.steps.select_related("by"), "attachments": p.attachments.all(),
        "payback": payback, "state_label": " ".join(rules.STATE_LABELS[p.status]),
        "terms": supply_terms.history_rows([p.account_id]).get(p.account_id, []),
        "next_steps": [(s, STEP_LABELS[s]) for s in rules.allowed_steps(p.status)],
        "can_change": can_change(request.user), "today": timezone.localdate()})


@require_POST
@roles(*CLERKS)
def step(request, pk):
    p = get_object_or_404(_projects(request.user), pk=pk)
    try:
        services.advance(request.user, p, params.choice(request.POST, "step", tuple(rules.STEPS)),
                         reason=params.text(request.POST, "reason", 400),
                         on=params.day(request.POST, "on"),
                         actual_cost=params.posted_decimal(request.POST, "actual_cost"))
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, "已保存 / saved")
    return redirect("conversion_project", p.pk)


@require_POST
@roles(*CLERKS)
def attach(request, pk):
    p = get_object_or_404(_projects(request.user), pk=pk)
    upload = request.FILES.get("file")
    problem = check_attachment(upload) if upload is not None else "请选择文件 / choose a file"
    if problem:
        messages.error(request, problem)
    else:
        try:
            services.attach(request.user, p, upload, upload.name)
        except DomainError as exc:
            _error(request, exc)
        else:
            messages.success(request, "已上传 / uploaded")
    return redirect("conversion_project", p.pk)


@roles(*STAFF)
def attachment(request, pk):
    att = get_object_or_404(Attachment.objects.filter(project__in=_projects(request.user)),
                            pk=pk)
    return FileResponse(att.file.open("rb"), as_attachment=True, filename=att.name)


@roles(*EVERYONE)
def league(request):
    today = timezone.localdate()
    year = params.month(request.GET, "from") or date(today.year, 1, 1)
    rows = report.league(request.user, today)
    savings = report.monthly_savings(request.user, year, today)
    operator = role_of(request.user) == Role.OPERATOR
    return render(request, "web/programs/conversion/league.html", {
        "rows": rows, "operator": operator, "first": year, "today": today,
        "months": list(savings.items()), "total": sum(savings.values(), Decimal("0.00"))})


@roles(*STAFF)
def settings_page(request):
    return render(request, "web/programs/conversion/settings.html", {
        "prices": DirectPrice.objects.select_related("province"),
        "defaults": {**rules.DEFAULT_COST,
                     **dict(CostDefault.objects.values_list("site_type", "cost"))},
        "default_price": rules.DEFAULT_DIRECT_PRICE, "provinces": Province.objects.all(),
        "site_types": [t.value for t in SiteType], "can_admin": can_admin(request.user)})


@require_POST
@roles(Role.PROVINCE_ADMIN)
def settings_save(request):
    try:
        reason = params.text(request.POST, "reason", 400)
        if request.POST.get("what") == "price":
            province = get_object_or_404(Province, pk=params.record_id(request.POST,
                                                                       "province") or 0)
            price = params.posted_decimal(request.POST, "price")
            day = params.day(request.POST, "effective_from")
            if price is None or day is None:
                raise params.BadParameter("price", "请填写电价和生效日期",
                                          "give the price and the date")
            services.set_direct_price(request.user, province, day, price, reason=reason)
        else:
            cost = params.posted_decimal(request.POST, "cost")
            site_type = params.choice(request.POST, "site_type", [t.value for t in SiteType])
            if cost is None or not site_type:
                raise params.BadParameter("cost", "请填写站址类型和费用",
                                          "give the site type and the cost")
            services.set_cost_default(request.user, site_type, cost, reason=reason)
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, "已保存 / saved")
    return redirect("conversion_settings")


urlpatterns = [
    path("programs/conversion/", candidates, name="conversion"),
    path("programs/conversion/rank/", rank, name="conversion_rank"),
    path("programs/conversion/submit/", submit, name="conversion_submit"),
    path("programs/conversion/estimate/", estimate, name="conversion_estimate"),
    path("programs/conversion/projects/", projects, name="conversion_projects"),
    path("programs/conversion/projects/<int:pk>/", project, name="conversion_project"),
    path("programs/conversion/projects/<int:pk>/step/", step, name="conversion_step"),
    path("programs/conversion/projects/<int:pk>/attach/", attach, name="conversion_attach"),
    path("programs/conversion/attachments/<int:pk>/", attachment, name="conversion_attachment"),
    path("programs/conversion/league/", league, name="conversion_league"),
    path("programs/conversion/settings/", settings_page, name="conversion_settings"),
    path("programs/conversion/settings/save/", settings_save, name="conversion_settings_save"),
]
HUB = [
    ("conversion", "转改直候选", "Conversion candidates", STAFF),
    ("conversion_projects", "转改直项目", "Conversion projects", STAFF),
    ("conversion_league", "转改直排名", "Conversion league", EVERYONE),
    ("conversion_settings", "转改直参数", "Conversion settings", STAFF),
]
