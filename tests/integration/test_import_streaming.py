"""Imports stream (issue 18): a file is parsed, checked and stored part by part in one
transaction, so memory does not grow with it; what the user sees is the same as for a file
taken whole: every bad row reported (repeats across parts too), nothing stored unless all
rows are good, the error report with every row."""

import csv

import pytest

from tests.helpers import write_csv
from towerledger.access.models import AuditEntry
from towerledger.bills.models import Bill, MeterDay
from towerledger.exchange import services
from towerledger.exchange.services import run_import

pytestmark = pytest.mark.django_db

SMART = ["site_code", "date", "kwh", "dc_current_a", "dc_voltage"]
BILLS = ["缴费单号", "电表户号", "起始日期", "截止日期", "起度", "止度", "倍率", "损耗电量",
         "用电量", "单价", "金额", "进项税额", "票据类型", "支付日期", "支付流水号"]


@pytest.fixture
def parts_of_two(monkeypatch):
    """Parts of two rows: a five-row file goes in three parts."""
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)


def days(n, site="ZZ001"):
    return [[site, f"2024-05-{d:02d}", "100.5", "40", "53.5"] for d in range(1, n + 1)]


def report_rows(path):
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_a_repeat_in_a_later_part_names_the_first_row_and_nothing_is_stored(
        province, tmp_path, parts_of_two):
    rows = days(5) + [["ZZ001", "2024-05-02", "7", "", ""]]
    result = run_import("smartmeter", write_csv(tmp_path / "m.csv", SMART, rows))
    assert not result.stored and result.error_count == 1
    (e,) = result.errors
    assert (e.row, e.column) == (7, "site_code") and "row 3" in e.en and "第 3 行" in e.zh
    assert MeterDay.objects.count() == 0    # the first parts' rows were rolled back
    report = report_rows(result.error_report)
    assert len(report) == 7 and report[6][-1].startswith("[site_code]")
    assert [r[-1] for r in report[1:6]] == [""] * 5


def test_a_bad_row_in_the_last_part_stores_nothing_and_keep_going_stores_the_rest(
        province, tmp_path, parts_of_two):
    rows = days(4) + [["NO-SUCH", "2024-05-09", "1", "", ""]]
    path = write_csv(tmp_path / "m.csv", SMART, rows)
    refused = run_import("smartmeter", path)
    assert not refused.stored and [e.row for e in refused.errors] == [6]
    assert MeterDay.objects.count() == 0
    kept = run_import("smartmeter", path, keep_going=True, reason="r")
    assert kept.stored and kept.set_aside == 1 and kept.counts.created == 4
    assert MeterDay.objects.count() == 4 and kept.rows == 5
    assert AuditEntry.objects.filter(action="import", object_key="m.csv").count() == 1
    again = run_import("smartmeter", write_csv(tmp_path / "m2.csv", SMART, days(4)))
    assert again.stored and again.counts.unchanged == 4     # idempotent in parts too


def test_a_payment_reference_repeated_in_another_part_is_refused(province, tmp_path,
                                                                 parts_of_two):
    def bill(no, ref):
        return [no, "A-100", "2024-05-01", "2024-05-31", "", "", "", "", "100", "1.1",
                "110.00", "", "", "2024-06-02", ref]

    rows = [bill("B-1", "P-1"), bill("B-2", "P-2"), bill("B-3", "P-3"), bill("B-4", "P-1")]
    result = run_import("bills", write_csv(tmp_path / "b.csv", BILLS, rows))
    assert not result.stored and Bill.objects.count() == 0
    assert [(e.row, e.column, e.en) for e in result.errors] == [
        (5, "payment_ref", "payment_ref P-1 repeats row 2")]


def test_the_errors_kept_are_capped_but_all_are_counted_and_reported(province, tmp_path,
                                                                     parts_of_two,
                                                                     monkeypatch):
    monkeypatch.setattr(services, "KEEP_ERRORS", 3)
    rows = [[f"NO-{i}", "2024-05-01", "1", "", ""] for i in range(5)]
    result = run_import("smartmeter", write_csv(tmp_path / "m.csv", SMART, rows))
    assert result.error_count == 5 and [e.row for e in result.errors] == [2, 3, 4]
    assert sum(1 for r in report_rows(result.error_report)[1:] if r[-1]) == 5


def test_chinese_that_starts_late_in_a_gb18030_file_is_read(province, tmp_path):
    """The encoding is judged on a sample: when the head is plain ASCII, on the first block
    that is not."""
    rows = days(3) + [[f"ZZ-{i:06d}", "2024-05-01", "1", "", ""] for i in range(45_000)]
    rows.append(["郑州市金水区站址", "2024-05-01", "1", "", ""])
    path = write_csv(tmp_path / "late.csv", SMART, rows, encoding="gb18030")
    assert path.stat().st_size > 1 << 20
    result = run_import("smartmeter", path)
    assert result.error_count == 45_001         # unknown sites, and the code with 站址
    last = report_rows(result.error_report)[-1]
    assert last[0] == "郑州市金水区站址" and "「郑」" in last[-1]


def test_bytes_of_another_encoding_after_the_head_are_refused_naming_the_row(province,
                                                                             tmp_path):
    path = tmp_path / "mixed.csv"
    blank = (1 << 20) + 10
    with path.open("wb") as f:
        f.write("site_code,date,kwh\n站址,2024-05-01,1\n".encode())  # UTF-8 in the head
        f.write(b"\n" * blank)
        f.write("郑州,2024-05-02,1\n".encode("gb18030"))
    result = run_import("smartmeter", path)
    assert not result.stored and MeterDay.objects.count() == 0
    (e,) = [e for e in result.errors if e.row == 0]
    assert [e.row for e in result.errors] == [0, 2] and f"row {blank + 3:,} is not in utf-8" in e.en
    assert f"第 {blank + 3:,} 行" in e.zh
