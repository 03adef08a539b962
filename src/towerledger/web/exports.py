"""Large downloads in the background (issue 16): the lines list and the kinds' XLSX exports
(bills, lines, allocations: 35–57 s at demo scale, a timeout at province scale) are written
by a job (web.jobs, like imports) while the page shows the rows written so far, then offers
the file. Each job writes exactly what the direct download would (the same table function,
the same user's scope), kept in the exports folder until the retention purge."""

from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from towerledger.access.models import Role
from towerledger.access.scope import role_of
from towerledger.exchange.export import export_table
from towerledger.exchange.models import ExportJob
from towerledger.exchange.registry import KINDS
from towerledger.web import jobs
from towerledger.web.context import STAFF

STAFF_ONLY = {"accounts", "bills", "flags", "payments", "smartmeter"}  # as web.imports.export


def background_exports(kind: str) -> list[dict]:
    """A list page's download button: the XLSX made in the background."""
    return [{"url": reverse("export_start", args=[kind]) + "?format=xlsx",
             "label": _("Export XLSX")}]


def may_export(user, what: str) -> bool:
    if what == "lines":
        return role_of(user) in (*STAFF, Role.OPERATOR)
    kind = KINDS.get(what)
    return kind is not None and kind.export_rows is not None and (
        what not in STAFF_ONLY or role_of(user) in STAFF)


def table(job: ExportJob):
    """(file name, headers, rows, count or None) of what ``job`` writes, as its user may see
    it: the same functions the direct downloads use."""
    if job.what == "lines":
        from towerledger.web.settlement import lines_table

        name, headers, rows, count = lines_table(job.user, QueryDict(job.params.get("query", "")))
        return name, headers, rows, count
    fmt = "csv" if job.params.get("format") == "csv" else "xlsx"
    headers, rows = export_table(job.what, job.user)
    return f"{job.what}.{fmt}", headers, rows, None


@login_required
def start(request, what):
    """Start a background download of ``what`` with the page's filters; show its progress."""
    if not may_export(request.user, what):
        raise Http404
    fmt = "csv" if request.GET.get("format") == "csv" and what != "lines" else "xlsx"
    job = ExportJob.objects.create(
        what=what, user=request.user, filename=f"{what}.{fmt}",
        params={"query": request.GET.urlencode(), "format": fmt})
    jobs.start_export(job)
    return redirect("export_job", job.pk)


def _own(request, pk) -> ExportJob:
    """Only the user whose scope made the file sees it (an admin's included)."""
    return get_object_or_404(ExportJob, pk=pk, user=request.user)


@login_required
def export_job(request, pk):
    job = _own(request, pk)
    ready = job.status == ExportJob.Status.DONE and job.path and Path(job.path).exists()
    context = {"job": job, "ready": ready,
               "expired": job.status == ExportJob.Status.DONE and not ready}
    if request.GET.get("partial"):
        return render(request, "web/_export_job.html", context)
    return render(request, "web/export_job.html", context)


@login_required
def export_file(request, pk):
    job = _own(request, pk)
    if job.status != ExportJob.Status.DONE or not job.path or not Path(job.path).exists():
        raise Http404
    return FileResponse(Path(job.path).open("rb"), as_attachment=True, filename=job.filename)
