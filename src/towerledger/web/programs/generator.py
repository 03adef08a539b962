"""油机发电 Generator dispatch pages: the month's outages and runs with their audit findings
and a bill button, entry forms, an outage's page with its runs and lines, a run's page with
its payment entries and the 更正 Correct form of a paid, unbilled run, the monthly analysis
by city and operator, and the agreement rule (dated, per province / operator)."""

from datetime import date

from django.contrib import messages
from django.db.models import Count, Exists, OuterRef, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from towerledger.access.models import AuditEntry, Role
from towerledger.access.scope import can_admin, can_change, scoped, writable
from towerledger.domain.errors import DomainError
from towerledger.domain.generator import METHOD_ZH, METHODS
from towerledger.importers import values as v
from towerledger.ledger.models import JournalEntry
from towerledger.org.models import Operator, Province
from towerledger.programs.generator import entry, services
from towerledger.programs.generator.correction import correct_run
from towerledger.programs.generator.kinds import RUNS
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


# the Correct form's fields: the import's own columns and parsers (zh from RUNS)
CORRECT_FIELDS = ("litres", "fuel_price", "labour_cost", "transport_cost", "paid_date",
                  "site_code", "outage_no")


def _correct_values(run) -> dict:
    return {"litres": run.litres, "fuel_price": run.fuel_price.normalize(),
            "labour_cost": run.labour_cost, "transport_cost": run.transport_cost,
            "paid_date": run.paid_date.isoformat() if run.paid_date else "",
            "site_code": run.site.site_code,
            "outage_no": run.outage.outage_no if run.outage else "", "reason": ""}


def _render_run(request, obj, values=None, errors=(), status=200):
    obj = _decorate(_runs(Run.objects.filter(pk=obj.pk)))[0]
    obj.lines = [rl.line for rl in RunLine.objects.filter(run=obj).select_related(
        "line__operator", "line__tenancy").order_by("line_id")]
    refs = [services.payment_reference(obj.run_no, n) for n in range(obj.payment_version + 1)]
    refs += [services.reversal_reference(obj.run_no, n)
             for n in range(1, obj.payment_version + 1)]
    payments = JournalEntry.objects.filter(kind="GEN_PAY", reference__in=refs) \
        .prefetch_related("lines__site").order_by("pk")
    history = AuditEntry.objects.filter(action="generator.correct", object_type="generator_run",
                                        object_key=obj.run_no).select_related("user") \
        .order_by("-pk")
    may_correct = (obj.paid_date is not None and not obj.billed and can_change(request.user)
                   and writable(request.user, Run.objects.filter(pk=obj.pk)).exists())
    fields = {f.name: f for f in RUNS.fields}
    values = values or _correct_values(obj)
    return render(request, "web/programs/generator/run.html", {
        "run": obj, "payments": payments, "history": history, "may_correct": may_correct,
        "reason": values.get("reason", ""), "errors": errors,
        "fields": [(name, fields[name].zh, values.get(name)) for name in CORRECT_FIELDS]},
        status=status)


@roles(*STAFF)
def run(request, pk):
    obj = get_object_or_404(scoped(request.user, Run.objects.all()), pk=pk)
    return _render_run(request, obj)


@require_POST
@roles(Role.PROVINCE_ADMIN, Role.CITY_CLERK)
def correct(request, pk):
    """更正 a paid, unbilled run (correction.correct_run): reversal + new payment entry."""
    obj = get_object_or_404(writable(request.user, Run.objects.all()), pk=pk)
    values = {k: params.text(request.POST, k, 200) for k in (*CORRECT_FIELDS, "reason")}
    fields = {f.name: f for f in RUNS.fields}
    parsed, errors = {}, []
    for name in CORRECT_FIELDS:
        cell = values[name]
        if not cell:
            if name in ("litres", "fuel_price"):
                errors.append(f"{fields[name].zh}：必填项为空" if _zh()
                              else f"{name}: required value is empty")
            parsed[name] = None
            continue
        try:
            parsed[name] = fields[name].parse(cell)
        except v.BadValue as exc:
            errors.append(f"{fields[name].zh}：{exc.zh}" if _zh() else f"{name}: {exc.en}")
    if not errors:
        try:
            done = correct_run(obj, request.user, reason=values["reason"], **parsed)
        except DomainError as exc:
            if exc.code == "out_of_scope" and not (parsed["site_code"] or parsed["outage_no"]):
                raise Http404 from None
            errors.append(exc.message(get_language()))
        else:
            if done.changed:
                messages.success(request, f"已更正 {obj.run_no}：发电费用 {done.before['cost']} → "
                                 f"{done.after['cost']} / corrected: cost "
                                 f"{done.before['cost']} → {done.after['cost']}")
            else:
                messages.info(request, "没有变化 / nothing changed")
            return redirect("generator_run", obj.pk)
    return _render_run(request, obj, values, errors, status=400)


@roles(*STAFF)
def analysis(request):
    """A month's figures; with no month asked for, the latest month with runs or outages
    (as the list), not an empty current month."""
    month = params.month(request.GET)
    latest = None if month else latest_month(request.user)
    this_month = timezone.localdate().replace(day=1)
    month = month or latest or this_month
    rows, as_of = services.stored_figures(month, request.user)
    if as_of is None:   # not closed yet: live, provisional
        rows = services.month_figures(month, request.user)
    totals = [r for r in rows if not r["operator"]]
    by_op = [r for r in rows if r["operator"]]
    return render(request, "web/programs/generator/analysis.html", {
        "month": month, "cities": totals, "operators": by_op, "as_of": as_of,
        "latest": latest not in (None, this_month)})


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
    path("programs/generator/runs/<int:pk>/", run, name="generator_run"),
    path("programs/generator/runs/<int:pk>/correct/", correct, name="generator_run_correct"),
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
