"""The import page: upload (bounded in size, type judged by content), a background job with
progress — a file beyond the reading limits (importers/limits.py) fails there with its
reason — the error report for download; templates and scoped exports per kind."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from towerledger.access.scope import can_admin, role_of
from towerledger.exchange.export import download, download_kind, download_template
from towerledger.exchange.models import ImportJob
from towerledger.exchange.registry import KINDS
from towerledger.web import jobs
from towerledger.web.context import CLERKS, STAFF
from towerledger.web.tables import roles
from towerledger.web.uploads import say, screen

ALLOWED = {".csv": "csv", ".xlsx": "xlsx"}
STAFF_ONLY = {"accounts", "bills", "flags", "payments", "smartmeter"}  # never for operators


def importable():
    return [k for k in KINDS.values() if k.importable]


def check_upload(upload, max_bytes: int | None = None) -> str | None:
    """Why an upload is refused, or None: size (``max_bytes``, by default the imports'
    UPLOAD_MAX_BYTES), extension, and content matching it. The file's sheet extent, rows,
    columns and fields are measured when it is read (importers.reader), in the job or the
    request that reads it, before anything allocates for them."""
    limit = settings.UPLOAD_MAX_BYTES if max_bytes is None else max_bytes
    name, kind, problem = screen(
        upload, limit, ALLOWED,
        ("文件超过 {size}：{name}", "the file {name} is larger than {size}"),
        ("只能导入 .csv 和 .xlsx 文件：{name}", "only .csv and .xlsx files can be imported, not {name}"))
    if problem == "":
        return (say(f"{name} 不是 XLSX 工作簿", f"{name} is not an XLSX workbook")
                if kind == "xlsx" else
                say(f"{name} 不是文本 CSV 文件", f"{name} is not a text CSV file"))
    return problem


def _save(upload) -> Path:
    folder = settings.DATA_DIR / "uploads" / secrets.token_hex(8)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"upload{Path(upload.name).suffix.lower()}"
    with target.open("wb") as f:
        for chunk in upload.chunks():
            f.write(chunk)
    return target


@roles(*CLERKS)
def imports(request):
    kinds = importable()
    if request.method == "POST":
        upload, kind = request.FILES.get("file"), request.POST.get("kind", "")
        problem = (_("Choose a file.") if upload is None else
                   _("Unknown kind.") if kind not in {k.name for k in kinds} else
                   check_upload(upload))
        if problem:
            messages.error(request, problem)
            return redirect("imports")
        job = ImportJob.objects.create(
            kind=kind, filename=Path(upload.name).name[:255], stored_path=str(_save(upload)),
            user=request.user, keep_going=bool(request.POST.get("keep_going")),
            create_org=bool(request.POST.get("create_org")) and can_admin(request.user),
            reason=request.POST.get("reason", "")[:200],
            preview=bool(request.POST.get("preview")))
        jobs.start(job)
        return redirect("import_job", job.pk)
    return render(request, "web/imports.html", {
        "kinds": kinds, "kind": request.GET.get("kind", ""),
        "jobs": ImportJob.objects.filter(user=request.user)[:20],
        "can_create_org": can_admin(request.user),
        "max_mb": settings.UPLOAD_MAX_BYTES // 2**20})


def _own_job(request, pk) -> ImportJob:
    job = get_object_or_404(ImportJob, pk=pk)
    if job.user_id != request.user.pk and not can_admin(request.user):
        raise Http404
    return job


@roles(*CLERKS)
def import_job(request, pk):
    job = _own_job(request, pk)
    errors = [{"row": r, "column": c, "zh": zh, "en": en} for r, c, zh, en in job.errors]
    context = {"job": job, "errors": errors, "changes": _changes(job),
               "matches": _matches(job), "receipts": _receipt_rows(job)[:SHOWN_RECEIPTS]}
    if request.GET.get("partial"):
        return render(request, "web/_job.html", context)
    return render(request, "web/import_job.html", context)


SHOWN_RECEIPTS = 50  # on the page; the download has them all
MATCH_RULES = (("REFERENCE", _lazy("By reference")), ("AMOUNT", _lazy("By exact amount")),
               ("OLDEST", _lazy("Oldest first")), ("MANUAL", _lazy("By hand")),
               ("UNMATCHED", _lazy("Not matched")))
MATCH_COLUMNS = ("receipt_no", "operator", "amount", "applied", "unapplied", "matched_by",
                 "status", "reference")


def _matches(job: ImportJob) -> list[tuple[str, str, int]] | None:
    """A receipt import's summary: how many receipts each rule matched (a receipt split
    over two rules counts under both), unmatched last."""
    found = (job.outcome or {}).get("receipts")
    if found is None:
        return None
    return [(code, label, found.get(code, 0)) for code, label in MATCH_RULES
            if found.get(code) or code != "MANUAL"]


def _receipt_rows(job: ImportJob) -> list[dict]:
    labels = dict(MATCH_RULES)
    return [dict(zip(MATCH_COLUMNS, row, strict=True)) | {
        "how": " + ".join(str(labels.get(c, c)) for c in row[5].split("+"))}
        for row in (job.outcome or {}).get("rows", [])]


@roles(*CLERKS)
def import_matches(request, pk):
    """How each receipt of the import was matched, as CSV (formula-safe)."""
    job = _own_job(request, pk)
    if not (job.outcome or {}).get("rows"):
        raise Http404
    labels = dict(MATCH_RULES)
    rows = ([*r[:5], " + ".join(f"{c} {labels.get(c, c)}" for c in r[5].split("+")), *r[6:]]
            for r in job.outcome["rows"])
    return download(f"{Path(job.filename).stem}.matches.csv", MATCH_COLUMNS, rows)


def _changes(job: ImportJob) -> list[dict] | None:
    """A finished preview's changes as table rows: what, key, field, before, after."""
    if not job.preview or not job.changes:
        return None
    ended = {tuple(c["key"]) for c in job.changes["ended"]}
    rows = []
    for what, label in (("new", _("New")), ("changed", _("Changed")),
                        ("removed", _("Removed"))):
        for c in job.changes[what]:
            key = tuple(c["key"])
            tag = _("Ended") if what == "changed" and key in ended else label
            for i, (name, before, after) in enumerate(c["fields"] or [["", "", ""]]):
                rows.append({"what": tag if i == 0 else "", "key": " / ".join(key) if i == 0
                             else "", "field": name, "before": before, "after": after,
                             "first": i == 0, "kind": what})
    return rows


