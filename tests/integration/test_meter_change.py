"""A declared meter change through the bills import (issue 12): the readings of the old
meter's end and the new meter's start are columns; consumption is both meters' sum, so the
bill passes READING_MISMATCH and METER_ROLLBACK; without the change it is a rollback."""

from decimal import Decimal

from tests.helpers import write_csv
from tests.integration.test_bills import BILL_HEADER, MAY, bill
from towerledger.bills.models import Flag
from towerledger.exchange.services import run_import

HEADER = [*BILL_HEADER, "是否换表", "旧表止码", "新表起码"]
# MAY is 10000 → 14320 on one meter; here the meter was changed at 11500, the new one ran
# from 0 to 2820: (11500 − 10000) + (2820 − 0) = 4320 kWh, as the bill says
CHANGED = [*MAY[:5], "2820", *MAY[6:], "是", "11500", "0"]


def _import(tmp_path, rows, name="bills.csv"):
    return run_import("bills", write_csv(tmp_path / name, HEADER, rows, "utf-8"))


def _codes(b):
    return set(Flag.objects.filter(bill=b).values_list("code", flat=True))


def test_a_declared_meter_change_imports_and_passes_the_reading_rules(province, tmp_path):
    result = _import(tmp_path, [CHANGED])
    assert result.stored, [e.text() for e in result.errors]
    b = bill("A-100", "B-2405")
    assert (b.meter_changed, b.old_meter_end_reading, b.new_meter_start_reading) == (
        True, Decimal("11500"), Decimal("0"))
    assert not {"READING_MISMATCH", "METER_ROLLBACK"} & _codes(b)


def test_kwh_is_derived_across_both_meters_when_the_file_leaves_it_out(province, tmp_path):
    row = list(CHANGED)
    row[BILL_HEADER.index("用电量")] = ""
    assert _import(tmp_path, [row]).stored
    assert bill("A-100", "B-2405").kwh == Decimal("4320")


def test_the_same_readings_without_the_change_are_a_rollback(province, tmp_path):
    row = [*CHANGED[:-3], "否", "", ""]
    assert _import(tmp_path, [row]).stored
    assert "METER_ROLLBACK" in _codes(bill("A-100", "B-2405"))


def test_one_meter_reading_without_the_other_is_a_row_error(province, tmp_path):
    row = [*CHANGED[:-1], ""]
    result = _import(tmp_path, [row])
    assert not result.stored
    text = " ".join(e.text() for e in result.errors)
    assert "新表起码" in text or "new_meter_start_reading" in text
