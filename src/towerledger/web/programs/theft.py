"""偷电整治 Theft rectification pages: the case list (overdue first), a case's page (its steps,
evidence, recoveries with the credit lines, measured savings with the share lines), the
form that opens a case by hand, the one-click case from an audit finding, the sharing
agreements (效益分成比例), and the 降本增效 analysis page with its XLSX download."""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib import messages
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from towerledger.access.models import Role
from towerledger.access.scope import can_admin, can_change, role_of, scoped
from towerledger.domain import savings as rules
from towerledger.domain.errors import DomainError
from towerledger.domain.months import month_end, next_month
from towerledger.org.models import Operator, Province
from towerledger.programs.theft import report, services
from towerledger.programs.theft.models import (
    Case,
    CaseDeadline,
    CaseEvidence,
    RecoveryCredit,
    ShareCharge,
    SharingAgreement,
)
from towerledger.settlement.models import Line
from towerledger.sites.models import AccountSite, Site, SupplyAccount
from towerledger.web import params
from towerledger.web.context import CLERKS, EVERYONE, STAFF
from towerledger.web.tables import paginate, roles
from towerledger.web.uploads import check_attachment

ZERO = Decimal("0.00")


def _zh() -> bool:
    return not (get_language() or "zh-hans").startswith("en")


def state_label(state: str) -> str:
    s = rules.CaseState(state)
    return rules.ZH[s] if _zh() else rules.EN[s]


def _error(request, exc: DomainError):
    if exc.code in ("out_of_scope", "not_found"):
        raise Http404 from None
    messages.error(request, exc.message(get_language()))


# ---- the case list ------------------------------------------------------------------------

@roles(*STAFF)
def cases(request):
    today = timezone.localdate()
    qs = scoped(request.user, Case.objects.select_related("site", "account", "city"))
    state = params.choice(request.GET, "state", [s.value for s in rules.CaseState])
    overdue = params.choice(request.GET, "overdue", ("1",))
    site = params.text(request.GET, "site", 40)
    if state:
        qs = qs.filter(state=state)
    if overdue:
        qs = services.overdue_cases(qs, today)
    if site:
        qs = qs.filter(Q(site__site_code__icontains=site) | Q(account__account_no__icontains=site))
    page, query = paginate(request, qs.order_by("due", "case_no"))
    rows = [{"case": c, "state": state_label(c.state),
             "overdue": c.state != rules.CaseState.CLOSED and c.due < today} for c in page]
    counts = report.cases_by_state(request.user)
    return render(request, "web/programs/theft/cases.html", {
        "page": page, "rows": rows, "query": query, "state": state, "overdue": overdue,
        "site": site, "states": [(s.value, state_label(s.value), counts[s.value])
                                 for s in rules.CaseState],
        "overdue_count": services.overdue_cases(scoped(request.user, Case.objects.all()),
                                                today).count(),
        "can_change": can_change(request.user), "can_admin": can_admin(request.user),
        "last_month": (today.replace(day=1) - timedelta(days=1)).replace(day=1)})


# ---- open a case --------------------------------------------------------------------------

@roles(*CLERKS)
def new(request):
    values, errors = {}, []
    if request.method == "POST":
        p = request.POST
        values = {k: params.text(p, k, 200) for k in (
            "site_code", "account_no", "suspected_from", "suspected_to", "detected_on", "note")}
        try:
            site = scoped(request.user, Site.objects.select_related("county__city")).filter(
                site_code=values["site_code"]).first()
            account = SupplyAccount.objects.filter(account_no=values["account_no"]).first()
            if site is None:
                raise DomainError(f"未知站址 {values['site_code']}",
                                  f"unknown site {values['site_code']}")
            if account is None:
                raise DomainError(f"未知户号 {values['account_no']}",
                                  f"unknown account {values['account_no']}")
            upload = request.FILES.get("evidence")
            problem = check_attachment(upload) if upload is not None else None
            if problem:
                raise DomainError(problem, problem)
            case = services.open_case(
                request.user, site=site, account=account,
                suspected_from=params.day(p, "suspected_from") or _required("suspected_from"),
                suspected_to=params.day(p, "suspected_to") or _required("suspected_to"),
                detected_on=params.day(p, "detected_on") or _required("detected_on"),
                source=Case.Source.MANUAL, handler=request.user, note=values["note"])
            if upload is not None:
                services.add_evidence(request.user, case.pk, upload, upload.name)
        except DomainError as exc:
            errors.append(exc.message(get_language()))
        else:
            messages.success(request, f"已登记案件 {case.case_no} / case {case.case_no} opened")
            return redirect("theft_case", case.pk)
    sites = scoped(request.user, AccountSite.objects.select_related("site", "account")) \
        .order_by("site__site_code")[:500]
    return render(request, "web/programs/theft/new.html", {
        "values": values, "errors": errors, "feeds": sites})


