"""Bill intake, audits on import, payment and its journal, on the small province of helpers."""

from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.db.models import Sum

from tests.helpers import write_csv
from towerledger.bills import services
from towerledger.bills.models import Bill, Flag
from towerledger.exchange.export import export_kind
from towerledger.exchange.services import run_import
from towerledger.importers.reader import read_table
from towerledger.ledger.models import JournalEntry, JournalLine

BILL_HEADER = ["缴费单号", "电表户号", "起始日期", "截止日期", "起度", "止度", "倍率", "损耗电量",
               "用电量", "单价", "金额", "进项税额", "票据类型", "支付日期", "支付流水号"]

# The worked example of DOMAIN.md §3: 4,320 kWh at 1.10 = 4,752.00 on a resupplied site.
MAY = ["B-2405", "A-100", "2024-05-01", "2024-05-31", "10000", "14320", "1", "", "4320",
       "1.10", "4752.00", "", "普通发票", "", ""]
JUNE = ["B-2406", "A-100", "2024/6/1", "2024年6月30日", "14320", "18500", "1", "", "4180",
        "1.10", "4598.00", "", "GENERAL", "2024-07-02", "PAY-2406"]
GRID = ["G-2405", "A-200", "2024-05-01", "2024-05-31", "", "", "", "", "3000", "0.62",
        "1860.00", "213.98", "SPECIAL_13", "2024-06-05", "PAY-G2405"]


def import_bills(tmp_path, rows, name="bills.csv", encoding="utf-8", **kw):
    return run_import("bills", write_csv(tmp_path / name, BILL_HEADER, rows, encoding), **kw)


def bill(account_no, bill_no, dup_seq=0) -> Bill:
    return Bill.objects.get(account__account_no=account_no, bill_no=bill_no, dup_seq=dup_seq)


def test_gbk_csv_with_chinese_headers_imports_and_reimport_adds_nothing(province, tmp_path):
    first = import_bills(tmp_path, [MAY, JUNE, GRID], encoding="gb18030")
    assert first.stored, [e.text() for e in first.errors]
    assert first.counts.created == 3
    may = bill("A-100", "B-2405")
    assert (may.kwh, may.amount, may.invoice_type) == (Decimal("4320"), Decimal("4752.00"),
                                                       "GENERAL")
    assert bill("A-100", "B-2406").period_end == date(2024, 6, 30)
    again = import_bills(tmp_path, [MAY, JUNE, GRID], encoding="gb18030")
    assert again.stored and again.counts.created == 0 and again.counts.unchanged == 3
    assert Bill.objects.count() == 3
    assert JournalEntry.objects.filter(kind="PAYMENT").count() == 2


def test_bad_rows_are_all_reported_in_both_languages_and_nothing_is_written(province, tmp_path):
    bad = [
        MAY,
        ["B-1", "NO-SUCH", "2024-05-01", "2024-05-31", "", "", "", "", "10", "1", "10", ""],
        ["B-2", "A-100", "2024-05-31", "2024-05-01", "", "", "", "", "10", "1", "10", ""],
        ["B-3", "A-100", "2024-05-01", "2024-05-31", "", "", "", "", "abc", "1", "10", ""],
        ["B-4", "A-100", "2024-05-01", "2024-05-31", "100", "", "", "", "", "1", "10", ""],
        ["B-5", "A-100", "2024-05-01", "2024-05-31", "", "", "", "", "10", "1", "10", "", "",
         "2999-01-01", "X"],
    ]
    result = import_bills(tmp_path, bad, name="坏账单.csv")
    assert not result.stored
    assert Bill.objects.count() == 0
    by_row = {}
    for e in result.errors:
        by_row.setdefault(e.row, []).append(e)
    assert set(by_row) == {3, 4, 5, 6, 7}
    assert "NO-SUCH" in by_row[3][0].zh and "unknown account_no" in by_row[3][0].en
    assert [(e.column, "before" in e.en) for e in by_row[4]] == [("period_end", True)]
    assert [e.column for e in by_row[5]] == ["用电量"]
    assert any("起度和止度" in e.zh for e in by_row[6])
    assert [(e.column, "future" in e.en) for e in by_row[7]] == [("paid_date", True)]
    report = read_table(result.error_report)
    assert report.headers[-1] == "错误说明 / errors"
    notes = {i + 2: row[-1] for i, row in enumerate(report.rows)}
    assert notes[2] in ("", None) and "unknown account_no" in notes[3]


