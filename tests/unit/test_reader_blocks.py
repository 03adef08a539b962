"""The CSV reader decodes and measures blocks of lines at a time (importers.reader): the
rows, and the row a refusal names, are those of reading the file one line at a time."""

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from towerledger.importers import reader
from towerledger.importers.limits import DEFAULTS, Limits, UnreadableFile


def _limits(**over) -> Limits:
    values = dict(zip(("file_bytes", "unzipped_bytes", "zip_entries", "zip_ratio", "rows",
                       "columns", "sheet_cells", "field_chars"), DEFAULTS.values(), strict=True))
    return Limits(**(values | over))


def _read(data: bytes, encoding: str, limits: Limits | None = None) -> list[list[str]]:
    f = io.BytesIO(data)
    return list(reader._measured(csv.reader(reader._decoded_lines(f, encoding)), "f.csv",
                                 limits or _limits(), encoding))


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few lines and rows, so that every file here spans several."""
    monkeypatch.setattr(reader, "LINES_BYTES", 40)
    monkeypatch.setattr(reader, "MEASURE_ROWS", 3)


CELL = st.text(alphabet=st.sampled_from(list("ab1,. 站址\"\r\n\t")), max_size=6)
ENDING = st.sampled_from(["\n", "\r\n", "\r"])


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=4), min_size=1, max_size=12),
       endings=st.lists(ENDING, min_size=12, max_size=12),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_rows_are_those_of_the_whole_text(rows, endings, encoding):
    """Any mix of line endings (a bare CR too), quoted line breaks, BOM and Chinese text:
    block by block gives the rows the csv module reads from the whole decoded text."""
    out = io.StringIO(newline="")
    for row, end in zip(rows, endings, strict=False):
        w = csv.writer(out, lineterminator=end)
        w.writerow(row)
    text = out.getvalue()
    expected = list(csv.reader(io.StringIO(text, newline="")))
    reader.LINES_BYTES, before = 16, reader.LINES_BYTES
    reader.MEASURE_ROWS, rows_before = 2, reader.MEASURE_ROWS
    try:
        got = _read(text.encode(encoding), encoding)
    finally:
        reader.LINES_BYTES, reader.MEASURE_ROWS = before, rows_before
    assert got == expected


def test_a_bad_byte_is_reported_at_its_row_past_the_first_block(small_blocks):
    lines = [f"S{i:03d},站址{i}\n".encode() for i in range(30)]
    lines[17] = b"S017,\xff\xfe\n"   # not UTF-8: the 18th record (row 18, the header is 1)
    seen = []
    with pytest.raises(UnreadableFile) as err:
        for row in reader._measured(csv.reader(reader._decoded_lines(
                io.BytesIO(b"".join(lines)), "utf-8")), "f.csv", _limits(), "utf-8"):
            seen.append(row)
    assert "row 18 is not in utf-8" in err.value.en
    assert "第 18 行不是 utf-8 编码" in err.value.zh
    assert len(seen) == 17 and seen[-1] == ["S016", "站址16"]   # every row before it


def test_a_bom_inside_a_later_block_stays_a_character(small_blocks):
    """Only the text's first character may be a byte order mark, also when a block is
    decoded again line by line to find a bad byte."""
    # 7 + 9 × 4 bytes: the first block (LINES_BYTES 40); the second starts with a BOM
    body = "\ufeffa,b\n".encode() + b"c,d\n" * 9 + "\ufeffe,f\n".encode()
    assert _read(body, "utf-8-sig")[-1] == ["\ufeffe", "f"]
    seen = []
    with pytest.raises(UnreadableFile):
        for row in reader._measured(csv.reader(reader._decoded_lines(
                io.BytesIO(body + b"\xff\n"), "utf-8-sig")), "f.csv", _limits(), "utf-8-sig"):
            seen.append(row)
    assert seen[0] == ["a", "b"] and seen[-1] == ["\ufeffe", "f"]


@pytest.mark.parametrize(("limit", "row_text", "where"), [
    ({"columns": 3}, "1,2,3,4", "row 9 has 4 columns"),
    ({"field_chars": 5}, "1,123456", "row 9, column B, holds 6 characters"),
])
def test_a_row_beyond_a_limit_is_refused_at_that_row(small_blocks, limit, row_text, where):
    lines = ["h1,h2"] + ["a,b"] * 7 + [row_text] + ["a,b"] * 5
    with pytest.raises(UnreadableFile) as err:
        _read(("\n".join(lines) + "\n").encode(), "utf-8", _limits(**limit))
    assert where in err.value.en


def test_rows_beyond_the_limit_refuse_the_file_at_the_first_extra_row(small_blocks):
    data = ("h\n" + "x\n" * 7).encode()
    assert len(_read(data, "utf-8", _limits(rows=7))) == 8     # header + 7 rows: at the limit
    with pytest.raises(UnreadableFile) as err:
        _read(data + b"y\n", "utf-8", _limits(rows=7))
    assert "more than the limit of 7 data rows" in err.value.en
