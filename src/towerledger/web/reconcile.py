"""电子化对账 Electronic reconciliation (DOMAIN.md §2 steps 7–8): an operator uploads its own
ledger of our lines (its file, its columns) and sees it side by side with ours: matched,
amount differs, only ours, only theirs, with counts and totals, and downloads the comparison.

The first time, the page shows the file's headers and asks which column holds our line id
(明细编号, "L123"), which the amount and, optionally, which the month; the answer is kept
per operator (``ColumnMapping``) and offered again next time. Staff (province admin, city
clerk) run it on behalf of an operator they choose; only that operator's lines in their
scope are compared, so another operator's line id is "only theirs" and nothing of it shows.

The uploaded file lives only for the request (a temporary file), at most
RECONCILE_UPLOAD_MAX_BYTES, and is measured against the reading limits (importers/limits.py:
sheet extent, decompressed size, rows, columns, field length) before it is read; a bad file (non-numeric
amount, missing id, unreadable month, a line id twice) is refused with every bad row and
column named in Chinese and English, and nothing is stored. The comparison's XLSX is written
with the exports' formula-safe writer and served only to the session that made it.
"""

import re
import secrets
import tempfile
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from towerledger.access.models import Role
from towerledger.access.scope import role_of
from towerledger.collection import services
from towerledger.collection.models import ColumnMapping
from towerledger.domain.params import ID
from towerledger.exchange.files import write_table
from towerledger.importers.reader import UnreadableFile, read_table
from towerledger.org.models import Operator
from towerledger.web.context import CLERKS
from towerledger.web.imports import check_upload
from towerledger.web.params import parse_month as month_of
from towerledger.web.tables import roles
from towerledger.web.uploads import say

ZERO = Decimal("0.00")
WHO = (Role.OPERATOR, *CLERKS)
FIELDS = ("line_id", "amount", "month")        # our fields, in the order the form asks them
POST_NAMES = {"line_id": "col_line", "amount": "col_amount", "month": "col_month"}
GUESSES = {   # header names operators use, tried in order (exact, then contained)
    "line_id": ("明细编号", "分摊明细编号", "铁塔明细编号", "line_id", "明细id", "明细号"),
    "amount": ("金额", "应收金额", "应付金额", "电费金额", "结算金额", "receivable", "amount"),
    "month": ("月份", "账期", "所属月份", "结算月份", "month"),
}
SECTIONS = ("matched", "differs", "only_ours", "only_theirs")
SHOWN = 1000            # rows shown per section on the page; the XLSX has them all
MAX_ERRORS = 200        # bad rows listed on the page
SESSION_KEY = "reconcile_xlsx"
MONTH_TEXT = re.compile(r"^(\d{4})\s*(?:[-/.年]\s*(\d{1,2})|(\d{2}))(?:\D.*)?$")
AMOUNT_NOISE = str.maketrans("", "", ",，¥￥元 \u00a0")


def section_labels():
    return {"matched": _("Matched"), "differs": _("Amount differs"),
            "only_ours": _("Only in our ledger"), "only_theirs": _("Only in your ledger")}


class RowProblem(Exception):
    def __init__(self, zh, en):
        super().__init__(en)
        self.zh, self.en = zh, en


# ---- reading their file -----------------------------------------------------------------

def read_upload(upload):
    """The upload as a ``Table``, through a temporary file removed before returning."""
    suffix = Path(upload.name or "").suffix.lower()
    with tempfile.TemporaryDirectory(prefix="reconcile-") as folder:
        path = Path(folder) / f"ledger{suffix}"
        with path.open("wb") as f:
            for chunk in upload.chunks():
                f.write(chunk)
        return read_table(path, Path(upload.name).name)


def parse_amount(value) -> Decimal:
    if isinstance(value, bool):
        raise RowProblem(f"金额 {value} 不是数字", f"amount {value} is not a number")
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, float):
        d = Decimal(repr(value))
        q = d.quantize(Decimal("0.01"))
        return q if abs(d - q) < Decimal("1e-9") else d   # spreadsheet float noise
    text = str(value).translate(AMOUNT_NOISE)
    negative = text.startswith("(") and text.endswith(")")
    try:
        d = Decimal(text.strip("()"))
    except InvalidOperation:
        raise RowProblem(f"金额“{value}”不是数字", f'amount "{value}" is not a number') from None
    if not d.is_finite():
        raise RowProblem(f"金额“{value}”不是数字", f'amount "{value}" is not a number')
    return -d if negative else d


