"""Import schemas: canonical English field names, Chinese headers, and typed parsing of
rows with every error collected (row, column, reason in Chinese and English)."""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from functools import partial
from operator import itemgetter

from towerledger.domain.codes import ZH
from towerledger.importers import values as v

FIRST_DATA_ROW = 2  # spreadsheet row number of the first row after the header


@dataclass(frozen=True)
class RowError:
    """One problem in one row (``row`` as the user sees it in Excel; 0 = the whole file)."""

    row: int
    column: str
    zh: str
    en: str

    def text(self) -> str:
        where = f"[{self.column}] " if self.column else ""
        return f"{where}{self.zh} / {self.en}"


@dataclass(frozen=True)
class Field:
    name: str
    zh: str
    parse: Callable
    required: bool = True
    aliases: tuple[str, ...] = ()

    def headers(self) -> set[str]:
        return {normalise_header(h) for h in (self.name, self.zh, *self.aliases)}


@dataclass(frozen=True)
class Schema:
    kind: str
    zh: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # natural key: rows repeating it in one file are an error
    notes: tuple[str, ...] = field(default=())
    # other columns no two rows of a file may share (empty cells aside), e.g. a payment
    # reference; the row repeating one is an error (and, like a repeated key, not checked
    # further)
    unique: tuple[str, ...] = ()

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def normalise_header(h: str) -> str:
    """Case and spaces ignored; a trailing unit in brackets such as '(元)' or '（%）' too."""
    s = re.sub(r"\s+", "", str(h or "")).lower().replace("（", "(").replace("）", ")")
    s = re.sub(r"\(.*\)$", "", s).strip("*")
    return s


# Chinese spellings users type for codes, on top of each code's own name.
_ENUM_ALIASES = {zh: code for code, zh in ZH.items()} | {
    "移动": "CMCC", "联通": "CUCC", "电信": "CTCC", "广电": "CBN", "其他": "OTHER",
    "直供": "DIRECT", "转供": "RESUPPLY", "电业局": "GRID", "电网": "GRID",
    "普通发票": "GENERAL", "增值税普通发票": "GENERAL", "无票": "RECEIPT",
    "专票": "SPECIAL_13", "平均": "EQUAL", "均分": "EQUAL",
}


def enum(e: type[StrEnum]) -> Callable:
    names = {m.value for m in e}
    return partial(v.parse_enum, enum=e,
                   aliases={k: c for k, c in _ENUM_ALIASES.items() if c in names})


def dec(places: int, minimum: str | None = "0", maximum: str | None = None,
        digits: int | None = None, percent: bool = False) -> Callable:
    return partial(v.parse_decimal, places=places,
                   minimum=None if minimum is None else Decimal(minimum),
                   maximum=None if maximum is None else Decimal(maximum),
                   digits=digits, percent=percent)


def dec_of(model, field_name: str, minimum: str | None = "0", maximum: str | None = None,
           percent: bool = False) -> Callable:
    """The parser for a column stored in ``model.field_name`` (a DecimalField): its decimal
    places and total digits come from the model, so the file cannot hold a value the
    database cannot (the one place the limits are written down)."""
    f = model._meta.get_field(field_name)
    return dec(f.decimal_places, minimum, maximum, digits=f.max_digits, percent=percent)


def integer(minimum: int | None = None, maximum: int | None = None) -> Callable:
    return partial(v.parse_int, minimum=minimum, maximum=maximum)


# Identifier columns (DOMAIN codes): letters, digits, '-', '_' and '.'; some columns also
# take what the business writes in them (see docs/import-formats.md, "Codes"). '/' is
# refused where the code becomes part of a URL (a site's page is /sites/<site_code>/).
CODE_CHARS = {
    "plain": (r"A-Za-z0-9_.\-", "字母、数字、- _ .", "letters, digits, - _ ."),
    "chinese": (r"A-Za-z0-9_.\-\u4e00-\u9fff",
                "字母、数字、汉字、- _ .", "letters, digits, Chinese characters, - _ ."),
    "reference": (r"A-Za-z0-9_.\-/#", "字母、数字、- _ . / #", "letters, digits, - _ . / #"),
}


