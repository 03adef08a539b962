"""Read a user's file into a header and rows: CSV in UTF-8, UTF-8 with BOM, GB18030/GBK
(what Chinese Excel writes) or another detected encoding, and XLSX via calamine.

Every file is measured against ``importers.limits`` before it is read: its size; a CSV's
rows, columns and field length as it is parsed; an XLSX's zip and sheet extent
(``importers.workbook``) before calamine, which cannot be stopped once it allocates, sees
it. Legacy .xls (BIFF) is refused: it cannot be measured the same way, and Excel and WPS
both save .xlsx."""

import codecs
import csv
import io
import itertools
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
__all__ = ["RowStream", "Table", "UnreadableFile", "decode_text", "open_rows", "read_table",
           "sniff_kind"]


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


HEAD_BYTES = 1 << 20   # the sample the encoding is detected on
BLOCK = 1 << 20


class RowStream:
    """A file's header and its data rows, read lazily: ``rows`` yields each data row once
    (raw cells; row i is spreadsheet row i + 2) with the limits checked as it goes, so a
    file of any length is read in memory independent of it. ``last_row`` is the
    spreadsheet number of the last non-blank row read so far (trailing blank rows are not
    rows of the file)."""

    def __init__(self, name: str, headers: list[str], rows: Iterator[list],
                 encoding: str | None):
        self.name, self.headers, self.encoding = name, headers, encoding
        self._rows = rows
        self.last_row = 1

    @property
    def rows(self) -> Iterator[list]:
        for i, row in enumerate(self._rows, start=2):
            first = row[0] if row else None
            if (first.__class__ is str and first and not first[0].isspace()) or \
                    not all(_blank(c) for c in row):
                self.last_row = i
            yield row

    @property
    def row_count(self) -> int:
        return self.last_row - 1


def open_rows(path: str | Path, display_name: str | None = None,
              limits: Limits | None = None) -> RowStream:
    """The file's header read and its rows ready to stream (``RowStream``); the file is
    measured against ``limits`` first. Raises ``UnreadableFile``."""
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
        encoding = detect_encoding(path)
        rows = _stream_csv(path, encoding, name, limits)
    else:
        encoding = None
        check_workbook(path, name, limits)     # before calamine allocates anything
        rows = _stream_sheet(path, name, limits)
    header = next(rows, None)
    if header is not None and all(_blank(c) for c in header):
        blank = [header]   # a blank first row: the file is empty unless a row follows
        for row in rows:
            blank.append(row)
            if not all(_blank(c) for c in row):
                break
        else:
            header = None
        if header is not None:
            rows = itertools.chain(blank[1:], rows)
    if header is None:
        raise UnreadableFile("文件为空，没有表头", "the file is empty: no header row")
    headers = [str(h).strip() if h is not None else "" for h in header]
    return RowStream(name, headers, rows, encoding)


def read_table(path: str | Path, display_name: str | None = None,
               limits: Limits | None = None) -> Table:
    """The whole file in memory (small uploads such as a reconciliation statement; imports
    stream with ``open_rows``)."""
    stream = open_rows(path, display_name, limits)
    rows = list(stream.rows)
    return Table(name=stream.name, headers=stream.headers, rows=rows[:stream.row_count],
                 encoding=stream.encoding)


def detect_encoding(path: Path) -> str:
    """The CSV's encoding, judged on a sample: the head, or when the head is plain ASCII
    the first block holding anything else (a file whose Chinese starts late is still told
    apart). The rest of the file is decoded strictly in the same encoding as it is read,
    and a byte it cannot decode stops the import naming the row (``_stream_csv``)."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
        if head.startswith(b"\xef\xbb\xbf"):
            return "utf-8-sig"
        sample, at_end = head, len(head) < HEAD_BYTES
        while sample.isascii() and not at_end:
            block = f.read(BLOCK)
            at_end = len(block) < BLOCK
            if not block.isascii():
                first = next(i for i, b in enumerate(block) if b > 0x7F)
                sample = block[first:]    # an ASCII byte before: a character starts here
                if not at_end:            # a full sample's worth from there
                    more = f.read(HEAD_BYTES - len(sample))
                    sample += more
                    at_end = len(sample) < HEAD_BYTES
                break
            sample = block
    for enc in ("utf-8", "gb18030"):
        try:   # not final unless the sample is the file's end: a cut character is fine
            codecs.getincrementaldecoder(enc)().decode(sample, final=at_end)
            return enc
        except UnicodeDecodeError:
            continue
    best = from_bytes(sample[:200_000]).best()
    if best is None:
        raise UnreadableFile("无法识别文件编码", "cannot detect the file's text encoding")
    return best.encoding


def _stream_csv(path: Path, encoding: str, name: str, limits: Limits) -> Iterator[list[str]]:
    """The CSV's records, read as they come (see ``_measured``)."""
    with path.open("rb") as f:
        yield from _measured(csv.reader(_decoded_lines(f, encoding)), name, limits, encoding)


MEASURE_ROWS = 1000   # rows measured at once (see ``_measured``)