def parse_month(value) -> date:
    if isinstance(value, datetime):
        return value.date().replace(day=1)
    if isinstance(value, date):
        return value.replace(day=1)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    match = MONTH_TEXT.match(str(value).strip())
    if match:
        month = int(match.group(2) or match.group(3))
        if 1 <= month <= 12:
            return date(int(match.group(1)), month, 1)
    raise RowProblem(f"月份“{value}”无法识别（如 2024-05）",
                     f'month "{value}" is not a month (e.g. 2024-05)')


def cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def their_rows(table, mapping: dict, month: date | None):
    """``(pairs, errors)``: (line id, amount) of each row (of ``month`` when the file has a
    month column), and every bad row as (row, column, zh, en)."""
    index = {}
    for i, h in enumerate(table.headers):
        index.setdefault(h, i)
    cols = {f: index[mapping[f]] for f in FIELDS if mapping.get(f)}
    pairs, errors, seen = [], [], {}

    def cell(row, f):
        i = cols[f]
        return row[i] if i < len(row) else None

    for n, row in enumerate(table.rows, start=2):
        key = cell_text(cell(row, "line_id"))
        raw = cell(row, "amount")
        if not key and cell_text(raw) == "":
            continue                               # a blank row
        if not key:
            errors.append((n, mapping["line_id"], "明细编号为空", "the line id is empty"))
            continue
        try:
            if cell_text(raw) == "":
                raise RowProblem("金额为空", "the amount is empty")
            amount = parse_amount(raw)
        except RowProblem as e:
            errors.append((n, mapping["amount"], e.zh, e.en))
            continue
        if "month" in cols:
            try:
                their_month = parse_month(cell(row, "month"))
            except RowProblem as e:
                errors.append((n, mapping["month"], e.zh, e.en))
                continue
            if month and their_month != month:
                continue
        norm = services.line_key(key)
        if norm in seen:
            errors.append((n, mapping["line_id"],
                           f"明细编号 {key} 重复（第 {seen[norm]} 行已有）",
                           f"line id {key} appears twice (row {seen[norm]} too)"))
            continue
        seen[norm] = n
        pairs.append((key, amount))
    return pairs, errors


# ---- mapping ----------------------------------------------------------------------------

def guess(headers) -> dict:
    lowered = {h.lower(): h for h in reversed(headers) if h}
    out = {}
    for f, names in GUESSES.items():
        found = next((lowered[n.lower()] for n in names if n.lower() in lowered), None)
        if found is None:
            found = next((h for n in names for h in headers if h and n.lower() in h.lower()),
                         None)
        out[f] = found or ""
    return out


def saved_mapping(operator) -> dict:
    found = ColumnMapping.objects.filter(operator=operator).first()
    return dict(found.mapping) if found else {}


def fits(mapping: dict, headers) -> bool:
    return bool(mapping.get("line_id") and mapping.get("amount")) and all(
        not mapping.get(f) or mapping[f] in headers for f in FIELDS)


def chosen_mapping(post) -> dict | None:
    """The mapping the form sends, or None when the form sent none."""
    if POST_NAMES["line_id"] not in post:
        return None
    return {f: post.get(POST_NAMES[f], "").strip() for f in FIELDS}


# ---- comparing --------------------------------------------------------------------------

def pk_of(key: str) -> int | None:
    return int(key[1:]) if key.startswith("L") and ID.fullmatch(key[1:]) else None


def sort_key(row):
    pk = pk_of(row[0])
    return (0, pk, "") if pk is not None else (1, 0, row[0])


def summary(comparison) -> list[dict]:
    t = comparison.totals()
    labels = section_labels()
    rows = [
        {"key": "matched", "count": t["matched"][0], "ours": t["matched"][1],
         "theirs": t["matched"][1]},
        {"key": "differs", "count": t["differs"][0], "ours": t["differs"][1],
         "theirs": t["differs"][2]},
        {"key": "only_ours", "count": t["only_ours"][0], "ours": t["only_ours"][1],
         "theirs": ZERO},
        {"key": "only_theirs", "count": t["only_theirs"][0], "ours": ZERO,
         "theirs": t["only_theirs"][1]},
    ]
    for r in rows:
        r["label"], r["diff"] = labels[r["key"]], r["theirs"] - r["ours"]
    total = {"key": "total", "label": _("Total"), "count": sum(r["count"] for r in rows),
             "ours": sum((r["ours"] for r in rows), ZERO),
             "theirs": sum((r["theirs"] for r in rows), ZERO)}
    total["diff"] = total["theirs"] - total["ours"]
    return [*rows, total]