def code_of(chars: str = "plain", longest: int = 40) -> Callable:
    """A code column accepting ``CODE_CHARS[chars]``, at most ``longest`` characters."""
    allowed, zh, en = CODE_CHARS[chars]
    pattern = re.compile(f"[{allowed}]+")

    def parse(cell) -> str:
        if cell.__class__ is str and len(cell) <= longest and pattern.fullmatch(cell):
            return cell    # already clean: no spaces or control characters in ``allowed``
        s = v.clean_text(cell)
        if len(s) > longest:
            raise v.BadValue(f"编码超过 {longest} 个字符", f"code longer than {longest} characters")
        if not pattern.fullmatch(s):
            bad = next(c for c in s if not pattern.fullmatch(c))
            raise v.BadValue(f"编码含不允许的字符「{bad}」（只允许{zh}）",
                             f"code contains {bad!r}, not allowed (only {en})")
        return s

    parse.chars = chars
    parse.longest = longest
    return parse


code = code_of("plain")


def name(cell) -> str:
    s = v.clean_text(cell)
    if len(s) > 120:
        raise v.BadValue("名称超过 120 个字符", "name longer than 120 characters")
    return s


def org_name(cell) -> str:
    """A province, city or county name (the organisation tables hold 40 characters)."""
    s = name(cell)
    if len(s) > 40:
        raise v.BadValue("名称超过 40 个字符", "name longer than 40 characters")
    return s


def text_cell(cell) -> str:
    """Export-only columns: any text without control characters."""
    return v.clean_text(cell)


date = v.parse_date


def yes_no(cell) -> bool:
    s = v.clean_text(cell).lower()
    if s in ("1", "true", "yes", "y", "是", "√"):
        return True
    if s in ("0", "false", "no", "n", "否", ""):
        return False
    raise v.BadValue(f"应为 是/否：{s}", f"expected yes/no: {s}")


def _filled(row) -> bool:
    """Any cell of the row holds something (a blank row is no row of the file)."""
    first = row[0] if row else None
    if first.__class__ is str and first and not first[0].isspace():
        return True    # the common case, at once
    return not all(c is None or (isinstance(c, str) and not c.strip()) for c in row)


def map_columns(schema: Schema, headers: list[str]) -> tuple[dict[str, int], list[RowError]]:
    """Index of each field's column; missing required, unknown and repeated columns are errors."""
    lookup = {h: f.name for f in schema.fields for h in f.headers()}
    index: dict[str, int] = {}
    errors = []
    for i, header in enumerate(headers):
        if not header:
            continue
        fname = lookup.get(normalise_header(header))
        if fname is None:
            errors.append(RowError(1, header, f"无法识别的列名「{header}」",
                                   f"unknown column '{header}'"))
        elif fname in index:
            errors.append(RowError(1, header, f"列「{header}」重复", f"column '{header}' repeated"))
        else:
            index[fname] = i
    for f in schema.fields:
        if f.required and f.name not in index:
            errors.append(RowError(1, f.zh, f"缺少必需的列「{f.zh}」({f.name})",
                                   f"missing required column {f.name} ({f.zh})"))
    return index, errors


class SeenKeys:
    """The keys of a file's rows seen so far, each with the row it was first seen on (in
    memory; a streamed import on PostgreSQL keeps them in a temporary table instead,
    ``db.bulk.FileKeys``, so a file of any length is judged in bounded memory)."""

    def __init__(self):
        self._first: dict[tuple, int] = {}

    def first_rows(self, items: list[tuple[tuple, int]]) -> list[int | None]:
        """For each (key, row) in row order: the earlier row with that key, or None."""
        out = []
        for key, row in items:
            first = self._first.setdefault(key, row)
            out.append(None if first == row else first)
        return out


