"""油机发电 Generator dispatch pages: the month's outages and runs with their audit findings
and a bill button, entry forms, an outage's page with its runs and lines, the monthly
analysis by city and operator, and the agreement rule (dated, per province / operator)."""

from datetime import date

from django.contrib import messages
from django.db.models import Count, Exists, OuterRef, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from towerledger.access.models import Role
from towerledger.access.scope import can_admin, can_change, scoped
from towerledger.domain.errors import DomainError
from towerledger.domain.generator import METHOD_ZH, METHODS
from towerledger.org.models import Operator, Province
from towerledger.programs.generator import entry, services
from towerledger.programs.generator.models import (
    AgreementRule,
    Finding,
    Outage,
    Run,
    RunLine,
)
from towerledger.web import params
from towerledger.web.context import STAFF
from towerledger.web.tables import paginate, roles


def _zh() -> bool:
    return (get_language() or "zh-hans").startswith("zh")


def _month(request) -> date:
    return params.month(request.GET) or timezone.localdate().replace(day=1)


def latest_month(user) -> date | None:
    """The latest month up to the current one with a run or an outage (by start) in
    ``user``'s scope: where the list opens when no month is asked for."""
    _, after = services.month_bounds(timezone.localdate())
    starts = [scoped(user, model.objects.filter(start__lt=after)).order_by("-start")
              .values_list("start", flat=True).first() for model in (Run, Outage)]
    starts = [s for s in starts if s is not None]
    return services.local_day(max(starts)).replace(day=1) if starts else None


def _runs(qs):
    return qs.select_related("site", "outage", "billing").prefetch_related(
        Prefetch("findings", queryset=Finding.objects.order_by("-severity", "code")))


def _decorate(runs):
    out = []
    for r in runs:
        findings = list(r.findings.all())
        r.open_block = [f for f in findings if f.is_open and f.severity == "BLOCK"]
        r.open_warn = [f for f in findings if f.is_open and f.severity == "WARN"]
        r.billed = hasattr(r, "billing")
        r.finding_list = findings
        out.append(r)
    return out


@roles(*STAFF)
def generator(request):
    month = params.month(request.GET)
    latest = None if month else latest_month(request.user)
    this_month = timezone.localdate().replace(day=1)
    month = month or latest or this_month
    first, after = services.month_bounds(month)
    runs = scoped(request.user, Run.objects.filter(start__gte=first, start__lt=after))
    state = params.choice(request.GET, "state", ("held", "unbilled", "billed"))
    if state == "held":
        runs = runs.filter(billing__isnull=True).filter(Exists(Finding.objects.filter(
            run=OuterRef("pk"), severity="BLOCK", resolved_at__isnull=True)))
    elif state == "unbilled":
        runs = runs.filter(billing__isnull=True)
    elif state == "billed":
        runs = runs.filter(billing__isnull=False)
    page, query = paginate(request, _runs(runs.order_by("start", "run_no")))
    outages = scoped(request.user, Outage.objects.filter(start__gte=first, start__lt=after)) \
        .select_related("site").annotate(n_runs=Count("runs")).order_by("start", "outage_no")
    unbilled = services.unbilled(request.user, month)
    held = services.held_run_ids(unbilled.values_list("pk", flat=True))
    return render(request, "web/programs/generator/list.html", {
        "month": month, "latest": latest not in (None, this_month), "page": page, "runs": _decorate(page), "query": query,
        "state": state, "outages": outages[:200], "outage_count": outages.count(),
        "to_bill": unbilled.count() - len(held), "held": len(held),
        "can_change": can_change(request.user)})


@require_POST
@roles(Role.PROVINCE_ADMIN, Role.CITY_CLERK)
def bill(request):
    month = params.month(request.POST)
    ids = params.ids(request.POST, "run")
    if month is None and not ids:
        messages.error(request, "请选择月份或发电记录 / choose a month or runs")
        return redirect("generator")
    result = services.bill_runs(request.user, month=month if not ids else None,
                                run_ids=ids or None)
    if result.billed:
        messages.success(request, f"已出账 {len(result.billed)} 条发电记录，生成 {result.lines} 条明细，"
                         f"合计 {result.amount} 元 / {len(result.billed)} runs billed, "
                         f"{result.lines} lines, {result.amount} yuan")
    if result.held:
        messages.warning(request, f"{len(result.held)} 条因阻断稽核暂缓出账 / "
                         f"{len(result.held)} runs held by a blocking finding: "
                         + ", ".join(result.held[:20]))
    if not result.billed and not result.held:
        messages.info(request, "没有待出账的发电记录 / nothing to bill")
    nxt = request.POST.get("next", "")
    if nxt.startswith(reverse("generator")):
        return redirect(nxt)
    return redirect(f"{reverse('generator')}?month={month:%Y-%m}" if month else "generator")


