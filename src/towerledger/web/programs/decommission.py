"""拆站 Decommissioning pages: the cases in the user's scope, a request form, and each case's
checklist with what is still open (zh / en), the step forms and the log of every step."""

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from towerledger.access.scope import can_change
from towerledger.domain.decommission import STEP_LABELS
from towerledger.domain.errors import DomainError
from towerledger.programs.decommission import rentlink
from towerledger.programs.decommission import services as svc
from towerledger.programs.decommission.models import Decommissioning
from towerledger.web import params
from towerledger.web.context import STAFF
from towerledger.web.tables import paginate, roles

EVENT_LABELS = {**STEP_LABELS, "REFUSED": ("归档被拒（尚有未完成事项）", "archive refused (items open)"),
                "REOPEN": ("重新启用", "reopened")}


def _zh() -> bool:
    return (get_language() or "zh-hans").startswith("zh")


def _say(pair) -> str:
    return pair[0] if _zh() else pair[1]


@roles(*STAFF)
def cases(request):
    qs = svc.visible_cases(request.user).select_related("site", "requested_by")
    status = params.choice(request.GET, "status", Decommissioning.Status.values)
    if status:
        qs = qs.filter(status=status)
    page, query = paginate(request, qs)
    return render(request, "web/programs/decommission/list.html", {
        "page": page, "query": query, "status": status,
        "statuses": Decommissioning.Status.choices, "can_change": can_change(request.user)})


@require_POST
@roles(*STAFF)
def request_case(request):
    try:
        day = params.parse_day(request.POST.get("planned_date", ""), "planned_date")
        case = svc.request(request.user, params.text(request.POST, "site_code", 40), day,
                           params.text(request.POST, "reason", 500))
    except params.BadParameter as exc:
        messages.error(request, exc.zh if _zh() else exc.en)
        return redirect("decommissions")
    except DomainError as exc:
        messages.error(request, exc.message(get_language()))
        return redirect("decommissions")
    return redirect("decommission", pk=case.pk)


def _case(request, pk) -> Decommissioning:
    case = svc.visible_cases(request.user).select_related("site", "requested_by").filter(
        pk=pk).first()
    if case is None:
        raise Http404
    return case


@roles(*STAFF)
def case_page(request, pk):
    case = _case(request, pk)
    steps = [{"code": s.code, "label": _say(s.label), "done": s.done,
              "open": [_say(i) for i in s.open]} for s in svc.checklist(case)]
    return render(request, "web/programs/decommission/case.html", {
        "case": case, "steps": steps, "can_change": can_change(request.user) and
        case.status == Decommissioning.Status.OPEN,
        "can_reopen": can_change(request.user) and
        case.status != Decommissioning.Status.REOPENED,
        "accounts": case.accounts.select_related("account").order_by("account__account_no"),
        "events": [{"e": e, "label": _say(EVENT_LABELS.get(e.step, (e.step, e.step)))}
                   for e in case.events.select_related("user")],
        "rent_app": rentlink.available()})


def _reading(post):
    try:
        value = Decimal((post.get("final_reading") or "").strip())
    except InvalidOperation:
        raise DomainError("读数应为数字", "the reading must be a number") from None
    return value if value.is_finite() else None


@require_POST
@roles(*STAFF)
def step(request, pk, action):
    post = request.POST
    reason = params.text(post, "reason", 500)
    try:
        if action == "tenancies":
            n = svc.end_tenancies(request.user, pk, reason)
            messages.success(request, f"已终止 {n} 个租户服务" if _zh() else f"{n} tenancies ended")
        elif action == "reading":
            svc.record_reading(request.user, pk, params.text(post, "account_no", 40),
                               _reading(post), params.parse_day(post.get("read_on", ""),
                                                                "read_on"), reason)
        elif action == "close":
            svc.close_account(request.user, pk, params.text(post, "account_no", 40),
                              params.parse_day(post.get("closed_on", ""), "closed_on"), reason)
        elif action == "rent":
            n = svc.terminate_rent(request.user, pk, reason)
            messages.success(request, f"已终止 {n} 份场租合同" if _zh()
                             else f"{n} rent contracts terminated")
        elif action == "archive":
            svc.archive(request.user, pk, reason)
            messages.success(request, "站址已归档" if _zh() else "site archived")
        elif action == "reopen":
            svc.reopen(request.user, pk, reason)
            messages.success(request, "站址已重新启用" if _zh() else "site reopened")
        else:
            raise Http404
    except params.BadParameter as exc:
        messages.error(request, exc.zh if _zh() else exc.en)
    except DomainError as exc:
        if exc.code == "not_found" and action != "reading" and action != "close":
            raise Http404 from None
        messages.error(request, exc.message(get_language()))
    return redirect("decommission", pk=pk)


urlpatterns = [
    path("programs/decommission/", cases, name="decommissions"),
    path("programs/decommission/new/", request_case, name="decommission_request"),
    path("programs/decommission/<int:pk>/", case_page, name="decommission"),
    path("programs/decommission/<int:pk>/<slug:action>/", step, name="decommission_step"),
]
HUB = [("decommissions", "拆站", "Decommissioning", STAFF)]
