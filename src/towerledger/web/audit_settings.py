"""稽核规则设置: the province admin's page of audit rules per province (issue 12).

Every rule with its code, label, severity, on/off and thresholds, and the allocation
findings' policy (WARN: allocate and push; BLOCK: hold the lines until resolved). Saving a
rule is logged (bills.rule_settings) and offers a re-audit of the province's open bills,
run in steps of ``STEP`` bills through ``bills.services.reaudit``: each step answers with
the progress and, while bills remain, asks htmx for the next (the page carries where it is,
so nothing runs outside a request and nothing is left half-done in the background).
"""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from towerledger.access.models import Role
from towerledger.bills import rule_settings, services
from towerledger.domain.audits import THRESHOLD_LABELS
from towerledger.org.models import Province
from towerledger.web.labels import pick
from towerledger.web.tables import roles

STEP = 2000   # bills re-audited per request (setting TOWERLEDGER_REAUDIT_STEP)


def _id(source, name) -> int | None:
    raw = (source.get(name) or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def _province(request, source) -> Province | None:
    pk = _id(source, "province")
    qs = Province.objects.order_by("pk")
    return (qs.filter(pk=pk).first() if pk else None) or qs.first()


@roles(Role.PROVINCE_ADMIN)
def page(request):
    province = _province(request, request.GET)
    rows = rule_settings.rules_of(province.pk) if province else []
    english = get_language() == "en"
    return render(request, "web/audit_settings.html", {
        "province": province, "provinces": Province.objects.order_by("pk"),
        "rules": [{"r": r, "label": r.label_en if english else r.label_zh,
                   "thresholds": [(k, v, r.defaults[k],
                                   pick(THRESHOLD_LABELS.get(k, (k, k))))
                                  for k, v in r.thresholds.items()]}
                  for r in rows],
        "changed": (request.GET.get("changed") or "")[:20],
        "open_bills": rule_settings.open_bills(province.pk).count() if province else 0})


@require_POST
@roles(Role.PROVINCE_ADMIN)
def save(request, code):
    province = _province(request, request.POST)
    post = request.POST
    thresholds = {k[3:]: v for k, v in post.items() if k.startswith("th_")}
    try:
        rule_settings.save_setting(request.user, province.pk if province else None, code,
                                   post.get("severity", ""), post.get("enabled") == "on",
                                   thresholds, post.get("reason", ""))
    except rule_settings.SettingError as exc:
        messages.error(request, exc.message(get_language()))
        return redirect(f"{reverse('audit_settings')}?province={province.pk if province else ''}")
    messages.success(request, _("Rule %(code)s saved.") % {"code": code})
    return redirect(f"{reverse('audit_settings')}?province={province.pk}&changed={code}#reaudit")


@require_POST
@roles(Role.PROVINCE_ADMIN)
def reaudit(request):
    """One step of the re-audit of the province's open bills: those after ``after``."""
    province = _province(request, request.POST)
    after = _id(request.POST, "after") or 0
    bills = rule_settings.open_bills(province.pk) if province else None
    total = bills.count() if bills is not None else 0
    size = getattr(settings, "TOWERLEDGER_REAUDIT_STEP", STEP)
    step = list(bills.filter(pk__gt=after).values_list("pk", flat=True)[:size]) if total else []
    found = services.reaudit(step, request.user) if step else 0
    done = bills.filter(pk__lte=step[-1]).count() if step else total
    return render(request, "web/_reaudit.html", {
        "province": province, "after": step[-1] if step else after, "done": done,
        "total": total, "finished": done >= total, "found": found,
        "percent": int(100 * done / total) if total else 100})
