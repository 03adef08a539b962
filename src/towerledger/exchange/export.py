"""Exports: a kind's rows with its canonical English names, by role; downloads streamed from
a file nobody can see; empty import templates.

* ``export_table`` is the one place a kind's export is shaped for its reader: the rows come
  scoped from the kind (``export_rows(user)``); for an operator user the columns of the
  tower's own side (``STAFF_COLUMNS``: supply account numbers) are left out, and a site
  code pointing outside its scope (a small site's host it has no tenancy on) is blanked.
* ``download`` writes a table to an unnamed temporary file in the exports folder (deleted
  by the system when the response closes it: nothing is left on disk however often a
  read-only user downloads) and streams it. Files kept for later (the reconciliation's
  result) are purged after ``TOWERLEDGER_EXPORT_RETENTION_HOURS`` by ``purge_exports``,
  which every download runs at most once an hour.
* Every text cell and header passes ``safe.safe_cell`` (exchange.files).
"""

import io
import secrets
import sys
import tempfile
import time
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.http import FileResponse

from towerledger.access.models import Role
from towerledger.access.scope import role_of, scoped
from towerledger.exchange.files import write_csv, write_table, write_xlsx
from towerledger.exchange.registry import get_kind

# columns an operator user never receives: the supply side is the tower company's business
STAFF_COLUMNS = {"allocations": ("account_no",)}
# columns naming another site: shown to an operator only when that site is in its scope
SITE_REFERENCES = ("host_site_code",)
PURGE_EVERY = 3600          # seconds between two purges of the exports folder
_last_purge = 0.0           # per process: each web process purges at most once an hour


def export_table(kind_name: str, user) -> tuple[list[str], object]:
    """(headers, rows) of a kind's export as ``user`` may read it; rows is an iterator."""
    kind = get_kind(kind_name)
    if kind.export_rows is None:
        raise ValueError(f"{kind_name} cannot be exported (导入专用 import only)")
    headers = list(kind.export_fields)
    operator = user is not None and role_of(user) == Role.OPERATOR
    if operator:
        headers = [h for h in headers if h not in STAFF_COLUMNS.get(kind_name, ())]
    references = [h for h in SITE_REFERENCES if h in headers] if operator else []
    visible = _visible_sites(user) if references else None

    def rows():
        for record in kind.export_rows(user):
            for name in references:
                if record[name] and record[name] not in visible:
                    record[name] = ""
            yield [record[h] for h in headers]

    return headers, rows()


def _visible_sites(user) -> set[str]:
    site = apps.get_model("sites", "Site")    # named, not imported: sites stands above

    return set(scoped(user, site.objects.all()).values_list("site_code", flat=True))


def counted(rows, progress, every: int = 1000):
    """``rows`` passed through, ``progress(n)`` told the running count every ``every`` rows
    and at the end (a download's progress bar, on the page or in the terminal)."""
    n = 0
    for n, row in enumerate(rows, 1):
        if n % every == 0:
            progress(n)
        yield row
    progress(n)


def write_job_file(job_id: int, filename: str, headers, rows, sheet: str = "data",
                   progress=None) -> Path:
    """Write a background download (``ExportJob``) to the exports folder, where the
    retention purge removes it later; ``progress(rows written)`` as it goes."""
    folder = exports_dir() / "jobs" / f"{job_id}-{secrets.token_hex(8)}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    if progress:
        rows = counted(rows, progress)
    try:
        write_table(target, [str(h) for h in headers], rows,
                    **({"sheet": sheet} if target.suffix == ".xlsx" else {}))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def export_kind(kind_name: str, user, fmt: str = "csv", output: Path | None = None,
                progress=None) -> int:
    """Write a kind's export to ``output`` (standard output: CSV); ``progress(rows)``."""
    headers, rows = export_table(kind_name, user)
    if progress:
        rows = counted(rows, progress)
    if output is None:
        if fmt != "csv":
            raise ValueError("XLSX needs --output FILE")
        return write_csv(sys.stdout, headers, rows)
    output = Path(output)
    if output.suffix.lower() != f".{fmt}":
        output = output.with_suffix(f".{fmt}")
    return write_table(output, headers, rows)


def write_template(kind_name: str, output) -> object:
    """An empty file with the Chinese headers (required ones marked *); ``output`` is a
    path or a binary stream (then XLSX)."""
    kind = get_kind(kind_name)
    if not kind.importable:
        raise ValueError(f"{kind_name} is not an import kind (仅导出 export only)")
    headers = [f.zh + ("*" if f.required else "") for f in kind.schema.fields]
    if isinstance(output, str | Path):
        write_table(Path(output), headers, [])
    else:
        write_xlsx(output, headers, [])
    return output


# ---- downloads --------------------------------------------------------------------------------

def exports_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def download(name: str, headers, rows, sheet: str = "data") -> FileResponse:
    """``rows`` under ``headers`` as the file ``name`` (.xlsx or .csv), streamed from an
    unnamed temporary file that disappears when the response is closed."""
    purge_exports()
    handle = tempfile.TemporaryFile(dir=exports_dir())
    try:
        if name.lower().endswith(".csv"):
            text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
            write_csv(text, [str(h) for h in headers], rows)
            text.flush()
            text.detach()
        else:
            write_xlsx(handle, [str(h) for h in headers], rows, sheet=sheet)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return FileResponse(handle, as_attachment=True, filename=name)


def download_kind(kind_name: str, user, fmt: str) -> FileResponse:
    headers, rows = export_table(kind_name, user)
    return download(f"{kind_name}.{fmt}", headers, rows, sheet=kind_name)


def download_template(kind_name: str) -> FileResponse:
    handle = tempfile.TemporaryFile(dir=exports_dir())
    write_template(kind_name, handle)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"{kind_name}_template.xlsx")


def purge_exports(now: float | None = None, force: bool = False) -> int:
    """Delete files in the exports folder older than the retention period (and the folders
    they leave empty); at most once per ``PURGE_EVERY`` in a process unless ``force``.
    Returns how many files went."""
    global _last_purge
    folder = exports_dir()
    now = time.time() if now is None else now
    if not force and now - _last_purge < PURGE_EVERY:
        return 0
    _last_purge = now
    cutoff = now - settings.TOWERLEDGER_EXPORT_RETENTION_HOURS * 3600
    removed = 0
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        except OSError:
            continue        # a file another request is writing or has just removed
    return removed