@roles(*CLERKS)
def confirm_import(request, pk):
    """Store the file a preview showed: a new job on the same upload, nothing re-uploaded."""
    job = _own_job(request, pk)
    if request.method != "POST" or not job.preview or job.status != ImportJob.Status.DONE \
            or job.error_count and not job.keep_going:
        return redirect("import_job", job.pk)
    stored = ImportJob.objects.create(
        kind=job.kind, filename=job.filename, stored_path=job.stored_path, user=request.user,
        keep_going=job.keep_going, create_org=job.create_org and can_admin(request.user),
        reason=job.reason)
    jobs.start(stored)
    return redirect("import_job", stored.pk)


@roles(*CLERKS)
def import_report(request, pk):
    job = _own_job(request, pk)
    if not job.error_report or not Path(job.error_report).exists():
        raise Http404
    path = Path(job.error_report)
    name = f"{Path(job.filename).stem}.errors{path.suffix}"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)


@login_required
def template(request, kind):
    if kind not in {k.name for k in importable()}:
        raise Http404
    return download_template(kind)


@login_required
def export(request, kind):
    """Export a kind, scoped to what the user may see (CSV or XLSX, formula-safe)."""
    k = KINDS.get(kind)
    if k is None or k.export_rows is None:
        raise Http404
    if kind in STAFF_ONLY and role_of(request.user) not in STAFF:
        raise Http404
    fmt = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    return download_kind(kind, request.user, fmt)     # streamed, columns by role