def flat_rows(comparison, written=None):
    """(section, line id, ours, theirs, theirs − ours) of every row, section by section;
    an id only they have is shown as they wrote it (``written``: our key → theirs)."""
    written = written or {}
    for key, ours, theirs in sorted(comparison.matched, key=sort_key):
        yield "matched", key, ours, theirs, theirs - ours
    for key, ours, theirs in sorted(comparison.differs, key=sort_key):
        yield "differs", key, ours, theirs, theirs - ours
    for key, ours in sorted(comparison.only_ours, key=sort_key):
        yield "only_ours", key, ours, None, -ours
    for key, theirs in sorted(comparison.only_theirs, key=sort_key):
        yield "only_theirs", written.get(key, key), None, theirs, theirs


def sections(comparison, written=None) -> list[dict]:
    labels = section_labels()
    out = {k: {"key": k, "label": labels[k], "rows": [], "count": 0} for k in SECTIONS}
    for name, key, ours, theirs, diff in flat_rows(comparison, written):
        s = out[name]
        s["count"] += 1
        if len(s["rows"]) < SHOWN:
            pk = pk_of(key) if name != "only_theirs" else None
            s["rows"].append({"id": key, "url": reverse("line", args=[pk]) if pk else None,
                              "ours": ours, "theirs": theirs, "diff": diff})
    for s in out.values():
        s["more"] = s["count"] - len(s["rows"])
    return list(out.values())


XLSX_HEADERS = ["category", "类别", "line_id", "our_amount", "their_amount", "difference"]
ZH = {"matched": "一致", "differs": "金额不一致", "only_ours": "仅我方有", "only_theirs": "仅对方有"}


def write_comparison(request, comparison, operator, month, written=None) -> None:
    """The whole comparison as XLSX (formula-safe), remembered for this session only."""
    previous = request.session.pop(SESSION_KEY, None)
    if previous:
        Path(previous["path"]).unlink(missing_ok=True)
    folder = settings.DATA_DIR / "exports" / secrets.token_hex(8)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"reconcile-{operator.code}-{month:%Y-%m}.xlsx" if month else \
        f"reconcile-{operator.code}.xlsx"
    path = folder / name
    rows = ((s.upper(), ZH[s], key, ours, theirs, diff)
            for s, key, ours, theirs, diff in flat_rows(comparison, written))
    write_table(path, XLSX_HEADERS, rows, sheet="reconciliation")
    request.session[SESSION_KEY] = {"path": str(path), "name": name}


# ---- the page -----------------------------------------------------------------------------

def _operators(request):
    if role_of(request.user) == Role.OPERATOR:
        return None
    return list(Operator.objects.order_by("code"))


def _operator(request):
    """The operator whose ledger this is: the user's own, or the one staff chose."""
    if role_of(request.user) == Role.OPERATOR:
        return request.user.profile.operator
    code = (request.POST.get("operator") or request.GET.get("operator") or "").strip()
    return Operator.objects.filter(code=code).first() if code else None


def _month(text: str):
    """The month typed into the form; a ValueError (``BadParameter``) when it is not one."""
    text = (text or "").strip()
    return month_of(text) if text else None


def _context(request, **extra):
    operator = extra.pop("operator", None) or _operator(request)
    saved = saved_mapping(operator) if operator else {}
    return {"title": _("Electronic reconciliation"), "operators": _operators(request),
            "operator": operator, "month": request.POST.get("month", ""), "saved": saved,
            "saved_list": [(field_labels()[f], saved[f]) for f in FIELDS if saved.get(f)],
            **extra}


def field_labels():
    return {"line_id": _("Our line id (明细编号, e.g. L123)"), "amount": _("Amount"),
            "month": _("Month (optional)")}


def mapping_form(headers, preset: dict) -> list[dict]:
    return [{"field": f, "name": POST_NAMES[f], "label": field_labels()[f],
             "value": preset.get(f, ""), "required": f != "month"} for f in FIELDS]