@roles(*STAFF)
def outage(request, pk):
    obj = get_object_or_404(scoped(request.user, Outage.objects.select_related(
        "site__county__city")), pk=pk)
    runs = _decorate(_runs(obj.runs.order_by("start", "run_no")))
    lines = {}
    for rl in RunLine.objects.filter(run__in=[r.pk for r in runs]).select_related(
            "line__operator", "line__tenancy").order_by("line__tenancy__tenancy_id"):
        lines.setdefault(rl.run_id, []).append(rl.line)
    for r in runs:
        r.lines = sorted(lines.get(r.pk, []), key=lambda ln: (ln.tenancy_id is None,
                                                             ln.tenancy.tenancy_id if ln.tenancy_id
                                                             else ""))
    return render(request, "web/programs/generator/outage.html", {
        "outage": obj, "runs": runs, "can_change": can_change(request.user)})


@require_POST
@roles(Role.PROVINCE_ADMIN, Role.CITY_CLERK)
def resolve(request, pk):
    try:
        f = services.resolve_finding(pk, request.user, params.text(request.POST, "reason", 200))
    except DomainError as exc:
        if exc.code == "out_of_scope":
            raise Http404 from None
        messages.error(request, exc.message(get_language()))
        f = get_object_or_404(scoped(request.user, Finding.objects.select_related("run")),
                              pk=pk)
    else:
        messages.success(request, f"已处理 {f.code} / resolved")
    if f.run.outage_id:
        return redirect("generator_outage", f.run.outage_id)
    return redirect(f"{reverse('generator')}?month={timezone.localtime(f.run.start):%Y-%m}")


@roles(Role.PROVINCE_ADMIN, Role.CITY_CLERK)
def new(request):
    """The entry forms: an outage, a run (same checks as a file of one row)."""
    errors, values, which = [], {}, ""
    if request.method == "POST":
        which = params.choice(request.POST, "form", ("outage", "run"))
        values = {k: params.text(request.POST, k, 200) for k in request.POST if k not in (
            "csrfmiddlewaretoken", "form")}
        reason = values.pop("reason", "") or "手工录入 entered by hand"
        if which == "outage":
            errors, obj = entry.enter_outage(request.user, values, reason)
        elif which == "run":
            errors, obj = entry.enter_run(request.user, values, reason)
        else:
            raise Http404
        if not errors:
            messages.success(request, f"已保存 {obj} / saved")
            target = obj if isinstance(obj, Outage) else obj.outage
            if target is not None:
                return redirect("generator_outage", target.pk)
            return redirect(f"{reverse('generator')}?month="
                            f"{timezone.localtime(obj.start):%Y-%m}")
    return render(request, "web/programs/generator/new.html", {
        "errors": [e.zh if _zh() else e.en for e in errors],
        "error_columns": [e.column for e in errors], "values": values, "which": which,
        "outage_fields": entry.form_fields("outages"),
        "run_fields": entry.form_fields("generator_runs")})


@roles(*STAFF)
def analysis(request):
    month = _month(request)
    rows, as_of = services.stored_figures(month, request.user)
    if as_of is None:   # not closed yet: live, provisional
        rows = services.month_figures(month, request.user)
    totals = [r for r in rows if not r["operator"]]
    by_op = [r for r in rows if r["operator"]]
    return render(request, "web/programs/generator/analysis.html", {
        "month": month, "cities": totals, "operators": by_op, "as_of": as_of})


@roles(*STAFF)
def rules(request):
    rows = AgreementRule.objects.select_related("province", "operator", "recorded_by")
    return render(request, "web/programs/generator/rules.html", {
        "rows": rows, "methods": [(m, f"{METHOD_ZH[m]} {m}") for m in METHODS],
        "provinces": Province.objects.order_by("name"),
        "operators": Operator.objects.order_by("code"), "can_admin": can_admin(request.user)})


@require_POST
@roles(Role.PROVINCE_ADMIN)
def rule_add(request):
    try:
        day = params.parse_day(request.POST.get("effective_from", ""), "effective_from")
        method = params.choice(request.POST, "method", METHODS)
        if not method:
            raise params.BadParameter("method", "请选择分摊方式", "choose a method")
        services.set_rule(request.user, day, method,
                          province_id=params.record_id(request.POST, "province"),
                          operator_id=params.record_id(request.POST, "operator"),
                          reason=params.text(request.POST, "reason", 200))
    except params.BadParameter as exc:
        messages.error(request, exc.zh if _zh() else exc.en)
    except DomainError as exc:
        messages.error(request, exc.message(get_language()))
    else:
        messages.success(request, "已保存 / saved")
    return redirect("generator_rules")


urlpatterns = [
    path("programs/generator/", generator, name="generator"),
    path("programs/generator/bill/", bill, name="generator_bill"),
    path("programs/generator/new/", new, name="generator_new"),
    path("programs/generator/outages/<int:pk>/", outage, name="generator_outage"),
    path("programs/generator/findings/<int:pk>/resolve/", resolve, name="generator_resolve"),
    path("programs/generator/analysis/", analysis, name="generator_analysis"),
    path("programs/generator/rules/", rules, name="generator_rules"),
    path("programs/generator/rules/add/", rule_add, name="generator_rule_add"),
]
HUB = [
    ("generator", "油机发电", "Generator dispatch", STAFF),
    ("generator_analysis", "发电分析", "Generator analysis", STAFF),
    ("generator_rules", "发电分摊规则", "Generator split rules", STAFF),
]