def _required(name):
    raise DomainError(f"请填写 {name}", f"{name} is required")


@require_POST
@roles(*CLERKS)
def from_flag(request, pk):
    try:
        case = services.open_from_flag(request.user, pk, params.text(request.POST, "note", 200))
    except DomainError as exc:
        _error(request, exc)
        return redirect("theft")
    messages.success(request, f"已登记案件 {case.case_no} / case {case.case_no} opened")
    return redirect("theft_case", case.pk)


# ---- one case -----------------------------------------------------------------------------

def _case(request, pk):
    return get_object_or_404(scoped(request.user, Case.objects.select_related(
        "site", "account", "city", "flag__bill", "handler")), pk=pk)


@roles(*STAFF)
def case_page(request, pk):
    case = _case(request, pk)
    today = timezone.localdate()
    recoveries = list(case.recoveries.order_by("received_on", "pk"))
    credits = {}
    for rc in RecoveryCredit.objects.filter(recovery__case=case).select_related(
            "line__operator", "line__tenancy"):
        credits.setdefault(rc.recovery_id, []).append(rc.line)
    for r in recoveries:
        r.lines = sorted(credits.get(r.pk, []), key=lambda ln: (
            ln.tenancy_id is None, ln.tenancy.tenancy_id if ln.tenancy_id else ""))
    months = list(case.savings.order_by("month"))
    shares = {}
    for sc in ShareCharge.objects.filter(savings_month__case=case).select_related(
            "line__operator", "line__tenancy"):
        shares.setdefault(sc.savings_month_id, []).append(sc.line)
    for m in months:
        m.lines = sorted(shares.get(m.pk, []), key=lambda ln: ln.tenancy.tenancy_id)
    events = [{"e": e, "from": state_label(e.from_state) if e.from_state else "",
               "to": state_label(e.to_state)} for e in case.events.select_related("user")]
    return render(request, "web/programs/theft/case.html", {
        "case": case, "state": state_label(case.state), "events": events,
        "evidence": case.evidence.order_by("uploaded_at"),
        "overdue": case.state != rules.CaseState.CLOSED and case.due < today,
        "actions": [(ev.value, rules.EVENT_ZH[ev] if _zh() else rules.EVENT_EN[ev])
                    for ev in rules.events_from(case.state)],
        "recoveries": recoveries, "months": months,
        "total_savings": sum((m.savings for m in months), ZERO),
        "total_share": sum((m.tower_amount or ZERO for m in months), ZERO),
        "may_recover": case.state in (rules.CaseState.CONFIRMED, rules.CaseState.REMEDIATED,
                                      rules.CaseState.CLOSED),
        "can_change": can_change(request.user), "today": today})


@require_POST
@roles(*CLERKS)
def move(request, pk):
    case = _case(request, pk)
    event = params.choice(request.POST, "event", [e.value for e in rules.CaseEvent])
    try:
        if not event:
            raise DomainError("请选择操作", "choose a step")
        services.move(request.user, case.pk, event, params.text(request.POST, "reason", 500),
                      on=params.day(request.POST, "on"))
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, "已保存 / saved")
    return redirect("theft_case", case.pk)


@require_POST
@roles(*CLERKS)
def evidence(request, pk):
    case = _case(request, pk)
    upload = request.FILES.get("file")
    problem = check_attachment(upload) if upload is not None else "请选择文件 / choose a file"
    if problem:
        messages.error(request, problem)
    else:
        try:
            services.add_evidence(request.user, case.pk, upload, upload.name)
        except DomainError as exc:
            _error(request, exc)
        else:
            messages.success(request, "已上传 / uploaded")
    return redirect("theft_case", case.pk)


@roles(*STAFF)
def evidence_file(request, pk):
    ev = get_object_or_404(CaseEvidence.objects.filter(
        case__in=scoped(request.user, Case.objects.all())), pk=pk)
    return FileResponse(ev.file.open("rb"), as_attachment=True, filename=ev.name)