def seen_keys(schema: Schema, factory=SeenKeys) -> dict[tuple[str, ...], object]:
    """One ``SeenKeys`` (or ``factory()``) per set of columns a file's rows may not repeat:
    the schema's key, and each of its ``unique`` columns."""
    return {schema.key: factory(), **{(u,): factory() for u in schema.unique}}


def parse_rows(schema: Schema, headers: list[str], rows: Iterable[list],
               partial: list[dict] | None = None, start: int = FIRST_DATA_ROW,
               seen: dict | None = None) -> tuple[list[dict], list[RowError]]:
    """Typed records (each with ``_row``) and every error of every row: each column of a
    row is parsed, whatever the others hold.

    ``partial``, when given, receives the records of the rows that failed, their bad or
    empty fields None and named in ``_bad``: the caller may still check the rest of such a
    row against the database, so one bad column does not hide another row problem.

    A streamed file comes in parts: ``start`` is the spreadsheet row of the part's first
    row, and ``seen`` (``seen_keys``) carries the keys of the parts before."""
    index, errors = map_columns(schema, headers)
    if errors:
        return [], errors
    if seen is None:
        seen = seen_keys(schema)
    records = []
    label = {f.name: headers[index[f.name]] for f in schema.fields if f.name in index}
    # (a pure parser's value of a cell seen before is remembered: codes, dates and names of
    # cities repeat down a column; values are immutable)
    fields = [(f, f.name, index.get(f.name), {} if _pure(f.parse) else None)
              for f in schema.fields]
    for offset, row in enumerate(rows):
        rowno = offset + start
        if not _filled(row):
            continue
        record = {"_row": rowno}
        bad = set()
        width = len(row)
        for f, fname, i, memo in fields:
            cell = row[i] if i is not None and i < width else None
            if memo is not None and cell.__class__ is str:
                known = memo.get(cell, _UNSEEN)
                if known is not _UNSEEN:
                    record[fname] = known
                    continue
            if cell is None or (cell.__class__ is str and not cell.strip()):
                record[fname] = None
                if f.required:
                    errors.append(RowError(rowno, label.get(fname, f.zh),
                                           "必填项为空", "required value is empty"))
                    bad.add(fname)
                continue
            try:
                value = record[fname] = f.parse(cell)
            except v.BadValue as exc:
                errors.append(RowError(rowno, label[fname], exc.zh, exc.en))
                record[fname] = None
                bad.add(fname)
                continue
            if memo is not None and cell.__class__ is str and len(memo) < MEMO_CELLS:
                memo[cell] = value
        if bad and partial is not None:
            partial.append(record | {"_bad": bad | {label.get(n, n) for n in bad}})
        if not bad:
            records.append(record)
    return _repeats(schema, records, errors, label, seen), errors


_UNSEEN = object()


def _repeats(schema, records, errors, label, seen) -> list[dict]:
    """Drop the records repeating an earlier row's key or ``unique`` column (an error
    each)."""
    firsts = seen[schema.key].first_rows([(tuple(r[k] for k in schema.key), r["_row"])
                                          for r in records])
    kept = []
    for r, first in zip(records, firsts, strict=True):
        if first is None:
            kept.append(r)
            continue
        key = tuple(r[k] for k in schema.key)
        errors.append(RowError(
            r["_row"], label.get(schema.key[0], schema.key[0]),
            f"与第 {first} 行重复（{'/'.join(map(str, key))}）",
            f"duplicates row {first} ({'/'.join(map(str, key))})"))
    for column in schema.unique:
        f = schema.field(column)
        given = [r for r in kept if r[column] is not None]
        firsts = seen[(column,)].first_rows([((r[column],), r["_row"]) for r in given])
        repeated = set()
        for r, first in zip(given, firsts, strict=True):
            if first is not None:
                errors.append(RowError(r["_row"], column,
                                       f"{f.zh} {r[column]} 与第 {first} 行重复",
                                       f"{column} {r[column]} repeats row {first}"))
                repeated.add(r["_row"])
        # (a streamed file's earlier parts are stored: checked against the database, the
        # repeat would also read as "already used")
        kept = [r for r in kept if r["_row"] not in repeated]
    return kept


