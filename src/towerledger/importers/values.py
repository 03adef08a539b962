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


def parse_decimal(cell, places: int, minimum: Decimal | None = None,
                  maximum: Decimal | None = None) -> Decimal:
    """A number to ``places`` decimals; more decimals than that is an error, not a rounding."""
    if isinstance(cell, bool):
        raise BadValue(f"不是数字：{cell}", f"not a number: {cell}")
    if isinstance(cell, float):
        s = repr(cell)  # shortest repr: what the user typed in Excel, e.g. 0.1 not 0.1000…
    else:
        s = text(cell).replace(",", "").replace("，", "")
    s = s.removesuffix("%") if s.endswith("%") else s
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise BadValue(f"不是数字：{s}", f"not a number: {s}") from None
    if not value.is_finite():
        raise BadValue(f"不是数字：{s}", f"not a number: {s}")
    quantum = Decimal(1).scaleb(-places)
    rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
    if rounded != value:
        raise BadValue(f"小数位数超过 {places} 位：{s}", f"more than {places} decimal places: {s}")
    if minimum is not None and rounded < minimum:
        raise BadValue(f"不能小于 {minimum}：{s}", f"must be at least {minimum}: {s}")
    if maximum is not None and rounded > maximum:
        raise BadValue(f"不能大于 {maximum}：{s}", f"must be at most {maximum}: {s}")
    return rounded


def parse_int(cell, minimum: int | None = None, maximum: int | None = None) -> int:
    value = parse_decimal(cell, 0, None, None)
    n = int(value)
    if minimum is not None and n < minimum:
        raise BadValue(f"不能小于 {minimum}：{n}", f"must be at least {minimum}: {n}")
    if maximum is not None and n > maximum:
        raise BadValue(f"不能大于 {maximum}：{n}", f"must be at most {maximum}: {n}")
    return n


def parse_enum(cell, enum: type[StrEnum], aliases: dict[str, str] | None = None) -> str:
    s = text(cell)
    key = s.upper().replace(" ", "_")
    if key in enum.__members__:
        return enum[key].value
    if aliases and s in aliases:
        return aliases[s]
    allowed = ", ".join(m.value for m in enum)
    raise BadValue(f"未知代码 {s}，可选值：{allowed}", f"unknown code {s}; expected one of {allowed}")