@require_POST
@roles(*CLERKS)
def recovery(request, pk):
    case = _case(request, pk)
    p = request.POST
    try:
        amount = params.text(p, "amount", 20)
        try:
            value = Decimal(amount)
        except ArithmeticError:
            raise DomainError("金额格式不对", "the amount is not a number") from None
        rec = services.record_recovery(
            request.user, case.pk, amount=value,
            received_on=params.day(p, "received_on") or timezone.localdate(),
            payer=params.text(p, "payer", 120), reference=params.text(p, "reference", 60))
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"已登记追缴 {rec.amount} 元并退还 / recovery {rec.amount} "
                         "recorded and credited back")
    return redirect("theft_case", case.pk)


@require_POST
@roles(*CLERKS)
def recompute(request, pk):
    case = _case(request, pk)
    try:
        rows = services.recompute(request.user, case.pk)
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"已重算 {len(rows)} 个月（分成在月结或运行分成时计入）/ "
                         f"{len(rows)} months measured (shares are charged by the month run)")
    return redirect("theft_case", case.pk)


@require_POST
@roles(Role.PROVINCE_ADMIN)
def run(request):
    """The month's savings run (what the month close does): measure and share up to it."""
    month = params.month(request.POST)
    if month is None:
        messages.error(request, "请选择月份 / choose a month")
        return redirect("theft")
    result = services.run_month(month, request.user)
    messages.success(request, f"{month:%Y-%m}：计量 {result['measured']} 个案件月，分成明细 "
                     f"{result['share_lines']} 条 / {result['measured']} case-months measured, "
                     f"{result['share_lines']} share lines")
    return redirect("theft")


# ---- sharing agreements -------------------------------------------------------------------

@roles(*STAFF)
def agreements(request):
    rows = SharingAgreement.objects.select_related("province", "operator", "recorded_by") \
        .order_by("province__name", "program", "operator__code", "effective_from")
    return render(request, "web/programs/theft/agreements.html", {
        "rows": rows, "programs": SharingAgreement.Program.choices,
        "provinces": Province.objects.order_by("name"),
        "operators": Operator.objects.order_by("code"),
        "deadlines": {d.province_id: d.step_days for d in CaseDeadline.objects.all()},
        "default_days": rules.DEFAULT_STEP_DAYS, "can_admin": can_admin(request.user)})


@require_POST
@roles(Role.PROVINCE_ADMIN)
def agreement_add(request):
    p = request.POST
    try:
        pct = params.text(p, "tower_share_pct", 10)
        try:
            value = Decimal(pct)
        except ArithmeticError:
            raise DomainError("比例格式不对", "the share is not a number") from None
        province = params.record_id(p, "province")
        day = params.day(p, "effective_from")
        if not province or not day:
            raise DomainError("请选择省份和生效日期", "choose a province and a date")
        services.set_agreement(request.user, province_id=province,
                               operator_id=params.record_id(p, "operator"),
                               program=params.choice(p, "program",
                                                     SharingAgreement.Program.values),
                               tower_share_pct=value, effective_from=day,
                               reason=params.text(p, "reason", 200))
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, "已保存 / saved")
    return redirect("theft_agreements")


@require_POST
@roles(Role.PROVINCE_ADMIN)
def deadline_set(request):
    p = request.POST
    try:
        days = params.text(p, "step_days", 4)
        province = params.record_id(p, "province")
        if not days.isdigit() or not province:
            raise DomainError("请填写天数和省份", "choose a province and a number of days")
        services.set_step_days(request.user, province, int(days), params.text(p, "reason", 200))
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, "已保存 / saved")
    return redirect("theft_agreements")


# ---- 降本增效 -------------------------------------------------------------------------------

def _other(module: str, user, first: date, last: date):
    """The other programs' monthly savings, or None when the program is not available."""
    try:
        mod = __import__(f"towerledger.programs.{module}.report", fromlist=["monthly_savings"])
        fn = mod.monthly_savings
    except (ImportError, AttributeError):
        return None
    return fn(user, first, last)


def _operator_theft(user, first: date, last: date) -> dict:
    """An operator's part of the theft savings: each share line's saving × its cost share."""
    out: dict = {}
    for ln in scoped(user, Line.objects.current().filter(kind=Line.Kind.SAVINGS_SHARE,
                                                        month__gte=first, month__lte=last)):
        t = ln.trace
        part = (Decimal(t.get("savings", "0")) * Decimal(t.get("cost_share_pct", "0")) / 100
                ).quantize(ZERO)
        out[ln.month] = out.get(ln.month, ZERO) + part
    return out


