"""月结 from the web: the province admin picks an ended month, the close runs in the
background (analysis.close.close_month) and the page polls its CloseJob for progress and for
the problems that stopped it. The close itself is resumable: a run after a failure does not
repeat the steps already finished (ledger.MonthClose records them)."""

import threading
from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import connections
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tasks import task

from towerledger.access.models import Role
from towerledger.analysis.close import STEPS, CloseError, close_month
from towerledger.analysis.models import CloseJob
from towerledger.domain.months import next_month
from towerledger.ledger.models import MonthClose
from towerledger.web import params
from towerledger.web.labels import step_label
from towerledger.web.monthly import closed_months, month_arg
from towerledger.web.tables import roles

PROBLEMS_KEPT = 200     # the page lists this many of the books check's problems


def closable_months(today: date) -> list[date]:
    """Ended months not yet closed, from the first open month (at most 24: months close in
    order, so the earliest are the ones that matter)."""
    last = today.replace(day=1) - timedelta(days=1)
    last = last.replace(day=1)
    closed = set(closed_months())
    start = max(closed) if closed else None
    if start is None:
        from towerledger.bills.models import Bill

        first = Bill.objects.order_by("period_end").values_list("period_end", flat=True).first()
        start = first.replace(day=1) if first else last
    months, m = [], start
    while m <= last:
        if m not in closed:
            months.append(m)
        m = next_month(m)
    return months[:24]


def execute_close(job_id: int, user_id: int | None) -> None:
    job = CloseJob.objects.get(pk=job_id)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    runs = CloseJob.objects.filter(pk=job_id)
    runs.update(status=CloseJob.Status.RUNNING, step=STEPS[0])

    def progress(step):
        runs.update(step=step, done=STEPS.index(step))

    try:
        close_month(job.month, user, progress=progress)
    except CloseError as exc:
        runs.update(status=CloseJob.Status.FAILED, finished_at=timezone.now(),
                    message=f"{exc.zh} / {exc.en}", error_count=len(exc.problems),
                    errors=[str(p) for p in exc.problems[:PROBLEMS_KEPT]])
        return
    except Exception as exc:  # noqa: BLE001 — the page must say what went wrong
        runs.update(status=CloseJob.Status.FAILED, finished_at=timezone.now(),
                    message=str(exc)[:500])
        raise
    runs.update(status=CloseJob.Status.DONE, step=STEPS[-1], done=len(STEPS),
                finished_at=timezone.now())


@task()
def close_job(job_id: int, user_id: int | None) -> None:
    execute_close(job_id, user_id)


def _close_in_thread(job_id, user_id):
    try:
        execute_close(job_id, user_id)
    finally:
        # the thread ends here: its connection can never be reused (close_old_connections
        # would keep it for CONN_MAX_AGE, open until garbage collection)
        connections.close_all()


def start_close(job: CloseJob, user_id) -> None:
    runner = getattr(settings, "TOWERLEDGER_JOB_RUNNER", "thread")
    if runner == "sync":
        execute_close(job.pk, user_id)
    elif runner == "task":
        close_job.enqueue(job.pk, user_id)
    else:
        threading.Thread(target=_close_in_thread, args=(job.pk, user_id), daemon=True).start()


def _job_context(job: CloseJob) -> dict:
    steps = []
    for i, step in enumerate(STEPS):
        state = "done" if i < job.done or job.status == CloseJob.Status.DONE else (
            "failed" if job.status == CloseJob.Status.FAILED and step == job.step else (
                "current" if step == job.step and not job.finished_at else "todo"))
        steps.append({"label": step_label(step), "state": state})
    return {"job": job, "job_steps": steps, "job_percent": job.percent}


def _running():
    """A close job still going (one left unfinished by a dead process stops counting after
    two hours; the close itself resumes where it stopped when run again)."""
    since = timezone.now() - timedelta(hours=2)
    return CloseJob.objects.filter(finished_at__isnull=True, created_at__gte=since).first()


@roles(Role.PROVINCE_ADMIN)
def month_close(request):
    closes = {mc.month: mc for mc in MonthClose.objects.select_related("closed_by")}
    today = timezone.localdate()
    closable = closable_months(today)
    running = _running()
    job = None
    if job_id := params.record_id(request.GET, "job"):
        job = CloseJob.objects.filter(pk=job_id).first()
    job = job or running
    rows = []
    for m in sorted(set(closes) | set(closable), reverse=True):
        mc = closes.get(m)
        done = set(mc.steps) if mc else set()
        rows.append({"month": m, "mc": mc,
                     "status": mc.status if mc else "OPEN",
                     "status_label": mc.get_status_display() if mc else _("Open"),
                     "steps": [{"label": step_label(s), "done": s in done} for s in STEPS],
                     "snapshot_rows": (mc.summary.get("snapshots") or {}).get("rows")
                     if mc else None,
                     "deemed": (mc.summary.get("deadlines") or {}).get("deemed") if mc else None,
                     "dashboard_url": reverse("dashboard") + f"?month={m:%Y-%m}"
                     if mc and mc.status == MonthClose.Status.CLOSED else ""})
    return render(request, "web/month_close.html", {
        "title": _("Month close"), "rows": rows, "closable": closable,
        "running": running, **(_job_context(job) if job else {}),
        "default_month": closable[0] if closable else None})


@require_POST
@roles(Role.PROVINCE_ADMIN)
def month_close_run(request):
    month = month_arg(request.POST.get("month"))
    if month is None or month not in closable_months(timezone.localdate()):
        messages.error(request, _("Choose a month that has ended and is not closed."))
        return redirect("month_close")
    running = _running()
    if running:
        return redirect(reverse("month_close") + f"?job={running.pk}")
    job = CloseJob.objects.create(month=month, user=request.user, total=len(STEPS))
    start_close(job, request.user.pk)
    return redirect(reverse("month_close") + f"?job={job.pk}")


@roles(Role.PROVINCE_ADMIN)
def month_close_job(request, pk):
    job = get_object_or_404(CloseJob, pk=pk)
    return render(request, "web/_close_job.html", _job_context(job))
