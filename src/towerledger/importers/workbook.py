"""Measure an XLSX before calamine opens it: the zip's entries, their real decompressed size,
and where the sheets' cells are.

calamine builds a dense grid from A1 to the farthest cell holding a value, so one cell at
XFD1048576 asks for 17 billion cells and aborts the process; it trusts the zip, so a small
file can expand to gigabytes. Neither can be caught once calamine has started, so here:

* the zip's central directory: number of entries, declared sizes, encryption, methods;
* every entry is inflated here, from its raw bytes, counting what really comes out (a zip's
  declared size can lie), refusing past the total or a compression ratio no spreadsheet has;
* every worksheet's XML, streamed as it inflates (never whole in memory): the declared
  ``<dimension ref>`` and the position of every cell as calamine would place it.

The cell scan has two speeds. Files written by Excel, WPS, LibreOffice, openpyxl … give
every cell its reference first (``<c r="B7" …>``): two C-speed regex scans find the farthest
column and row (0.3 s for a 100,000-row bill file). A sheet where some cell has no ``r`` (the
format allows it; calamine then counts cells and rows) is scanned again tag by tag, following
calamine's own counting.
"""

import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from towerledger.importers.limits import (
    Limits,
    UnreadableFile,
    column_index,
    column_letters,
    refused,
    size_text,
)

PIECE = 1 << 20                # inflate and scan a megabyte at a time
RATIO_AFTER = 1 << 20          # the ratio is judged once an entry has produced this much
MAX_TAG_SPAN = 8 << 20         # XML with no '<' for this long is not a spreadsheet