def test_keep_going_stores_good_rows_and_sets_bad_ones_aside(province, tmp_path):
    rows = [MAY, ["B-1", "NO-SUCH", "2024-05-01", "2024-05-31", "", "", "", "", "10", "1",
                  "10", ""]]
    result = import_bills(tmp_path, rows, keep_going=True)
    assert result.stored and result.set_aside == 1
    assert list(Bill.objects.values_list("bill_no", flat=True)) == ["B-2405"]
    assert result.error_report.exists()


def test_xlsx_bill_file_imports(province, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(BILL_HEADER)
    ws.append([*MAY[:2], date(2024, 5, 1), date(2024, 5, 31), 10000, 14320, 1, None, 4320,
               1.1, 4752, None, "GENERAL"])
    path = tmp_path / "bills.xlsx"
    wb.save(path)
    result = run_import("bills", path)
    assert result.stored, [e.text() for e in result.errors]
    assert bill("A-100", "B-2405").amount == Decimal("4752.00")


def test_paid_bill_posts_a_balanced_advance_split_by_site(province, tmp_path):
    assert import_bills(tmp_path, [GRID]).stored
    grid = bill("A-200", "G-2405")
    assert grid.status == Bill.Status.PAID and grid.paid_date == date(2024, 6, 5)
    entry = JournalEntry.objects.get(kind="PAYMENT", reference="PAY-G2405")
    lines = {(ln.account, ln.site.site_code if ln.site else None): (ln.debit, ln.credit)
             for ln in entry.lines.select_related("site")}
    # A-200 feeds ZZ002 (70 %) and ZZ003 (30 %)
    assert lines == {("ADVANCE", "ZZ002"): (Decimal("1302.00"), 0),
                     ("ADVANCE", "ZZ003"): (Decimal("558.00"), 0),
                     ("CASH", None): (0, Decimal("1860.00"))}
    payments = JournalLine.objects.filter(entry__kind="PAYMENT").aggregate(
        d=Sum("debit"), c=Sum("credit"))
    assert payments["d"] == payments["c"] == Decimal("1860.00")
    # the payment allocated the bill at once (T+0): the whole journal still balances
    totals = JournalLine.objects.aggregate(d=Sum("debit"), c=Sum("credit"))
    assert totals["d"] == totals["c"]
    assert JournalEntry.objects.filter(kind="ALLOCATION").count() == 1


def test_paying_is_idempotent_by_payment_ref(province, users, tmp_path):
    assert import_bills(tmp_path, [MAY]).stored
    may = bill("A-100", "B-2405")
    first = services.pay_bills([may.pk], users["clerk_zz"], date(2024, 6, 3), "月度支付",
                               payment_ref="BANK-1")
    retry = services.pay_bills([may.pk], users["clerk_zz"], date(2024, 6, 3), "月度支付",
                               payment_ref="BANK-1")
    assert first.paid == [may.pk] and retry.already_paid == [may.pk] and not retry.paid
    assert JournalEntry.objects.filter(reference="BANK-1").count() == 1
    assert JournalLine.objects.filter(entry__reference="BANK-1", account="CASH").get().credit \
        == Decimal("4752.00")


def test_a_clerk_cannot_pay_another_citys_bill(province, users, tmp_path):
    assert import_bills(tmp_path, [MAY]).stored
    with pytest.raises(services.ServiceError):
        services.pay_bills([bill("A-100", "B-2405").pk], users["clerk_ly"], date(2024, 6, 3))
    with pytest.raises(services.ServiceError):
        services.pay_bills([bill("A-100", "B-2405").pk], users["viewer"], date(2024, 6, 3))
    assert bill("A-100", "B-2405").status == Bill.Status.UNPAID


def test_price_above_cap_blocks_payment_until_resolved(province, users, tmp_path):
    dear = ["B-2405", "A-100", "2024-05-01", "2024-05-31", "10000", "14320", "1", "", "4320",
            "1.80", "7776.00", "", "GENERAL", "2024-06-02", "PAY-DEAR"]
    assert import_bills(tmp_path, [dear]).stored
    held = bill("A-100", "B-2405")
    assert held.status == Bill.Status.UNPAID and held.requested_paid_date == date(2024, 6, 2)
    flag = held.flags.get(code="PRICE_CAP")
    assert flag.severity == "BLOCK" and held.blocking >= 1
    assert Decimal(str(flag.figures["actual"])) == Decimal("1.80")
    result = services.pay_bills([held.pk], users["clerk_zz"], date(2024, 6, 3))
    assert result.blocked == [held.pk] and not JournalEntry.objects.exists()
    with pytest.raises(services.ServiceError):
        services.resolve_flag(flag.pk, users["clerk_zz"], "  ")
    for f in held.flags.filter(severity="BLOCK"):
        services.resolve_flag(f.pk, users["clerk_zz"], "业主合同约定电价，已核实")
    held.refresh_from_db()
    assert held.status == Bill.Status.PAID and held.paid_date == date(2024, 6, 2)
    assert JournalEntry.objects.filter(kind="PAYMENT").count() == 1


def test_same_bill_no_with_new_content_is_kept_as_a_flagged_duplicate(province, tmp_path):
    assert import_bills(tmp_path, [MAY]).stored
    resent = [*MAY[:9], "1.10", "4800.00", *MAY[11:]]
    result = import_bills(tmp_path, [resent], name="later.csv")
    assert result.stored and result.counts.created == 1
    dup = bill("A-100", "B-2405", dup_seq=1)
    assert dup.flags.filter(code="DUP_BILL_NO", severity="BLOCK").exists()
    assert not bill("A-100", "B-2405").flags.filter(code="DUP_BILL_NO").exists()


def test_reissued_content_under_a_new_number_is_flagged(province, tmp_path):
    copy = ["B-2405-R", *MAY[1:]]
    assert import_bills(tmp_path, [MAY, copy]).stored
    assert bill("A-100", "B-2405-R").flags.filter(code="DUP_CONTENT").exists()
    assert not bill("A-100", "B-2405").flags.filter(code="DUP_CONTENT").exists()


def test_whitelisting_closes_the_accounts_flags_of_that_rule(province, users, tmp_path):
    receipt = ["R-1", "A-100", "2024-05-01", "2024-05-31", "10000", "14320", "1", "", "4320",
               "1.10", "4752.00", "", "RECEIPT"]
    assert import_bills(tmp_path, [receipt]).stored
    flag = bill("A-100", "R-1").flags.get(code="INVOICE")
    services.whitelist_flag(flag.pk, users["admin"], "政府机关业主，无法开具发票")
    flag.refresh_from_db()
    assert flag.status == Flag.Status.WHITELISTED
    later = ["R-2", "A-100", "2024-06-01", "2024-06-30", "14320", "18500", "1", "", "4180",
             "1.10", "4598.00", "", "RECEIPT"]
    assert import_bills(tmp_path, [later], name="june.csv").stored
    assert not bill("A-100", "R-2").flags.filter(code="INVOICE").exists()


def test_payments_file_pays_named_bills(province, tmp_path):
    assert import_bills(tmp_path, [MAY]).stored
    path = write_csv(tmp_path / "pay.csv", ["缴费单号", "电表户号", "支付日期", "支付流水号"],
                     [["B-2405", "A-100", "2024-06-04", "BANK-9"]])
    result = run_import("payments", path)
    assert result.stored and result.counts.created == 1
    assert bill("A-100", "B-2405").payment_ref == "BANK-9"
    assert run_import("payments", path).counts.unchanged == 1
    bad = write_csv(tmp_path / "pay2.csv", ["缴费单号", "电表户号", "支付日期", "支付流水号"],
                    [["NOPE", "A-100", "2024-06-04", "BANK-10"]])
    refused = run_import("payments", bad)
    assert not refused.stored and refused.errors[0].row == 2


def test_lump_sum_landlord_bill_needs_no_kwh(province, tmp_path):
    from towerledger.sites.models import SupplyAccount

    SupplyAccount.objects.filter(account_no="A-300").update(lump_sum=True)
    rows = [["L-1", "A-300", "2024-04-01", "2024-06-30", "", "", "", "", "", "", "3600.00"],
            ["L-2", "A-100", "2024-04-01", "2024-04-30", "", "", "", "", "", "", "900.00"]]
    result = import_bills(tmp_path, rows)
    assert not result.stored
    assert [(e.row, e.column) for e in result.errors] == [(3, "kwh")]
    assert import_bills(tmp_path, rows[:1], name="lump.csv").stored


def test_export_bills_and_flags_with_canonical_names(province, users, tmp_path):
    dear = [*MAY[:9], "1.80", "7776.00", *MAY[11:]]
    assert import_bills(tmp_path, [dear]).stored
    out = tmp_path / "bills.csv"
    assert export_kind("bills", users["clerk_zz"], "csv", out) == 1
    table = read_table(out)
    assert table.headers[:3] == ["bill_no", "account_no", "period_start"]
    assert export_kind("bills", users["clerk_ly"], "csv", tmp_path / "none.csv") == 0
    flags = tmp_path / "flags.xlsx"
    assert export_kind("flags", users["admin"], "xlsx", flags) >= 1
    ftable = read_table(flags)
    assert "deviation_pct" in ftable.headers
    assert "PRICE_CAP" in {row[ftable.headers.index("rule")] for row in ftable.rows}
