"""Cell parsing: the date forms and numbers users' files carry (DOMAIN.md §8)."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from towerledger.exchange.safe import safe_cell
from towerledger.importers import schema
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


# ---- numbers against their column, codes against their characters (issue 17) -------------

MONEY = dict(places=2, minimum=Decimal(0), digits=14)   # a money() column: 14 digits, 2 places


@pytest.mark.parametrize("cell, says", [
    ("1e20", "out of range"), ("1e400", "out of range"), (1e20, "out of range"),
    ("1" * 5000, "out of range"), ("1234567890123", "out of range"),
    ("1e999999999999999999", "out of range"), ("-1e400", "out of range"),
    ("NaN", "not a number"), ("-nan", "not a number"), ("Infinity", "not a number"),
    ("inf", "not a number"), (float("inf"), "not a number"), (float("nan"), "not a number"),
    ("sNaN", "not a number"), ("1_000", "not a number"), ("12 34", "not a number"),
    ("100%", "percent sign"), ("５０％", "percent sign"), ("-5", "at least 0"),
    ("1e-400", "decimal places"), ("0.001", "decimal places"), ("1\x00", "control character"),
])
def test_numbers_outside_their_column_are_refused_in_both_languages(cell, says):
    with pytest.raises(v.BadValue) as exc:
        v.parse_decimal(cell, **MONEY)
    assert says in exc.value.en and exc.value.zh and len(exc.value.en) < 200


@pytest.mark.parametrize("cell, value", [
    ("999999999999.99", Decimal("999999999999.99")), ("1e3", Decimal("1000.00")),
    ("1,234.5", Decimal("1234.50")), (0.1, Decimal("0.10")), ("0", Decimal("0.00")),
    ("+7", Decimal("7.00")), (".5", Decimal("0.50")),
])
def test_numbers_within_their_column_are_read_exactly(cell, value):
    assert v.parse_decimal(cell, **MONEY) == value


def test_a_percent_sign_is_the_unit_of_a_ratio_column_only():
    ratio = dict(places=6, minimum=Decimal(0), maximum=Decimal(100), digits=9, percent=True)
    assert v.parse_decimal("60%", **ratio) == Decimal(60)
    assert v.parse_decimal("60", **ratio) == Decimal(60)
    assert v.parse_decimal("12.5 ％", **ratio) == Decimal("12.5")
    with pytest.raises(v.BadValue, match="at most 100"):
        v.parse_decimal("150%", **ratio)


def test_every_decimal_column_takes_its_limits_from_its_model_field():
    from django.apps import apps

    from towerledger.exchange.registry import KINDS

    checked = 0
    for kind in KINDS.values():
        for f in kind.schema.fields:
            kw = getattr(f.parse, "keywords", {})
            if getattr(f.parse, "func", None) is v.parse_decimal:
                assert kw["digits"] and kw["digits"] > kw["places"], (kind.name, f.name)
                checked += 1
    assert checked >= 20 and apps.ready


def test_integers_too_large_are_a_row_error_not_a_crash():
    with pytest.raises(v.BadValue, match="out of range"):
        v.parse_int("1e400", 1, 24)


@pytest.mark.parametrize("parse, good, bad", [
    (schema.code, ["S0100000123", "T-ZZ001-CMCC", "A_1.2", "4101000012"],
     ["ZZ/01", "站001", "A 1", "a\tb", "x\x00", "<b>", "Z" * 41]),
    (schema.code_of("chinese", 60), ["物业2024-05", "ZG0100000001-202405"], ["B/1", "B 1"]),
    (schema.code_of("reference", 60), ["A-100/B-2405#1", "PAY000000001"], ["P 1", "支付1"]),
])
def test_codes_take_only_their_columns_characters(parse, good, bad):
    for s in good:
        assert parse(s) == s
    for s in bad:
        with pytest.raises(v.BadValue) as exc:
            parse(s)
        assert exc.value.zh and exc.value.en


@pytest.mark.parametrize("cell", ["a\x00b", "\x1b[31m", "x\x7f"])
def test_control_characters_in_text_are_refused(cell):
    for parse in (schema.name, schema.org_name, schema.yes_no):
        with pytest.raises(v.BadValue, match="control character"):
            parse(cell)


def test_names_keep_line_breaks_and_tabs():
    assert schema.name("一号\n站") == "一号\n站"