# ---- the staged import's row parser (exchange.staged) ------------------------------------

def sql_type(f: Field) -> str:
    """The PostgreSQL type of a field's parsed value in a staging table."""
    func = getattr(f.parse, "func", f.parse)
    return {v.parse_decimal: "numeric", v.parse_int: "bigint", v.parse_date: "date",
            yes_no: "boolean"}.get(func, "text")


MEMO_CELLS = 4096   # distinct cells of a column whose parsed text is remembered


def _pure(parse) -> bool:
    """Whether ``parse`` gives the same result for the same cell whatever else happened
    (the parsers of this module and ``values``): its results may be remembered."""
    func = getattr(parse, "func", parse)
    return hasattr(parse, "chars") or func in (v.parse_decimal, v.parse_int, v.parse_date,
                                               v.parse_enum, name, org_name, text_cell, yes_no)


_PLAIN_NUMBER = re.compile(r"(-?)([0-9]+)(?:\.([0-9]*))?")


def _plain_number_text(parse) -> Callable[[str], str | None] | None:
    """For a ``dec``/``dec_of`` parser: the staging text of a plain number cell (ASCII
    digits, at most the column's decimals, within its digits and far enough inside its
    limits that no arithmetic is needed to tell), written as ``parse`` would round it
    (``places`` decimals); None for any other cell, which then takes ``parse`` itself."""
    if getattr(parse, "func", None) is not v.parse_decimal:
        return None
    kw = parse.keywords
    places, digits = kw["places"], kw.get("digits")
    minimum, maximum = kw.get("minimum"), kw.get("maximum")
    fullmatch = _PLAIN_NUMBER.fullmatch

    def text(cell: str) -> str | None:
        m = fullmatch(cell)
        if m is None:
            return None
        sign, whole, frac = m.groups()
        frac = frac or ""
        if len(frac) > places or (digits is not None
                                  and len(whole.lstrip("0")) > digits - places):
            return None
        n = int(whole)
        low, high = (-n - 1, -n) if sign else (n, n + 1)   # the value lies in between
        if (minimum is not None and low < minimum) or (maximum is not None and high > maximum):
            return None
        return f"{sign}{whole}.{frac.ljust(places, '0')}" if places else f"{sign}{whole}"

    return text