# every unprefixed cell start tag, with its column when its reference is in the usual form
C_ALL = re.compile(rb'<c[\s/>](?:r="([A-Z]{1,3})[1-9])?')
C_ROW = re.compile(rb'<c r="[A-Z]{1,3}([1-9][0-9]{0,8})"')   # rows of the usual form
C_PREFIXED = re.compile(rb"<[^\s<>/!?]+:c[\s/>]")               # <x:c …>
DIMENSION = re.compile(rb"<(?:[^\s<>/!?]*:)?dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
TAG = re.compile(rb"<(/?)(?:[^\s<>/!?]*:)?(row|c)(?=[\s/>])([^>]*)>")
R_ATTR = re.compile(rb"(?:^|\s)r\s*=\s*([\"'])(.*?)\1")
CELL_REF = re.compile(rb"^([A-Za-z]+)([0-9]+)$")
ROW_REF = re.compile(rb"^[A-Za-z]*([0-9]+)$")
RANGE_END = re.compile(r"^\$?([A-Za-z]+)\$?([0-9]+)$")


def check_workbook(source: str | Path | BinaryIO, name: str, limits: Limits) -> None:
    """Refuse (``UnreadableFile``) an XLSX beyond ``limits``; return quietly otherwise.
    ``source``: a path, or a seekable binary file (an upload)."""
    if isinstance(source, str | Path):
        with open(source, "rb") as fh:
            _check(fh, name, limits)
    else:
        source.seek(0)
        try:
            _check(source, name, limits)
        finally:
            source.seek(0)


def _check(fh, name, limits):
    try:
        book = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise refused(name, "不是有效的 XLSX 工作簿（zip 结构损坏）",
                      "is not a valid XLSX workbook (its zip structure is damaged)") from None
    entries = book.infolist()
    _check_directory(entries, name, limits)
    produced = 0
    sheets = []
    for info in entries:
        scan = SheetScan(name, limits) if _is_worksheet(info.filename) else None
        produced += _inflate(fh, info, name, limits, limits.unzipped_bytes - produced,
                             scan.feed if scan else None)
        if scan:
            scan.close()
            sheets.append((info, scan))
    for info, scan in sheets:
        if scan.needs_exact:   # some cell has no reference: count as calamine counts
            exact = SheetScan(name, limits, exact=True)
            _inflate(fh, info, name, limits, limits.unzipped_bytes, exact.feed)
            exact.close()


def _check_directory(entries, name, limits):
    if len(entries) > limits.zip_entries:
        raise refused(name, f"XLSX 内含 {len(entries):,} 个文件，超出上限 {limits.zip_entries:,}",
                      f"the XLSX holds {len(entries):,} files, beyond the limit of "
                      f"{limits.zip_entries:,}")
    declared = sum(i.file_size for i in entries)
    if declared > limits.unzipped_bytes:
        raise _too_big(name, declared, limits, declared=True)
    names = {i.filename.lower() for i in entries}
    if "xl/workbook.xml" not in names:
        raise refused(name, "不是 Excel 工作簿（缺少 xl/workbook.xml）",
                      "is not an Excel workbook (no xl/workbook.xml inside)")
    for info in entries:
        if info.flag_bits & 0x1:
            raise refused(name, "工作簿已加密，请去掉密码后再上传",
                          "the workbook is encrypted; remove the password and upload it again")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise refused(name, f"XLSX 使用了不支持的压缩方式（{info.compress_type}）",
                          f"the XLSX uses an unsupported compression method "
                          f"({info.compress_type})")


def _too_big(name, size, limits, declared=False):
    what_zh, what_en = ("声明解压后", "declares") if declared else ("解压后", "expands to")
    return refused(name, f"XLSX {what_zh}大小 {size_text(size)}，超出上限 "
                         f"{size_text(limits.unzipped_bytes)}（疑似压缩炸弹）",
                   f"the XLSX {what_en} {size_text(size)}, beyond the limit of "
                   f"{size_text(limits.unzipped_bytes)} (a zip bomb?)")


def _is_worksheet(filename: str) -> bool:
    # calamine reads a sheet only from xl/worksheets/… (its name compared case-insensitively)
    low = filename.lower()
    return low.startswith("xl/worksheets/") and not low.endswith(".rels") \
        and not low.endswith("/")


def _inflate(fh, info, name, limits, budget, sink) -> int:
    """Inflate one entry from its raw bytes, a piece at a time, handing each piece to
    ``sink``; return how many bytes really came out. Refuse past ``budget`` or the ratio."""
    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise refused(name, "XLSX 的 zip 结构损坏", "the XLSX's zip structure is damaged")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    left = info.compress_size
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    fed = out = 0
    try:
        while left > 0:
            chunk = fh.read(min(PIECE, left))
            if not chunk:
                break
            left -= len(chunk)
            fed += len(chunk)
            while chunk:
                if inflater is None:
                    piece, chunk = chunk, b""
                else:
                    piece = inflater.decompress(chunk, PIECE)
                    chunk = inflater.unconsumed_tail
                if not piece:
                    break
                out += len(piece)
                if out > budget:
                    raise _too_big(name, limits.unzipped_bytes + 1, limits)
                consumed = fed - len(chunk)
                if out > RATIO_AFTER and out > limits.zip_ratio * max(consumed, 1):
                    raise refused(
                        name, f"XLSX 中 {info.filename} 的压缩比超过 {limits.zip_ratio}:1"
                              f"（疑似压缩炸弹）",
                        f"{info.filename} in the XLSX is compressed more than "
                        f"{limits.zip_ratio}:1 (a zip bomb?)")
                if sink:
                    sink(piece)
    except zlib.error:
        raise refused(name, "XLSX 的压缩数据损坏", "the XLSX's compressed data is damaged") \
            from None
    if inflater is not None and not inflater.eof:
        raise refused(name, "XLSX 的压缩数据不完整", "the XLSX's compressed data is incomplete")
    return out


class SheetScan:
    """The farthest cell of one worksheet's XML, fed in pieces (split at a '<', so no tag
    is cut). By default only cells in the usual form, and ``needs_exact`` says whether some
    cell was not in it; ``exact=True``: every tag, counted as calamine counts."""

    def __init__(self, name: str, limits: Limits, exact: bool = False):
        self.name, self.limits, self.exact = name, limits, exact
        self.needs_exact = False
        self.tail = b""
        self.in_sheet_data = False
        self.max_row = self.max_col = -1
        self.row_index = self.col_index = 0

    def feed(self, piece: bytes) -> None:
        data = self.tail + piece
        cut = data.rfind(b"<")
        if cut <= 0:
            self.tail = data
            if len(data) > MAX_TAG_SPAN:
                raise refused(self.name, "工作表 XML 格式异常", "the sheet's XML is malformed")
            return
        self.tail = data[cut:]
        self._scan(data[:cut])

    def close(self) -> None:
        self._scan(self.tail)
        self.tail = b""
        self._check_area()

    def _scan(self, data: bytes) -> None:
        if not self.in_sheet_data:      # the dimension comes before the cells
            start = data.find(b"sheetData")
            head = data if start < 0 else data[:start]
            found = DIMENSION.search(head)
            if found:
                self._check_dimension(found.group(1).decode("ascii", "replace"))
            self.in_sheet_data = start >= 0
        if self.exact:
            self._scan_tags(data)
            return
        cols = C_ALL.findall(data)
        rows = C_ROW.findall(data)
        letters = set(cols)
        if len(cols) != len(rows) or b"" in letters or (
                b":c" in data and C_PREFIXED.search(data)):
            self.needs_exact = True       # judged again, tag by tag
            letters.discard(b"")
        if letters:
            far = max(letters, key=lambda c: (len(c), c))
            col = column_index(far)
            if col >= self.limits.columns:
                self._refuse_cell(re.search(rb'<c r="(' + far + rb'[0-9]+)"', data)[1].decode())
            self.max_col = max(self.max_col, col)
        if rows:
            digits = max(set(rows), key=int)
            row = int(digits) - 1
            if row >= self.limits.rows:
                self._refuse_cell(
                    re.search(rb'<c r="([A-Z]{1,3}' + digits + rb')"', data)[1].decode())
            self.max_row = max(self.max_row, row)

    def _scan_tags(self, data: bytes) -> None:
        for closing, tag, attrs in TAG.findall(data):
            empty = attrs.rstrip().endswith(b"/")
            if tag == b"row":
                if closing:
                    self.row_index, self.col_index = self.row_index + 1, 0
                    continue
                r = R_ATTR.search(attrs)
                ref = ROW_REF.match(r.group(2)) if r else None
                if ref:
                    self.row_index = int(ref.group(1)) - 1
                if empty:
                    self.row_index, self.col_index = self.row_index + 1, 0
            elif not closing:
                r = R_ATTR.search(attrs)
                ref = CELL_REF.match(r.group(2)) if r else None
                if ref:
                    row, col = int(ref.group(2)) - 1, column_index(ref.group(1))
                    self.col_index = col
                elif r:
                    continue       # calamine refuses the file itself
                else:
                    row, col = self.row_index, self.col_index
                self.col_index += 1
                if not empty:      # an empty cell holds no value: calamine places nothing
                    self._place(row, col)

    def _place(self, row: int, col: int) -> None:
        if row >= self.limits.rows or col >= self.limits.columns:
            self._refuse_cell(f"{column_letters(col)}{row + 1}")
        self.max_row, self.max_col = max(self.max_row, row), max(self.max_col, col)

    def _refuse_cell(self, ref: str) -> None:
        zh, en = self.limits.describe()
        raise refused(self.name, f"工作表在单元格 {ref} 有内容，超出上限（{zh}）",
                      f"the sheet has a cell at {ref}, beyond the limit ({en})")

    def _check_area(self) -> None:
        cells = (self.max_row + 1) * (self.max_col + 1)
        if cells > self.limits.sheet_cells:
            zh, en = self.limits.describe()
            corner = f"A1:{column_letters(self.max_col)}{self.max_row + 1}"
            raise refused(self.name, f"工作表的数据范围 {corner} 共 {cells:,} 个单元格，超出上限（{zh}）",
                          f"the sheet's data spans {corner}, {cells:,} cells, beyond the "
                          f"limit of {en}")

    def _check_dimension(self, ref: str) -> None:
        end = RANGE_END.match(ref.split(":")[-1].strip())
        if not end:
            return          # calamine refuses a malformed dimension itself
        rows, cols = int(end.group(2)), column_index(end.group(1)) + 1
        lim = self.limits
        if rows > lim.rows or cols > lim.columns or rows * cols > lim.sheet_cells:
            zh, en = lim.describe()
            raise refused(self.name, f"文件声明的工作表范围 {ref} 超出上限（{zh}）",
                          f"the sheet declares {ref}, beyond the limit ({en})")


__all__ = ["UnreadableFile", "check_workbook"]