@roles(*WHO)
def reconcile(request):
    if request.method != "POST":
        return render(request, "web/reconcile.html", _context(request))
    operator = _operator(request)
    upload = request.FILES.get("file")
    problem = (_("Choose the operator.") if operator is None else
               _("Choose a file.") if upload is None else
               check_upload(upload, settings.RECONCILE_UPLOAD_MAX_BYTES))
    try:
        month = _month(request.POST.get("month"))
    except ValueError:
        problem = problem or _("The month is not a month (e.g. 2024-05).")
    if problem:
        return render(request, "web/reconcile.html", _context(request, problem=problem),
                      status=400)
    try:
        table = read_upload(upload)
    except UnreadableFile as exc:
        return render(request, "web/reconcile.html", _context(
            request, operator=operator, problem=say(exc.zh, exc.en),
            errors=[{"row": "", "column": "", "zh": exc.zh, "en": exc.en}]), status=400)
    headers = [h for h in table.headers if h]
    saved = saved_mapping(operator)
    chosen = chosen_mapping(request.POST)
    remap = bool(request.POST.get("remap"))
    if chosen is not None:   # the form's columns win (the page asked, or htmx filled them)
        mapping = chosen
        missing = [f for f in ("line_id", "amount") if not mapping[f]]
        unknown = [mapping[f] for f in FIELDS if mapping[f] and mapping[f] not in headers]
        if missing or unknown:
            text = (_("Choose the column of each field.") if missing else
                    _("The file has no column %(names)s.") % {"names": "、".join(unknown)})
            return ask(request, operator, table, mapping, text)
    elif saved and not remap and fits(saved, headers):
        mapping = saved
    else:   # first time, asked to change, or the saved columns are not in this file
        text = (_("The saved column mapping does not fit this file's headers; choose the "
                  "columns again.") if saved and not remap else None)
        return ask(request, operator, table,
                   saved if fits(saved, headers) else guess(headers), text)
    pairs, errors = their_rows(table, mapping, month)
    if errors:
        return render(request, "web/reconcile.html", _context(
            request, operator=operator, mapping=mapping,
            problem=_("The file was not compared: %(n)d rows are wrong. Nothing was "
                      "stored.") % {"n": len(errors)},
            errors=[{"row": r, "column": c, "zh": zh, "en": en}
                    for r, c, zh, en in errors[:MAX_ERRORS]],
            more_errors=max(0, len(errors) - MAX_ERRORS)), status=400)
    comparison = services.reconcile(request.user, pairs, month, operator_id=operator.pk)
    if saved != mapping:
        ColumnMapping.objects.update_or_create(operator=operator,
                                               defaults={"mapping": mapping})
    written = {services.line_key(k): k for k, _amount in pairs}
    write_comparison(request, comparison, operator, month, written)
    return render(request, "web/reconcile.html", _context(
        request, operator=operator, mapping=mapping, filename=table.name,
        summary=summary(comparison), sections=sections(comparison, written), compared=True,
        theirs_count=len(pairs)))


def ask(request, operator, table, preset, text=None):
    """Show the file's headers and a few rows, and ask which column is which."""
    return render(request, "web/reconcile.html", _context(
        request, operator=operator, asking=True, problem=text, filename=table.name,
        headers=[h for h in table.headers if h], sample=[
            [cell_text(v) for v in row] for row in table.rows[:5]],
        all_headers=table.headers, mapping_fields=mapping_form(table.headers, preset)))


@require_POST
@roles(*WHO)
def columns(request):
    """htmx: the mapping selects for the chosen file, pre-filled (saved mapping or a guess),
    so the file is chosen once and compared with the same form."""
    operator = _operator(request)
    upload = request.FILES.get("file")
    problem = (_("Choose the operator.") if operator is None else
               _("Choose a file.") if upload is None else
               check_upload(upload, settings.RECONCILE_UPLOAD_MAX_BYTES))
    table = None
    if not problem:
        try:
            table = read_upload(upload)
        except UnreadableFile as exc:
            problem = say(exc.zh, exc.en)
    if problem:
        return render(request, "web/_reconcile_mapping.html", {"problem": problem})
    headers = [h for h in table.headers if h]
    saved = saved_mapping(operator)
    preset = saved if fits(saved, headers) else guess(headers)
    return render(request, "web/_reconcile_mapping.html", {
        "headers": headers, "mapping_fields": mapping_form(headers, preset),
        "sample": [[cell_text(v) for v in row] for row in table.rows[:3]],
        "all_headers": table.headers, "remembered": bool(saved) and preset == saved})


@roles(*WHO)
def download(request):
    """The comparison this session made last, as XLSX."""
    found = request.session.get(SESSION_KEY)
    exports = (settings.DATA_DIR / "exports").resolve()
    if not found:
        raise Http404
    path = Path(found["path"]).resolve()
    if exports not in path.parents or not path.exists():
        raise Http404
    return FileResponse(path.open("rb"), as_attachment=True, filename=found["name"])
