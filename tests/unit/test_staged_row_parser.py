"""importers.schema.row_parser (the staged import's parser, with remembered cells and plain
numbers written without Decimal) finds exactly what parse_rows finds: the same values
(as the staging table's COPY text) and the same cell errors, whatever the cell; its block
parser (``parse.block``, column by column) the same as it row by row."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from towerledger.exchange.staged import _copy_text
from towerledger.importers.schema import parse_rows, row_parser, seen_keys
from towerledger.sites import schemas

NUMBERS = ["0", "00", "-0", "180", "180.0", "180.000001", "-180", "-180.0000001", "179.999999",
           "1,234.5", "1e2", "1E-3", " 12.5 ", "12.", ".5", "-.5", "+5", "NaN", "inf", "12%",
           "１２", "99999999999", "0.0000001", "1234.1234567", "", "  ", "abc", "1 000",
           "-1000", "90", "-90.000000", "90.0000001"]
TEXTS = ["ZZ001", " ZZ001 ", "ZZ 001", "Z\tZ", "a\\b", "金水区", "名\n称", "x" * 41,
         "x" * 121, "\x00bad", "ok.code-1_2", "", "   ", "S/1"]
DATES = ["2024-01-01", "2024/1/1", "2024年1月1日", "20240101", "2024-02-30", "45000",
         "2024-13-01", "01/02/2024", "", "2024-01-01 00:00", "2024-1-1"]
ENUMS = ["MACRO", "macro", " MACRO ", "宏站", "TOWERX", "", "ACTIVE", "已拆除", "archived"]


class NoRepeats:
    def first_rows(self, items):
        return [None] * len(items)


def lines_and_errors(schema, headers, rows):
    parse = row_parser(schema, headers, _copy_text)
    texts = [_copy_text(t) for t in parse.types]
    errors, lines = [], []
    for rowno, row in enumerate(rows, start=2):
        line = parse(row, rowno, errors)
        if line is not None:
            lines.append(line)
    # the block parser (column by column) gives the same text and errors, whatever the
    # blocks' bounds, with its memo cold or warm
    for size in (len(rows) or 1, 7, 1):
        again = row_parser(schema, headers, _copy_text)
        for _ in range(2):
            block_errors, text = [], ""
            for at in range(0, len(rows), size):
                text += again.block(rows[at:at + size], 2 + at, block_errors)
            assert text == "".join(lines)
            assert block_errors == errors
    # (repeated keys are the staged path's own SQL: none here)
    records, found = parse_rows(schema, headers, rows, partial := [],
                                seen=seen_keys(schema, NoRepeats))
    expected = []
    for r in sorted(records + [{k: x for k, x in p.items() if k != "_bad"} for p in partial],
                    key=lambda r: r["_row"]):
        bad = any(p["_row"] == r["_row"] for p in partial)
        values = ["\\N" if r[f.name] is None else fmt(r[f.name])
                  for f, fmt in zip(schema.fields, texts, strict=True)]
        expected.append(f"{r['_row']}\t{'f' if bad else 't'}\t{'t' if bad else 'f'}\t"
                        + "\t".join(values) + "\n")
    return lines, [e for e, _ in errors], expected, found


def numeric_equal(a: str, b: str) -> bool:
    return a == b or (a != "\\N" and b != "\\N" and Decimal(a) == Decimal(b)
                      and Decimal(a).as_tuple().exponent == Decimal(b).as_tuple().exponent)


def mixed():
    return zip(NUMBERS, TEXTS * 3, DATES * 3, ENUMS * 4, strict=False)


@pytest.mark.parametrize("cells", [
    [[n, n, t, t, d, e] for n, t, d, e in mixed()],
    [[t, n, t, n, e, d] for n, t, d, e in mixed()],
])
def test_row_parser_finds_what_parse_rows_finds(cells):
    headers = ["站址编码", "站址名称", "省份", "地市", "区县", "站址类型", "宿主站编码",
               "站址状态", "拆站日期", "经度", "纬度"]
    rows = []
    for a, b, c, d, e, f in cells:
        rows.append([c, d, "河南省", d, "金水区", f, c, f, e, a, b])
        rows.append([f"S{len(rows)}", c, "河南省", "郑州市", "金水区", "MACRO", "", "", e, a, b])
        rows.append([f"S{len(rows)}", "站", "河南省", "郑州市", "金水区", "MACRO", "", "ACTIVE", "",
                     a, b])   # the same cells again: remembered now
    rows += [["", "", "", "", "", "", "", "", "", "", ""], [None] * 11, []]
    # cells as a workbook gives them
    rows.append(["S-X", "站", "河南省", "郑州市", "金水区", "MACRO", "", "", datetime(2024, 5, 1),
                 113.5, 34])
    rows.append(["S-Y", 12345.0, "河南省", "郑州市", "金水区", "MACRO", "", "", date(2024, 5, 1),
                 True, 1e400])
    lines, errors, expected, found = lines_and_errors(schemas.SITES, headers, rows)
    assert errors == found
    assert len(lines) == len(expected)
    for line, want in zip(lines, expected, strict=True):
        got, exp = line.rstrip("\n").split("\t"), want.rstrip("\n").split("\t")
        assert got[:-2] == exp[:-2], (line, want)
        assert all(numeric_equal(g, w) for g, w in zip(got[-2:], exp[-2:], strict=True)), \
            (line, want)


def test_rules_cells():
    headers = ["site_code", "effective_from", "method", "fallback_method", "common_policy",
               "tower_share"]
    rows = [["S1", d, e, e, "PRO_RATA", n] for n, d, e in zip(
        NUMBERS, DATES * 3, ["EQUAL", "平均", "x"] * 11, strict=False)]
    rows += [["S1", "2024-01-01", "EQUAL", "", "", n] for n in ["100", "100%", "100.0000001",
                                                                "60%", "0.5％", "-1", "101"]]
    lines, errors, expected, found = lines_and_errors(schemas.RULES, headers, rows)
    assert errors == found
    assert len(lines) == len(expected)
    for line, want in zip(lines, expected, strict=True):
        got, exp = line.rstrip("\n").split("\t"), want.rstrip("\n").split("\t")
        assert got[:-1] == exp[:-1] and numeric_equal(got[-1], exp[-1]), (line, want)
