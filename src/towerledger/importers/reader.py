"""Read a user's file into a header and rows: CSV in UTF-8, UTF-8 with BOM, GB18030/GBK
(what Chinese Excel writes) or another detected encoding, and XLSX/XLS via calamine."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
TEXT_SUFFIXES = {".csv", ".txt"}
ALLOWED_SUFFIXES = SPREADSHEET_SUFFIXES | TEXT_SUFFIXES


class UnreadableFile(Exception):
    """The file as a whole cannot be read (wrong type, bad encoding, no header)."""

    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


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
    if suffix not in ALLOWED_SUFFIXES:
        raise UnreadableFile(
            f"不支持的文件类型 {suffix or '(无扩展名)'}，请使用 CSV 或 XLSX",
            f"unsupported file type {suffix or '(none)'}; use CSV or XLSX",
        )
    if suffix in (".xlsx", ".xlsm") and not head.startswith(b"PK"):
        raise UnreadableFile("文件扩展名为 XLSX 但内容不是 Excel 文件",
                             "the file is named .xlsx but is not an Excel workbook")
    if suffix in TEXT_SUFFIXES and b"\x00" in head[:4096] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile("CSV 文件包含二进制内容", "the CSV file contains binary content")
    return "sheet" if suffix in SPREADSHEET_SUFFIXES else "csv"


def read_table(path: str | Path, display_name: str | None = None) -> Table:
    path = Path(path)
    name = display_name or path.name
    data = path.read_bytes()
    kind = sniff_kind(Path(name), data[:8192])
    if kind == "csv":
        text, encoding = decode_text(data)
        rows = list(csv.reader(io.StringIO(text, newline="")))
    else:
        encoding = None
        rows = _read_sheet(path)
    rows = list(_drop_trailing_blank(rows))
    if not rows:
        raise UnreadableFile("文件为空，没有表头", "the file is empty: no header row")
    headers = [str(h).strip() if h is not None else "" for h in rows[0]]
    return Table(name=name, headers=headers, rows=rows[1:], encoding=encoding)


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
