"""Parse cell values into typed values; each parser raises ``BadValue`` with both languages.

Dates accept ISO (2024-05-01), 2024/5/1, 2024年5月1日, 20240501, Excel serials and
the date/datetime objects a workbook yields.
"""

import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum


class BadValue(ValueError):
    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


EXCEL_EPOCH = date(1899, 12, 30)
_DATE_PATTERNS = [
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?: 0?0:00(?::00)?)?$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


def text(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # codes typed as numbers in Excel: 12345.0 -> "12345"
    return str(cell).strip()


def parse_date(cell) -> date:
    if cell.__class__ is str and len(cell) == 10 and cell[4] == "-" == cell[7]:
        try:   # the common case, ISO: 2024-05-01 (anything else takes the patterns)
            return date.fromisoformat(cell)
        except ValueError:
            pass
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return _from_serial(cell)
    s = text(cell)
    for pattern in _DATE_PATTERNS:
        m = pattern.match(s)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            try:
                return date(y, mo, d)
            except ValueError:
                raise BadValue(f"日期不存在：{s}", f"no such date: {s}") from None
    if re.fullmatch(r"\d{5}(\.0+)?", s):
        return _from_serial(float(s))
    raise BadValue(f"无法识别的日期：{s}", f"not a date: {s}")


def _from_serial(n: float) -> date:
    if not 1 <= n < 2958466 or n != int(n):
        raise BadValue(f"无效的 Excel 日期序号：{n}", f"not an Excel date serial: {n}")
    return EXCEL_EPOCH + timedelta(days=int(n))


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(cell) -> str:
    """``text`` of a cell, refusing NUL and other control characters (tabs and line breaks
    are kept): they break exports, URLs and the database (PostgreSQL refuses NUL)."""
    s = text(cell)
    bad = _CONTROL.search(s)
    if bad:
        raise BadValue(f"含控制字符 U+{ord(bad.group()):04X}",
                       f"contains the control character U+{ord(bad.group()):04X}")
    return s


def parse_decimal(cell, places: int, minimum: Decimal | None = None,
                  maximum: Decimal | None = None, digits: int | None = None,
                  percent: bool = False) -> Decimal:
    """A number to ``places`` decimals; more decimals than that is an error, not a rounding.

    ``digits`` is the column's total digits (a DecimalField's max_digits): a value with more
    integer digits than the column holds is an error, before any arithmetic on it (1e400
    would otherwise raise InvalidOperation). A trailing ``%`` is accepted only where the
    column is itself a percentage (``percent``): 60% there means 60, its unit; in a money
    or kWh column ``100%`` is not an amount of 100.00 but an error.
    """
    if cell.__class__ is str:
        plain = _plain_decimal(cell, places, minimum, maximum, digits)
        if plain is not None:
            return plain
    if isinstance(cell, bool):
        raise BadValue(f"不是数字：{cell}", f"not a number: {cell}")
    if isinstance(cell, float):
        s = repr(cell)  # shortest repr: what the user typed in Excel, e.g. 0.1 not 0.1000…
    else:
        s = clean_text(cell).replace(",", "").replace("，", "")
    if s.endswith(("%", "％")):
        if not percent:
            raise BadValue(f"此列不接受百分号：{s}",
                           f"a percent sign is not accepted in this column: {s}")
        s = s[:-1].strip()
    shown = s if len(s) <= 40 else s[:40] + "…"
    if not _NUMBER.match(s):  # also NaN, Infinity, inf and Decimal's 1_000
        raise BadValue(f"不是数字：{shown}", f"not a number: {shown}")
    value = Decimal(s)
    if digits is not None and value and value.adjusted() + 1 > digits - places:
        top = Decimal(10) ** (digits - places) - Decimal(1).scaleb(-places)
        raise BadValue(f"超出此列的范围（最大 {top}）：{shown}",
                       f"out of range for this column (at most {top}): {shown}")
    quantum = Decimal(1).scaleb(-places)
    try:
        rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the arithmetic holds
        raise BadValue(f"数值超出范围：{shown}", f"number out of range: {shown}") from None
    if rounded != value:
        raise BadValue(f"小数位数超过 {places} 位：{shown}",
                       f"more than {places} decimal places: {shown}")
    if minimum is not None and rounded < minimum:
        raise BadValue(f"不能小于 {minimum}：{shown}", f"must be at least {minimum}: {shown}")
    if maximum is not None and rounded > maximum:
        raise BadValue(f"不能大于 {maximum}：{shown}", f"must be at most {maximum}: {shown}")
    return rounded


_PLAIN = re.compile(r"(-?)([0-9]+)(?:\.([0-9]*))?")


def _plain_decimal(s: str, places, minimum, maximum, digits) -> Decimal | None:
    """The value of a plain number (ASCII digits, at most ``places`` decimals) that is
    within every limit of ``parse_decimal``, as it would return it; None for anything else,
    which then takes the full path (and its error, if any). Most cells of a large file are
    plain: this is what makes them cheap."""
    m = _PLAIN.fullmatch(s)
    if m is None:
        return None
    sign, whole, frac = m.groups()
    frac = frac or ""
    if len(frac) > places or (digits is not None
                              and len(whole.lstrip("0")) > digits - places):
        return None
    value = Decimal(f"{sign}{whole}.{frac.ljust(places, '0')}" if places else f"{sign}{whole}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        return None
    return value


def parse_int(cell, minimum: int | None = None, maximum: int | None = None) -> int:
    value = parse_decimal(cell, 0, None, None, digits=18)
    n = int(value)
    if minimum is not None and n < minimum:
        raise BadValue(f"不能小于 {minimum}：{n}", f"must be at least {minimum}: {n}")
    if maximum is not None and n > maximum:
        raise BadValue(f"不能大于 {maximum}：{n}", f"must be at most {maximum}: {n}")
    return n


_KNOWN_CODES: dict[tuple, str] = {}   # (enum, cell) -> code: a column repeats a few cells
KNOWN_CODES = 10_000


def parse_enum(cell, enum: type[StrEnum], aliases: dict[str, str] | None = None) -> str:
    known = _KNOWN_CODES.get((enum, cell)) if cell.__class__ is str else None
    if known is not None:
        return known
    code = _parse_enum(cell, enum, aliases)
    if cell.__class__ is str and len(_KNOWN_CODES) < KNOWN_CODES and \
            clean_text(cell).upper().replace(" ", "_") in enum.__members__:
        _KNOWN_CODES[enum, cell] = code   # (a code by its name, whatever the aliases)
    return code


def _parse_enum(cell, enum: type[StrEnum], aliases: dict[str, str] | None = None) -> str:
    s = clean_text(cell)
    key = s.upper().replace(" ", "_")
    if key in enum.__members__:
        return enum[key].value
    if aliases and s in aliases:
        return aliases[s]
    allowed = ", ".join(m.value for m in enum)
    raise BadValue(f"未知代码 {s}，可选值：{allowed}", f"unknown code {s}; expected one of {allowed}")