def _measured(reader, name: str, limits: Limits, encoding: str | None = None
              ) -> Iterator[list[str]]:
    """``reader``'s records, refusing the file at the first one beyond a limit (the csv
    module's own field limit, 131,072, would otherwise end the read with a bare error), or
    at the first bytes not in the ``encoding`` detected on the sample.

    Rows are taken ``MEASURE_ROWS`` at a time and measured together (the longest row, the
    longest cell: loops in C); only a block with a row beyond a limit goes row by row, to
    refuse the file at that row. The rows read before a failing read are yielded first, as
    when the rows went one by one."""
    if csv.field_size_limit() <= limits.field_chars:
        csv.field_size_limit(limits.field_chars + 1)
    n = 0
    chain, islice = itertools.chain.from_iterable, itertools.islice
    while True:
        block: list[list[str]] = []
        failed = None
        try:
            block.extend(islice(reader, MEASURE_ROWS))
        except (UnicodeDecodeError, csv.Error) as exc:
            failed = exc
        if block:
            if n + len(block) > limits.rows + 1 or max(map(len, block)) > limits.columns \
                    or max(map(len, chain(block)), default=0) > limits.field_chars:
                for row in block:
                    _measure_row(name, limits, n, row)
                    n += 1
                    yield row
            else:
                n += len(block)
                yield from block
        if failed is not None:
            raise _read_error(failed, name, limits, n, encoding) from None
        if len(block) < MEASURE_ROWS:
            return


def _measure_row(name: str, limits: Limits, n: int, row: list[str]) -> None:
    """Refuse the file at its ``n``-th record (0: the header) if it is beyond a limit."""
    if n > limits.rows:          # the header plus ``rows`` data rows
        raise refused(name, f"超过 {limits.rows:,} 行数据的上限",
                      f"more than the limit of {limits.rows:,} data rows")
    if len(row) > limits.columns:
        raise refused(name, f"第 {n + 1:,} 行有 {len(row):,} 列，超出上限 "
                            f"{limits.columns:,} 列",
                      f"row {n + 1:,} has {len(row):,} columns, beyond the "
                      f"limit of {limits.columns:,}")
    if row and max(map(len, row)) > limits.field_chars:
        _refuse_field(name, limits, n, row)


def _read_error(exc: Exception, name: str, limits: Limits, n: int,
                encoding: str | None) -> UnreadableFile:
    """The refusal for a read that failed at the ``n``-th record (0: the header)."""
    if isinstance(exc, UnicodeDecodeError):
        return refused(name, f"第 {n + 1:,} 行不是 {encoding} 编码（按文件前部识别的编码），"
                             f"请将整个文件另存为 UTF-8",
                       f"row {n + 1:,} is not in {encoding}, the encoding the start of "
                       f"the file is in; save the whole file as UTF-8")
    if "field limit" in str(exc):
        return _field_too_long(name, limits, n + 1, None, None)
    return refused(name, f"第 {n + 1:,} 行不是有效的 CSV：{exc}",
                   f"row {n + 1:,} is not valid CSV: {exc}")


LINES_BYTES = 1 << 20   # bytes of whole lines decoded at once


def _decoded_lines(f, encoding: str) -> Iterator[str]:
    """The file's lines, decoded a block of whole lines at a time; a block with a byte not
    in ``encoding`` is decoded again line by line, so the error comes at the line it belongs
    to, after the lines before it. Line breaks are those of the csv module's ``newline=''``:
    ``\\r\\n``, ``\\n`` and a bare ``\\r`` (old Mac files). Encodings in which a line break is
    not the byte ``\\n`` (UTF-16, UTF-32) are decoded by the io module instead."""
    try:
        ascii_lines = b"a\n".decode(encoding) == "a\n"
    except UnicodeDecodeError:
        ascii_lines = False
    if not ascii_lines:
        yield from io.TextIOWrapper(f, encoding=encoding, errors="strict", newline="")
        return
    decode = codecs.getincrementaldecoder(encoding)(errors="strict").decode
    first = True
    while True:
        raw = f.readlines(LINES_BYTES)   # (whole lines: no character is cut in two)
        if not raw:
            break
        try:
            text = decode(b"".join(raw))
        except UnicodeDecodeError:
            yield from _line_by_line(raw, encoding, first)
            raise AssertionError("a block that did not decode decoded line by line") from None
        first = False
        yield from io.StringIO(text, newline="")
    tail = decode(b"", final=True)
    if tail:
        yield tail


def _line_by_line(raw: list[bytes], encoding: str, first: bool) -> Iterator[str]:
    """The lines of a block one by one, up to the one that does not decode (which raises)."""
    decode = codecs.getincrementaldecoder(encoding)(errors="strict").decode
    if not first:
        decode(b"\n")   # past the start of the text: a byte order mark is a character now
    for line in raw:
        yield from io.StringIO(decode(line), newline="")
    decode(b"", final=True)


def read_csv_rows(text: str, name: str, limits: Limits) -> list[list[str]]:
    """The rows of CSV text already in memory (an upload's), checked as ``_stream_csv``."""
    return list(_measured(csv.reader(io.StringIO(text, newline="")), name, limits))


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


def _stream_sheet(path: Path, name: str, limits: Limits) -> Iterator[list]:
    """The first sheet's rows one by one (calamine holds the sheet's cells; the Python rows
    are made as they are read)."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        rows = book.get_sheet_by_index(0).iter_rows()
    except Exception as exc:  # calamine raises its own error types
        raise UnreadableFile(f"无法读取 Excel 文件：{exc}", f"cannot read the workbook: {exc}") from exc
    for i, row in enumerate(rows):
        for cell in row:
            if cell.__class__ is str and len(cell) > limits.field_chars:
                _refuse_field(name, limits, i, row)
        yield row


def _blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())
