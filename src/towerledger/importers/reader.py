"""Read a user's file into a header and rows: CSV in UTF-8, UTF-8 with BOM, GB18030/GBK
(what Chinese Excel writes) or another detected encoding, and XLSX via calamine.

Every file is measured against ``importers.limits`` before it is read: its size; a CSV's
rows, columns and field length as it is parsed; an XLSX's zip and sheet extent
(``importers.workbook``) before calamine, which cannot be stopped once it allocates, sees
it. Legacy .xls (BIFF) is refused: it cannot be measured the same way, and Excel and WPS
both save .xlsx."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from towerledger.importers.limits import Limits, UnreadableFile, column_letters, refused, size_text
from towerledger.importers.workbook import check_workbook

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm"}
TEXT_SUFFIXES = {".csv", ".txt"}
ALLOWED_SUFFIXES = SPREADSHEET_SUFFIXES | TEXT_SUFFIXES
ZIP_MAGIC = b"PK\x03\x04"
__all__ = ["Table", "UnreadableFile", "decode_text", "read_table", "sniff_kind"]


@dataclass
class Table:
    name: str
    headers: list[str]
    rows: list[list]  # raw cell values; row i is spreadsheet row i + 2
    encoding: str | None = None


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes; try the encodings Chinese users actually produce first."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    best = from_bytes(data[:200_000]).best()
    if best is None:
        raise UnreadableFile("无法识别文件编码", "cannot detect the file's text encoding")
    return data.decode(best.encoding, errors="strict"), best.encoding


def sniff_kind(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise UnreadableFile("不支持旧版 Excel 97-2003（.xls）文件，请在 Excel 或 WPS 中另存为 .xlsx",
                             "legacy Excel 97-2003 (.xls) files are not accepted; save it as "
                             ".xlsx in Excel or WPS")
    if suffix not in ALLOWED_SUFFIXES:
        raise UnreadableFile(
            f"不支持的文件类型 {suffix or '(无扩展名)'}，请使用 CSV 或 XLSX",
            f"unsupported file type {suffix or '(none)'}; use CSV or XLSX",
        )
    if suffix in SPREADSHEET_SUFFIXES and not head.startswith(ZIP_MAGIC):
        raise UnreadableFile("文件扩展名为 XLSX 但内容不是 Excel 文件",
                             "the file is named .xlsx but is not an Excel workbook")
    if suffix in TEXT_SUFFIXES and (head.startswith(ZIP_MAGIC) or (
            b"\x00" in head[:4096] and not head.startswith((b"\xff\xfe", b"\xfe\xff")))):
        raise UnreadableFile("CSV 文件包含二进制内容", "the CSV file contains binary content")
    return "sheet" if suffix in SPREADSHEET_SUFFIXES else "csv"


def read_table(path: str | Path, display_name: str | None = None,
               limits: Limits | None = None) -> Table:
    path = Path(path)
    name = display_name or path.name
    limits = limits or Limits.from_settings()
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise refused(name, f"大小 {size_text(size)}，超出上限 {size_text(limits.file_bytes)}",
                      f"{size_text(size)}, beyond the limit of {size_text(limits.file_bytes)}")
    with path.open("rb") as f:
        head = f.read(8192)
    kind = sniff_kind(Path(name), head)
    if kind == "csv":
        text, encoding = decode_text(path.read_bytes())
        rows = read_csv_rows(text, name, limits)
    else:
        encoding = None
        check_workbook(path, name, limits)     # before calamine allocates anything
        rows = _read_sheet(path)
        _check_fields(rows, name, limits)
    rows = list(_drop_trailing_blank(rows))
    if not rows:
        raise UnreadableFile("文件为空，没有表头", "the file is empty: no header row")
    headers = [str(h).strip() if h is not None else "" for h in rows[0]]
    return Table(name=name, headers=headers, rows=rows[1:], encoding=encoding)


def read_csv_rows(text: str, name: str, limits: Limits) -> list[list[str]]:
    """The CSV's records, refusing the file at the first one beyond a limit (the csv
    module's own field limit, 131,072, would otherwise end the read with a bare error)."""
    if csv.field_size_limit() <= limits.field_chars:
        csv.field_size_limit(limits.field_chars + 1)
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            if len(rows) > limits.rows:          # the header plus ``rows`` data rows
                raise refused(name, f"超过 {limits.rows:,} 行数据的上限",
                              f"more than the limit of {limits.rows:,} data rows")
            if len(row) > limits.columns:
                raise refused(name, f"第 {len(rows) + 1:,} 行有 {len(row):,} 列，超出上限 "
                                    f"{limits.columns:,} 列",
                              f"row {len(rows) + 1:,} has {len(row):,} columns, beyond the "
                              f"limit of {limits.columns:,}")
            if row and max(map(len, row)) > limits.field_chars:
                _refuse_field(name, limits, len(rows), row)
            rows.append(row)
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise _field_too_long(name, limits, len(rows) + 1, None, None) from None
        raise refused(name, f"第 {len(rows) + 1:,} 行不是有效的 CSV：{exc}",
                      f"row {len(rows) + 1:,} is not valid CSV: {exc}") from None
    return rows


def _check_fields(rows: list[list], name: str, limits: Limits) -> None:
    for i, row in enumerate(rows):
        for cell in row:
            if cell.__class__ is str and len(cell) > limits.field_chars:
                _refuse_field(name, limits, i, row)


def _refuse_field(name, limits, index, row):
    col = next(j for j, c in enumerate(row) if isinstance(c, str) and len(c) > limits.field_chars)
    raise _field_too_long(name, limits, index + 1, col, len(row[col]))


def _field_too_long(name, limits, row, col, length):
    where_zh = f"第 {row:,} 行" + (f"第 {column_letters(col)} 列" if col is not None else "")
    where_en = f"row {row:,}" + (f", column {column_letters(col)}," if col is not None else "")
    n_zh = f"有 {length:,} 个字符" if length else "有字段"
    n_en = f"holds {length:,} characters" if length else "holds a field"
    return refused(name, f"{where_zh}{n_zh}，超出每格 {limits.field_chars:,} 个字符的上限",
                   f"{where_en} {n_en} longer than the limit of {limits.field_chars:,} "
                   f"characters per cell")


def _read_sheet(path: Path) -> list[list]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        sheet = book.get_sheet_by_index(0)
        return sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types
        raise UnreadableFile(f"无法读取 Excel 文件：{exc}", f"cannot read the workbook: {exc}") from exc


def _drop_trailing_blank(rows: list[list]) -> Iterator[list]:
    end = len(rows)
    while end and all(_blank(c) for c in rows[end - 1]):
        end -= 1
    yield from rows[:end]


def _blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())