def row_parser(schema: Schema, headers: list[str], to_text: Callable[[str], Callable]):
    """``parse(row, rowno, errors)``: the row as one line of ``COPY … FROM STDIN`` text —
    the row number, whether it is good (no cell error), whether it is bad, then each
    field's value in the order of ``schema.fields`` (``\\N`` when empty or unparseable) —
    or None for a blank row; its cell errors are appended to ``errors`` as (RowError,
    field name), exactly those ``parse_rows`` finds. ``to_text(sql_type)`` gives the text
    of a parsed value of that type. ``parse.types``: each field's ``sql_type``.

    A column's cells repeat (codes, dates, names of cities): the text of a plain cell a
    pure parser has seen is remembered (``MEMO_CELLS`` per column), so most cells of a
    large file cost a dictionary look-up."""
    index, errors = map_columns(schema, headers)
    if errors:
        raise ValueError("row_parser needs the columns mapped (map_columns)")
    label = {f.name: headers[index[f.name]] for f in schema.fields if f.name in index}
    types = [sql_type(f) for f in schema.fields]
    # (a code's characters need no escaping in COPY text: its value is its text)
    specs = [(f.name, index.get(f.name), f.parse,
              None if hasattr(f.parse, "chars") else to_text(t),
              {} if _pure(f.parse) else None, label.get(f.name, f.zh), f.required,
              _plain_number_text(f.parse))
             for f, t in zip(schema.fields, types, strict=True)]

    def parse(row, rowno: int, errors: list) -> str | None:
        if not _filled(row):
            return None
        out = []
        bad = False
        width = len(row)
        for fname, i, p, fmt, memo, lab, required, plain in specs:
            cell = row[i] if i is not None and i < width else None
            if cell.__class__ is str:
                known = memo.get(cell) if memo is not None else None
                if known is None and plain is not None:
                    known = plain(cell)
                    if known is not None and memo is not None and len(memo) < MEMO_CELLS:
                        memo[cell] = known
                if known is not None:
                    out.append(known)
                    continue
            if cell is None or (cell.__class__ is str and not cell.strip()):
                out.append("\\N")
                if required:
                    errors.append((RowError(rowno, lab, "必填项为空", "required value is empty"),
                                   fname))
                    bad = True
                continue
            try:
                value = p(cell)
            except v.BadValue as exc:
                errors.append((RowError(rowno, lab, exc.zh, exc.en), fname))
                out.append("\\N")
                bad = True
                continue
            text = "\\N" if value is None else value if fmt is None else fmt(value)
            if memo is not None and cell.__class__ is str and len(memo) < MEMO_CELLS:
                memo[cell] = text
            out.append(text)
        return f"{rowno}\t{'f' if bad else 't'}\t{'t' if bad else 'f'}\t" + "\t".join(out) + "\n"

    for _, _, _, _, memo, _, required, _ in specs:
        if memo is not None and not required:
            memo[""] = "\\N"   # an empty optional cell: what ``parse`` writes for it
    columns = [(*spec, _clean_column(spec[2], spec[3])) for spec in specs]
    any_required = any(f.required for f in schema.fields)

    def block(rows: list, start: int, errors: list) -> str:
        """``parse`` of each of ``rows`` (the first is spreadsheet row ``start``), as one
        COPY text, column by column: a column's cells are looked up in its memo at once,
        a code or name column is validated by one regular expression over its cells, and
        the rest are parsed cell by cell; a row with a cell that is empty where required
        or does not parse takes ``parse`` itself (its errors, its blank-row rule). The
        same lines and errors as ``parse`` row by row."""
        n = len(rows)
        if not n:
            return ""
        slow: set[int] = set()
        cols = []
        for _, i, p, fmt, memo, _, required, plain, clean in columns:
            if i is None:
                cols.append(["\\N"] * n)
                continue
            try:
                cells = list(map(itemgetter(i), rows))
            except IndexError:
                cells = [r[i] if i < len(r) else None for r in rows]
            texts = list(map(memo.get, cells)) if memo is not None else [None] * n
            if None not in texts:
                cols.append(texts)
                continue
            missing = [j for j, t in enumerate(texts) if t is None]
            if clean is not None:
                try:
                    joined = "\n".join([cells[j] for j in missing])
                except TypeError:   # a cell that is not text
                    joined = None
                if joined is not None and clean(joined + "\n"):
                    for j in missing:
                        texts[j] = cells[j]
                    cols.append(texts)
                    continue
            get = memo.get if memo is not None else {}.get
            for j in missing:
                cell = cells[j]
                if cell.__class__ is str:
                    known = get(cell)   # (seen earlier in this block)
                    if known is not None:
                        texts[j] = known
                        continue
                    if plain is not None:
                        known = plain(cell)
                        if known is not None:
                            texts[j] = known
                            if memo is not None and len(memo) < MEMO_CELLS:
                                memo[cell] = known
                            continue
                    blank = not cell.strip()
                else:
                    blank = cell is None
                if blank:
                    if required:
                        slow.add(j)
                        texts[j] = ""
                    else:
                        texts[j] = "\\N"
                    continue
                try:
                    value = p(cell)
                except v.BadValue:
                    slow.add(j)
                    texts[j] = ""
                    continue
                text = "\\N" if value is None else value if fmt is None else fmt(value)
                if memo is not None and cell.__class__ is str and len(memo) < MEMO_CELLS:
                    memo[cell] = text
                texts[j] = text
            cols.append(texts)
        if not any_required:   # a row of empty cells may be no row at all: ``parse`` says
            slow.update(j for j, t in enumerate(zip(*cols, strict=True))
                        if t.count("\\N") == len(t))
        lines = list(map("\t".join, zip([f"{r}\tt\tf" for r in range(start, start + n)],
                                         *cols, strict=True)))
        if slow:
            for j in sorted(slow):
                line = parse(rows[j], start + j, errors)
                lines[j] = None if line is None else line[:-1]
            lines = [line for line in lines if line is not None]
        return "\n".join(lines) + "\n" if lines else ""

    parse.types = types
    parse.block = block
    return parse