def savings_table(user, first: date, last: date) -> dict:
    months, m = [], first
    while m <= last:
        months.append(m)
        m = next_month(m)
    operator = role_of(user) == Role.OPERATOR
    theft = (_operator_theft if operator else report.monthly_savings)(user, first, last)
    conversion = _other("conversion", user, first, last)
    trading = _other("trading", user, first, last)
    shares = report.monthly_lines(user, Line.Kind.SAVINGS_SHARE, first, last)
    credits = report.monthly_lines(user, Line.Kind.RECOVERY_CREDIT, first, last)
    rows = []
    for m in months:
        t = theft.get(m, ZERO)
        c = (conversion or {}).get(m, ZERO)
        tr = (trading or {}).get(m, ZERO)
        rows.append({"month": m, "theft": t, "conversion": c if conversion is not None else None,
                     "trading": tr if trading is not None else None, "total": t + c + tr,
                     "shares": shares.get(m, ZERO), "credits": credits.get(m, ZERO)})
    totals = {k: sum((r[k] or ZERO for r in rows), ZERO)
              for k in ("theft", "conversion", "trading", "total", "shares", "credits")}
    return {"rows": rows, "totals": totals, "conversion_missing": conversion is None,
            "trading_missing": trading is None, "operator": operator}


def _period(request) -> tuple[date, date]:
    today = timezone.localdate()
    last = params.month(request.GET, "last") or today.replace(day=1)
    first = params.month(request.GET, "first") or date(last.year - 1, last.month, 1)
    if first > last:
        first, last = last, first
    if (last.year - first.year) * 12 + last.month - first.month > 60:
        first = date(last.year - 5, last.month, 1)
    return first, last


@roles(*EVERYONE)
def savings(request):
    first, last = _period(request)
    table = savings_table(request.user, first, last)
    operator = table["operator"]
    if params.choice(request.GET, "format", ("xlsx",)):
        from towerledger.exchange.export import download

        heads = ["month 月份", "theft 偷电整治节省", "conversion 转改直节省", "trading 市场交易节省",
                 "total 合计节省", "savings_share 效益分成明细", "recovery_credit 追缴退还明细"]
        data = [[f"{r['month']:%Y-%m}", r["theft"], r["conversion"], r["trading"], r["total"],
                 r["shares"], r["credits"]] for r in table["rows"]]
        return download(f"savings-{first:%Y%m}-{last:%Y%m}.xlsx", heads, data, sheet="savings")
    ctx = {"first": first, "last": last, **table}
    if not operator:
        ctx.update({
            "recovered": report.recovered(request.user, first, month_end(last)),
            "states": [(state_label(s), n) for s, n in report.cases_by_state(
                request.user).items()],
            "ages": report.cases_by_age(request.user).items(),
            "ranking": report.city_ranking(request.user, first, last),
            "overdue": services.overdue_cases(scoped(request.user, Case.objects.all())).count()})
    query = f"first={first:%Y-%m}&last={last:%Y-%m}"
    ctx["xlsx_url"] = f"{reverse('savings')}?{query}&format=xlsx"
    return render(request, "web/programs/theft/savings.html", ctx)


urlpatterns = [
    path("programs/theft/", cases, name="theft"),
    path("programs/theft/new/", new, name="theft_new"),
    path("programs/theft/<int:pk>/", case_page, name="theft_case"),
    path("programs/theft/<int:pk>/move/", move, name="theft_move"),
    path("programs/theft/<int:pk>/evidence/", evidence, name="theft_evidence"),
    path("programs/theft/<int:pk>/recovery/", recovery, name="theft_recovery"),
    path("programs/theft/<int:pk>/recompute/", recompute, name="theft_recompute"),
    path("programs/theft/evidence/<int:pk>/", evidence_file, name="theft_evidence_file"),
    path("programs/theft/run/", run, name="theft_run"),
    path("programs/theft/agreements/", agreements, name="theft_agreements"),
    path("programs/theft/agreements/add/", agreement_add, name="theft_agreement_add"),
    path("programs/theft/deadlines/", deadline_set, name="theft_deadline_set"),
    path("programs/theft/from-flag/<int:pk>/", from_flag, name="theft_from_flag"),
    path("programs/savings/", savings, name="savings"),
]
HUB = [
    ("theft", "偷电整治", "Theft rectification", STAFF),
    ("theft_agreements", "效益分成比例", "Savings sharing agreements", STAFF),
    ("savings", "降本增效", "Savings analysis", None),
]
