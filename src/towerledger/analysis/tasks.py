"""The daily job for `towerledger worker`: the deadlines (deemed confirmation, overdue
disputes), then the open months' live KPI snapshots (``analysis.live``).

django-tasks has no periodic schedule, so the job keeps its own: the worker makes sure one
run is queued (at start), and each run queues the next for shortly after midnight. A run
that is already queued is never queued twice, so restarting the worker is harmless, and a
run that happens twice in one day changes nothing (deadlines are idempotent)."""

from datetime import datetime, time, timedelta

from django.dispatch import Signal
from django.utils import timezone
from django_tasks import task

DAILY_AT = time(0, 30)
# the programs' daily work (e.g. accruals reversed when their bills arrive): a receiver is
# ``receiver(sender=None, today=…)``, idempotent, and returns a small dict for the result
daily = Signal()


def next_run(now: datetime | None = None) -> datetime:
    now = timezone.localtime(now)
    day = now.date() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, DAILY_AT))


@task()
def deadlines_daily() -> dict:
    from towerledger.analysis import live
    from towerledger.settlement.services import run_deadlines

    result = run_deadlines()
    programs = {receiver.__module__.rsplit(".", 2)[-2]: r for receiver, r in
                daily.send(sender=None, today=timezone.localdate()) if r is not None}
    refreshed = live.refresh()
    schedule()  # this run is RUNNING, not waiting: the next one gets queued
    return {"deemed": result.deemed, "overdue": result.overdue,
            "provisional": [f"{m:%Y-%m}" for m in refreshed], **programs}


def schedule() -> bool:
    """Queue the next daily run unless one is already waiting; True when queued."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    path = f"{deadlines_daily.func.__module__}.{deadlines_daily.func.__qualname__}"
    if DBTaskResult.objects.filter(task_path=path, status=TaskResultStatus.READY).exists():
        return False
    deadlines_daily.using(run_after=next_run()).enqueue()
    return True
