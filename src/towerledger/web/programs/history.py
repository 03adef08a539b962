"""历史数据 Opening balances pages: the take-over reconciliation (legacy totals against what
was imported, to the fen) with its sign-off, and the collection drives (回收攻坚): arrears by
city, operator, legacy or current and age, each city's target and progress, as XLSX for the
meeting. The legacy files themselves come in through /imports/ (kinds legacy_ledger and
legacy_unapplied)."""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from towerledger.access.models import Role
from towerledger.access.scope import can_admin, role_of
from towerledger.domain.errors import DomainError
from towerledger.domain.opening import FIGURES
from towerledger.exchange.export import download
from towerledger.org.models import City
from towerledger.programs.history import services
from towerledger.programs.history.models import SignOff
from towerledger.web import params
from towerledger.web.context import STAFF
from towerledger.web.tables import roles

FIGURE_LABELS = {"pushed": "推送 Pushed", "confirmed": "确认 Confirmed",
                 "written_off": "核销 Written off", "outstanding": "欠费 Outstanding",
                 "unapplied": "预收 Unapplied"}


def _error(exc: DomainError) -> str:
    return exc.zh if (get_language() or "zh-hans").startswith("zh") else exc.en


def _cells(tie) -> list[dict]:
    diff = tie.differences
    return [{"name": n, "legacy": getattr(tie.legacy, n), "imported": getattr(tie.imported, n),
             "diff": diff[n]} for n in FIGURES]


@roles(*STAFF)
def reconciliation(request):
    ties, grand, journal = services.reconciliation(request.user)
    rows = [{"city": t.key[0], "operator": t.key[1], "rows": t.legacy.rows,
             "cells": _cells(t), "ties": t.ties} for t in ties]
    return render(request, "web/programs/history/reconciliation.html", {
        "rows": rows, "grand": {"cells": _cells(grand), "ties": grand.ties,
                                "rows": grand.legacy.rows},
        "journal": journal, "labels": [FIGURE_LABELS[n] for n in FIGURES],
        "all_tie": bool(ties) and grand.ties and all(t.ties for t in ties)
        and journal.get("ties", True),
        "sign_offs": SignOff.objects.select_related("signed_by").order_by("-signed_at")[:20]
        if role_of(request.user) in (Role.PROVINCE_ADMIN, Role.VIEWER) else [],
        "can_sign": can_admin(request.user) and bool(ties)})


@require_POST
@roles(Role.PROVINCE_ADMIN)
def sign_off(request):
    try:
        s = services.sign_off(request.user, request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, _error(exc))
    else:
        messages.success(request, "已签认 Signed off" + (
            "" if s.ties else "（有差异 with differences）"))
    return redirect("history")


def _as_of(request) -> date:
    return params.day(request.GET, "as_of") or timezone.localdate()


def _arrears_table(request, as_of):
    data = services.arrears(request.user, as_of)
    labels = list(services.BUCKETS)
    totals = {label: sum((r["buckets"][label] for r in data), Decimal(0)) for label in labels}
    return data, labels, totals


@roles(*STAFF)
def drive(request):
    as_of = _as_of(request)
    data, labels, totals = _arrears_table(request, as_of)
    legacy = sum((r["total"] for r in data if r["legacy"]), Decimal(0))
    current = sum((r["total"] for r in data if not r["legacy"]), Decimal(0))
    return render(request, "web/programs/history/drive.html", {
        "as_of": as_of, "rows": data, "labels": labels,
        "totals": [totals[label] for label in labels], "legacy": legacy, "current": current,
        "grand": legacy + current, "progress": services.drive_progress(request.user, as_of),
        "trend": services.trend(request.user),
        "can_edit": can_admin(request.user),
        "cities": City.objects.order_by("name").values_list("pk", "name"),
        "today": timezone.localdate()})


def _decimal(text: str, places: str) -> Decimal | None:
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return Decimal(text).quantize(Decimal(places))
    except InvalidOperation:
        raise ValueError(text) from None


@require_POST
@roles(Role.PROVINCE_ADMIN)
def target_set(request):
    p = request.POST
    try:
        city = int(p.get("city", ""))
        baseline = date.fromisoformat(p.get("baseline_date", ""))
        target = date.fromisoformat(p.get("target_date", ""))
        amount = _decimal(p.get("target_amount", ""), "0.01")
        rate = _decimal(p.get("target_rate_pct", ""), "0.01")
    except ValueError:
        messages.error(request, "请检查地市、日期和目标 check the city, dates and target")
        return redirect("history_drive")
    try:
        services.set_target(request.user, city, baseline, target, amount,
                            None if rate is None else (rate / 100).quantize(Decimal("0.0001")),
                            params.text(p, "note", 200))
    except DomainError as exc:
        messages.error(request, _error(exc))
    else:
        messages.success(request, "目标已保存 Target saved")
    return redirect("history_drive")


@require_POST
@roles(Role.PROVINCE_ADMIN)
def target_delete(request):
    pk = params.record_id(request.POST, "target")
    try:
        if pk is None:
            raise services.HistoryError("目标不存在", "no such target", "not_found")
        services.delete_target(request.user, pk, params.text(request.POST, "reason", 200))
    except DomainError as exc:
        messages.error(request, _error(exc))
    else:
        messages.success(request, "目标已删除 Target removed")
    return redirect("history_drive")


DRIVE_HEADERS = ("city", "operator", "legacy", "chains")
TARGET_HEADERS = ("city", "baseline_date", "target_date", "target_amount", "target_rate",
                  "as_of", "baseline_arrears", "left", "collected", "goal", "progress",
                  "to_go", "note")


@roles(*STAFF)
def drive_export(request):
    """The drive as XLSX (text cells formula-safe through exchange.files.write_xlsx):
    ``part=targets`` the targets and their progress, otherwise the arrears by age."""
    as_of = _as_of(request)
    if request.GET.get("part") == "targets":
        rows = ([p["target"].city.name, p["target"].baseline_date, p["target"].target_date,
                 p["target"].target_amount, p["target"].target_rate, p["as_of"],
                 p["progress"].baseline, p["progress"].left, p["progress"].collected,
                 p["progress"].goal, p["progress"].rate, p["progress"].to_go,
                 p["target"].note] for p in services.drive_progress(request.user, as_of))
        return download(f"collection-targets-{as_of}.xlsx", TARGET_HEADERS, rows,
                        sheet="targets")
    data, labels, _totals = _arrears_table(request, as_of)
    headers = [*DRIVE_HEADERS, *(f"age_{label}" for label in labels), "outstanding"]
    rows = ([r["city"], r["operator"], "legacy 历史" if r["legacy"] else "current 当期",
             r["chains"], *(r["buckets"][label] for label in labels), r["total"]]
            for r in data)
    return download(f"collection-drive-{as_of}.xlsx", headers, rows, sheet="arrears")


urlpatterns = [
    path("programs/history/", reconciliation, name="history"),
    path("programs/history/sign-off/", sign_off, name="history_sign_off"),
    path("programs/history/drive/", drive, name="history_drive"),
    path("programs/history/drive.xlsx", drive_export, name="history_drive_export"),
    path("programs/history/targets/", target_set, name="history_target_set"),
    path("programs/history/targets/delete/", target_delete, name="history_target_delete"),
]
HUB = [
    ("history", "历史数据接管对账", "Take-over reconciliation", STAFF),
    ("history_drive", "回收攻坚", "Collection drives", STAFF),
]
