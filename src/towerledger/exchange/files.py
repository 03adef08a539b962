"""Write tables to CSV (UTF-8 with BOM, so Chinese Excel opens it) or XLSX, every text cell
passed through ``safe_cell`` against formula injection."""

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO

import xlsxwriter

from towerledger.exchange.safe import safe_cell


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return safe_cell(str(value)) if not isinstance(value, Decimal | int) else str(value)


def write_csv(stream: IO[str], headers: list[str], rows: Iterable[Iterable]) -> int:
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in headers])
    n = 0
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
        n += 1
    return n


def write_xlsx(target, headers: list[str], rows: Iterable[Iterable], sheet: str = "data",
               highlight_last: bool = False) -> int:
    """``target`` is a path or a binary stream. Numbers stay numbers, dates stay dates."""
    book = xlsxwriter.Workbook(target, {"constant_memory": True, "in_memory": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    ws = book.add_worksheet(sheet[:31])
    head = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    datefmt = book.add_format({"num_format": "yyyy-mm-dd"})
    moneyfmt = book.add_format({"num_format": "#,##0.00"})
    errfmt = book.add_format({"font_color": "#B00020", "text_wrap": True})
    for c, h in enumerate(headers):
        ws.write_string(0, c, safe_cell(str(h)), head)
        ws.set_column(c, c, max(10, min(40, len(str(h)) * 2 + 2)))
    if highlight_last and headers:
        ws.set_column(len(headers) - 1, len(headers) - 1, 70)
    ws.freeze_panes(1, 0)
    n = 0
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if highlight_last and c == len(headers) - 1:
                ws.write_string(r, c, str(value), errfmt)
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value)
            elif isinstance(value, Decimal):
                ws.write_number(r, c, value, moneyfmt if value.as_tuple().exponent == -2 else None)
            elif isinstance(value, int | float):
                ws.write_number(r, c, value)
            elif isinstance(value, datetime):
                ws.write_datetime(r, c, value.replace(tzinfo=None), datefmt)
            elif isinstance(value, date):
                ws.write_datetime(r, c, datetime(value.year, value.month, value.day), datefmt)
            else:
                ws.write_string(r, c, safe_cell(str(value)))
        n += 1
    book.close()
    return n


def write_table(path: Path, headers: list[str], rows: Iterable[Iterable], **kw) -> int:
    """By the file's suffix: .xlsx or .csv."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        return write_xlsx(str(path), headers, rows, **kw)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        return write_csv(f, headers, rows)


def xlsx_bytes(headers: list[str], rows: Iterable[Iterable], **kw) -> bytes:
    buf = io.BytesIO()
    write_xlsx(buf, headers, rows, **kw)
    return buf.getvalue()
