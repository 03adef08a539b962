"""Cell parsing: the date forms and numbers users' files carry (DOMAIN.md §8)."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from towerledger.exchange.safe import safe_cell
from towerledger.importers import values as v
from towerledger.importers.reader import decode_text
from towerledger.importers.schema import normalise_header


@pytest.mark.parametrize("cell", ["2024-05-01", "2024/5/1", "2024年5月1日", "20240501",
                                  45413, 45413.0, "45413", datetime(2024, 5, 1, 0, 0),
                                  date(2024, 5, 1), "2024.05.01", "2024-05-01 00:00:00"])
def test_dates_in_every_accepted_form(cell):
    assert v.parse_date(cell) == date(2024, 5, 1)


@pytest.mark.parametrize("cell", ["2024-02-30", "2024/13/1", "yesterday", "5/1/2024", 45413.5])
def test_bad_dates_say_why_in_both_languages(cell):
    with pytest.raises(v.BadValue) as exc:
        v.parse_date(cell)
    assert exc.value.zh and exc.value.en


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(2099, 12, 31)))
def test_excel_serial_round_trip(d):
    serial = (d - date(1899, 12, 30)).days
    assert v.parse_date(serial) == d
    assert v.parse_date(d.isoformat()) == d
    assert v.parse_date(f"{d.year}年{d.month}月{d.day}日") == d


def test_decimal_places_are_checked_not_rounded():
    assert v.parse_decimal("1,234.50", 2) == Decimal("1234.50")
    assert v.parse_decimal(0.1, 2) == Decimal("0.10")  # what Excel's float means, not 0.1000000000000000055
    with pytest.raises(v.BadValue, match="decimal places"):
        v.parse_decimal("1.005", 2)
    with pytest.raises(v.BadValue, match="at least 0"):
        v.parse_decimal("-3", 2, Decimal(0))
    with pytest.raises(v.BadValue, match="not a number"):
        v.parse_decimal("NaN", 2)


def test_codes_typed_as_numbers_keep_no_decimal_point():
    assert v.text(123456.0) == "123456"


def test_headers_ignore_case_spaces_and_units():
    assert normalise_header(" Split_Ratio ") == "split_ratio"
    assert normalise_header("额定功率（W）") == "额定功率"
    assert normalise_header("站址编码*") == "站址编码"


def test_csv_decoding_prefers_what_chinese_excel_writes():
    text = "站址编码,站址名称\nA,郑州\n"
    assert decode_text(text.encode("gbk")) == (text, "gb18030")
    assert decode_text(b"\xef\xbb\xbf" + text.encode()) == (text, "utf-8-sig")
    assert decode_text(text.encode()) == (text, "utf-8")


@pytest.mark.parametrize("cell,expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1+2", "'+1+2"),
    ("@SUM(A1)", "'@SUM(A1)"), ("-2+3", "'-2+3"), ("\tcmd", "'\tcmd"),
    ("-12.50", "-12.50"), ("郑州", "郑州"), (Decimal("-1.00"), Decimal("-1.00")),
])
def test_exported_cells_cannot_become_formulas(cell, expected):
    assert safe_cell(cell) == expected