def _floor(x) -> int:
    return int(Decimal(x).to_integral_value(rounding=ROUND_FLOOR))


def _integers_upto(n: int) -> str:
    """A regular expression of whole numbers (ASCII digits) from 0 to ``n``; those with
    fewer digits than ``n`` may have leading zeros."""
    top = str(n)
    alternatives = [f"[0-9]{{1,{len(top) - 1}}}"] if len(top) > 1 else []
    for i, d in enumerate(top):
        if d != "0":
            alternatives.append(top[:i] + f"[0-{int(d) - 1}]" + "[0-9]" * (len(top) - i - 1))
    alternatives.append(top)
    return f"(?:{'|'.join(alternatives)})"


_NOT_TEXT = r"\x00-\x1f\x7f\\"   # control characters (tab, line breaks) and the backslash


def _clean_column(parse, fmt) -> Callable[[str], bool] | None:
    """For a code or name column: a test of its cells joined by line breaks (and one
    after the last) telling at once that every cell is already clean — what ``parse``
    would return unchanged, and its own COPY text (no character to escape) — or None."""
    chars = getattr(parse, "chars", None)
    if chars is not None:
        cell = f"[{CODE_CHARS[chars][0]}]{{1,{parse.longest}}}"
    elif getattr(parse, "func", None) is v.parse_decimal:
        # a number written with exactly the column's decimals whose whole part is within
        # the column's digits and far enough inside its limits (``_plain_number_text``:
        # such a cell is written as it is)
        kw = parse.keywords
        places, digits = kw["places"], kw.get("digits")
        minimum, maximum = kw.get("minimum"), kw.get("maximum")
        widest = 10 ** (digits - places if digits is not None else 15) - 1
        # whole parts n with n >= minimum and n + 1 <= maximum; -n - 1 >= minimum
        top = widest if maximum is None else min(widest, _floor(maximum - 1))
        if top < 0 or (minimum is not None and minimum > 1):
            return None
        whole = _integers_upto(top)
        if minimum is not None and minimum > 0:
            whole = f"(?=0*[1-9]){whole}"          # n >= 1 >= minimum
        else:
            low = widest if minimum is None else min(widest, _floor(-minimum - 1))
            if low >= top:
                whole = f"-?{whole}"
            elif low >= 0:
                whole = f"(?:{whole}|-{_integers_upto(low)})"
        cell = whole + (f"\\.[0-9]{{{places}}}" if places else "")
    else:
        longest = {name: 120, org_name: 40, text_cell: None}.get(parse, 0)
        if longest == 0 or fmt is None or fmt("名 a.1") != "名 a.1":
            return None
        edge = rf"[^\s{_NOT_TEXT}]"
        inner = "*" if longest is None else f"{{0,{longest - 2}}}"
        cell = f"{edge}(?:[^{_NOT_TEXT}]{inner}{edge})?"
    return re.compile(f"(?:{cell}\n)*").fullmatch
