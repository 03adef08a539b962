"""Web imports run outside the request: an ImportJob row carries their progress.

How a job runs is a setting (TOWERLEDGER_JOB_RUNNER): "task" enqueues a django-tasks task
for `towerledger worker` (production); "thread" runs it in a thread of the web process
(the demo and the development server, where no worker runs); "sync" runs it at once
(tests)."""

import threading
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone
from django_tasks import task

from towerledger.exchange.models import ExportJob, ImportJob
from towerledger.exchange.services import run_import

KEEP_ERRORS = 200


def execute(job_id: int) -> None:
    job = ImportJob.objects.get(pk=job_id)
    job.status, job.stage = ImportJob.Status.RUNNING, "read"
    job.save(update_fields=["status", "stage"])

    def tick(stage, done, total):
        ImportJob.objects.filter(pk=job_id).update(stage=stage, done=done, total=total or 0)

    try:
        result = run_import(job.kind, Path(job.stored_path), job.user, display_name=job.filename,
                            keep_going=job.keep_going, report_dir=Path(job.stored_path).parent,
                            progress=tick, reason=job.reason, create_org=job.create_org,
                            preview=job.preview)
    except Exception as exc:  # noqa: BLE001 — the page must say what went wrong
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, finished_at=timezone.now(), message=str(exc)[:500])
        raise
    c = result.counts
    previewed = result.preview is not None
    # a refused file never reads "done": its stage says refused (已拒绝)
    stage = "preview" if previewed else "done" if result.stored else "refused"
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.DONE if result.stored or previewed else ImportJob.Status.FAILED,
        changes=result.preview.as_dict() if previewed else None, outcome=result.outcome,
        finished_at=timezone.now(), rows=result.rows, created=c.created, updated=c.updated,
        unchanged=c.unchanged, error_count=max(result.error_count, len(result.errors)),
        error_report=str(result.error_report or ""), stage=stage,
        errors=[[e.row, e.column, e.zh, e.en] for e in result.errors[:KEEP_ERRORS]])


@task()
def import_job(job_id: int) -> None:
    execute(job_id)


def execute_export(job_id: int) -> None:
    """Write a background download (web.exports) to its file, counting rows as it goes."""
    from towerledger.exchange.export import write_job_file
    from towerledger.web.exports import table

    job = ExportJob.objects.select_related("user").get(pk=job_id)
    ExportJob.objects.filter(pk=job_id).update(status=ExportJob.Status.RUNNING)
    try:
        name, headers, rows, count = table(job)
        total = count() if count else 0
        ExportJob.objects.filter(pk=job_id).update(total=total, filename=name)

        def tick(n):
            ExportJob.objects.filter(pk=job_id).update(done=n)

        path = write_job_file(job_id, name, headers, rows, sheet=job.what, progress=tick)
    except Exception as exc:  # noqa: BLE001 — the page must say what went wrong
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportJob.Status.FAILED, finished_at=timezone.now(), message=str(exc)[:500])
        raise
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportJob.Status.DONE, finished_at=timezone.now(), path=str(path))


@task()
def export_job(job_id: int) -> None:
    execute_export(job_id)


def _in_thread(job_id: int, run=execute):
    try:
        run(job_id)
    finally:
        # the thread ends here: its connection can never be reused (close_old_connections
        # would keep it for CONN_MAX_AGE, open until garbage collection)
        connections.close_all()


def start(job: ImportJob) -> None:
    _dispatch(job.pk, execute, import_job)


def start_export(job: ExportJob) -> None:
    _dispatch(job.pk, execute_export, export_job)


def _dispatch(job_id: int, run, queued) -> None:
    runner = getattr(settings, "TOWERLEDGER_JOB_RUNNER", "thread")
    if runner == "sync":
        run(job_id)
    elif runner == "task":
        queued.enqueue(job_id)
    else:
        threading.Thread(target=_in_thread, args=(job_id, run), daemon=True).start()
