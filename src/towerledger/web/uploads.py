"""Uploads: a size per kind (imports, reconciliation, dispute evidence), the type judged by the
content's first bytes rather than the name alone, and a spreadsheet measured against the
reading limits (importers/limits.py) before anything reads it — a refused file gets a
bilingual message naming it and the reason, and the process never meets the file's reader.

``RequestSizeLimitMiddleware`` turns a request body larger than the largest kind away
(413) before Django spools it to disk."""

from pathlib import Path

from django.conf import settings
from django.http import HttpResponse

from towerledger.importers.limits import Limits, UnreadableFile, size_text
from towerledger.importers.reader import ZIP_MAGIC, decode_text, read_csv_rows
from towerledger.importers.workbook import check_workbook

MAGIC = {"pdf": (b"%PDF-",), "png": (b"\x89PNG\r\n\x1a\n",), "jpeg": (b"\xff\xd8\xff",),
         "xlsx": (ZIP_MAGIC,)}
ATTACHMENT_TYPES = {".pdf": "pdf", ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg",
                    ".xlsx": "xlsx", ".csv": "csv"}
MULTIPART_SLACK = 1024 * 1024      # form fields and multipart boundaries around the file


def say(zh: str, en: str) -> str:
    return f"{zh} / {en}"


def screen(upload, limit: int, types: dict[str, str], too_big: tuple[str, str],
           wrong_type: tuple[str, str]) -> tuple[str, str | None, str | None]:
    """The first checks every upload gets: (its name, its kind, or None with why it is
    refused) — size against ``limit``, extension among ``types``, and the first bytes
    matching the kind. ``too_big`` and ``wrong_type`` are the messages' Chinese and English
    templates, with {name} and {size}."""
    name = Path(upload.name or "").name
    if upload.size > limit:
        return name, None, say(*(t.format(name=name, size=size_text(limit)) for t in too_big))
    kind = types.get(Path(name).suffix.lower())
    if kind is None:
        return name, None, say(*(t.format(name=name) for t in wrong_type))
    head = upload.read(4096)
    upload.seek(0)
    if not content_matches(kind, head):
        return name, kind, ""
    return name, kind, None


def content_matches(kind: str, head: bytes) -> bool:
    if kind == "csv":      # text: no NUL byte, not a zip (UTF-16 files start with a BOM)
        return not head.startswith(ZIP_MAGIC) and (
            b"\x00" not in head or head.startswith((b"\xff\xfe", b"\xfe\xff")))
    return head.startswith(MAGIC[kind])


def check_spreadsheet(upload, name: str, kind: str, limits: Limits | None = None) -> str | None:
    """Measure an uploaded XLSX or CSV against the reading limits without reading it into
    rows (XLSX) or keeping them (CSV); the refusal's message, or None."""
    limits = limits or Limits.from_settings()
    try:
        if kind == "xlsx":
            path = getattr(upload, "temporary_file_path", None)
            check_workbook(path() if path else upload.file, name, limits)
        else:
            upload.seek(0)
            data = upload.read(limits.file_bytes + 1)
            upload.seek(0)
            text, _ = decode_text(data)
            read_csv_rows(text, name, limits)
    except UnreadableFile as exc:
        return say(exc.zh, exc.en)
    return None


def check_attachment(upload) -> str | None:
    """Why a dispute attachment is refused, or None: size, type by extension and content
    (PDF, PNG, JPEG, XLSX, CSV), and a spreadsheet within the reading limits."""
    name, kind, problem = screen(
        upload, settings.ATTACHMENT_MAX_BYTES, ATTACHMENT_TYPES,
        ("附件超过 {size}：{name}", "the attachment {name} is larger than {size}"),
        ("附件只能是 PDF、JPG、PNG、XLSX 或 CSV 文件：{name}",
         "attach a PDF, JPG, PNG, XLSX or CSV file, not {name}"))
    if problem == "":
        return say(f"附件内容与类型不符：{name}",
                   f"the content of the attachment {name} does not match its type")
    if problem is None and kind in ("xlsx", "csv"):
        return check_spreadsheet(upload, name, kind)
    return problem


def largest_upload() -> int:
    return max(settings.UPLOAD_MAX_BYTES, getattr(settings, "RECONCILE_UPLOAD_MAX_BYTES", 0),
               getattr(settings, "ATTACHMENT_MAX_BYTES", 0))


class RequestSizeLimitMiddleware:
    """Refuse a body larger than the largest upload allowed, from its Content-Length,
    before Django reads (and spools to disk) any of it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = largest_upload() + MULTIPART_SLACK
        if length > limit:
            text = say(f"上传内容 {size_text(length)} 超过上限 {size_text(limit)}",
                       f"the upload of {size_text(length)} is larger than the limit of "
                       f"{size_text(limit)}")
            return HttpResponse(text, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

