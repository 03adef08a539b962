"""What a user's file may make the reader allocate, checked before it reads (issue 17).

A 1.7 KB XLSX with one cell at XFD1048576 makes calamine ask for 550 GB and abort the whole
process (a Rust abort Python cannot catch), and an 8 MB XLSX can expand to a 1.9 GB sheet; a
CSV field over 131,072 characters crashes the csv module. So every file read — imports (web
and CLI), the reconciliation upload, dispute attachments — is measured first against these
limits, each a setting (docs/import-formats.md, "Limits"), and a file beyond one is refused
with a bilingual message naming the file and the reason.
"""

from dataclasses import dataclass

MB = 1024 * 1024

# setting name -> default; every one can be set from the environment (config/settings.py)
DEFAULTS = {
    "IMPORT_MAX_FILE_BYTES": 512 * MB,        # the file as stored (CSV or XLSX)
    "IMPORT_MAX_UNZIPPED_BYTES": 200 * MB,    # an XLSX's entries, decompressed, together
    "IMPORT_MAX_ZIP_ENTRIES": 10_000,         # files inside an XLSX
    "IMPORT_MAX_ZIP_RATIO": 100,              # decompressed : compressed, per entry
    "IMPORT_MAX_ROWS": 5_000_000,             # a smart-meter month of 100k sites is 2.6M
    "IMPORT_MAX_COLUMNS": 200,
    "IMPORT_MAX_SHEET_CELLS": 10_000_000,     # rows x columns of the area a sheet spans
    "IMPORT_MAX_FIELD_CHARS": 10_000,         # characters in one cell
}


class UnreadableFile(Exception):
    """The file as a whole cannot be read (wrong type, bad encoding, no header, too large)."""

    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def refused(name: str, zh: str, en: str) -> UnreadableFile:
    """A refusal that names the file, in Chinese and English."""
    return UnreadableFile(f"文件 {name}：{zh}", f"{name}: {en}")


@dataclass(frozen=True)
class Limits:
    file_bytes: int
    unzipped_bytes: int
    zip_entries: int
    zip_ratio: int
    rows: int
    columns: int
    sheet_cells: int
    field_chars: int

    @classmethod
    def from_settings(cls) -> "Limits":
        from django.conf import settings

        def get(key):   # the defaults when read outside Django (a script)
            return int(getattr(settings, key, DEFAULTS[key]) if settings.configured
                       else DEFAULTS[key])

        return cls(*(get(k) for k in DEFAULTS))

    def describe(self) -> tuple[str, str]:
        """The sheet limits in words, for messages."""
        return (f"最多 {self.rows:,} 行、{self.columns:,} 列、共 {self.sheet_cells:,} 个单元格",
                f"at most {self.rows:,} rows, {self.columns:,} columns and "
                f"{self.sheet_cells:,} cells")


def size_text(n: int) -> str:
    return f"{n / MB:,.0f} MB" if n >= MB else f"{n:,} B"


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (spreadsheet column names)."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def column_index(letters: bytes | str) -> int:
    """A -> 0, XFD -> 16383 (case-insensitive, as calamine reads them)."""
    n = 0
    for ch in letters.upper() if isinstance(letters, str) else letters.upper().decode():
        n = n * 26 + ord(ch) - 64
    return n - 1
