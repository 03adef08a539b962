"""The dated tax-factor table (税负因子表, DOMAIN.md §3, issue 12): imported with Chinese
headers whatever the row order, the one lookup's precedence (account > operator > province >
all provinces > formula), one factor per bill (the row in force on the period end), an
operator refusing the gross-up (f = 0, the tower bears the tax), dated and audited edits
that never rewrite the past, and nobody but a province admin writes it."""

from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.db.models import Sum
from django.utils import timezone

from tests.helpers import write_csv
from tests.integration.test_bills import BILL_HEADER, bill, import_bills
from towerledger.access.models import AuditEntry
from towerledger.analysis.books import check_books
from towerledger.bills import services as bill_services
from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.exchange.export import export_kind
from towerledger.exchange.services import run_import
from towerledger.importers.reader import read_table
from towerledger.ledger.models import JournalLine
from towerledger.org.models import Operator, Province
from towerledger.settlement.models import Line
from towerledger.sites.models import SupplyAccount, TaxFactorRate
from towerledger.sites.tax_factors import add_rate, load_table, withdraw_rate

D = Decimal
HEADER = ["省份", "运营商", "电表户号", "供电方式", "票据类型", "生效日期", "税负因子(%)", "终止覆盖",
          "说明"]
ROWS = [
    ["河南省", "", "", "", "普通发票", "2024-01-01", "12", "", "省份行"],
    ["河南省", "联通", "", "", "GENERAL", "2024-01-01", "10%", "", "联通协议"],
    ["河南省", "联通", "", "", "GENERAL", "2024-07-01", "", "是", "联通协议到期"],
    ["", "CTCC", "", "", "", "2024-01-01", "0", "", "电信拒绝加价"],
    ["", "", "A-100", "", "", "2024-01-01", "5", "", "户号覆盖"],
    ["河南省", "", "", "转供", "SPECIAL_3", "2024-01-01", "9.5", "", ""],
]


def imported(tmp_path, rows, user=None, name="税负因子.csv"):
    return run_import("tax_factors", write_csv(tmp_path / name, HEADER, rows), user)


def table_state():
    return sorted(tuple(str(v) for v in (r.effective_from, r.province_id, r.operator_id,
                                         r.account_id, r.supply_mode, r.invoice_type, r.factor,
                                         r.note)) for r in TaxFactorRate.objects.all())


def lookup(account="A-200", operator="CMCC", invoice="GENERAL", on=date(2024, 5, 31),
           mode="DIRECT", province="河南省", qs=None):
    table = load_table(qs)
    return table.lookup(province=Province.objects.get(name=province).pk, operator=operator,
                        account=SupplyAccount.objects.get(account_no=account).pk,
                        supply_mode=mode, invoice_type=invoice, on=on)


def test_chinese_headers_import_and_the_order_of_rows_does_not_matter(province, tmp_path):
    seeded = table_state()
    first = imported(tmp_path, ROWS)
    assert first.stored, [e.text() for e in first.errors]
    assert first.counts.created == 6
    after = table_state()
    cucc = TaxFactorRate.objects.get(operator__code="CUCC", effective_from=date(2024, 1, 1))
    assert (cucc.factor, cucc.invoice_type, cucc.province.name) == (D("0.1000"), "GENERAL",
                                                                    "河南省")
    assert TaxFactorRate.objects.get(operator__code="CUCC",
                                     effective_from=date(2024, 7, 1)).factor is None
    a100 = TaxFactorRate.objects.get(account__account_no="A-100")
    assert a100.province.name == "河南省"          # filed under the account's province
    # every row is in the audit log with its after-image
    logged = AuditEntry.objects.filter(action="tax_factor.import")
    assert logged.count() == 6 and all(e.after and e.before is None for e in logged)
    # the same rows in reverse give the same table; again, nothing changes
    TaxFactorRate.objects.exclude(pk__in=[r.pk for r in TaxFactorRate.objects.filter(
        effective_from=date(2000, 1, 1))]).delete()
    assert table_state() == seeded
    reverse = imported(tmp_path, list(reversed(ROWS)), name="reversed.csv")
    assert reverse.stored and table_state() == after
    again = imported(tmp_path, ROWS[3:] + ROWS[:3], name="again.csv")
    assert again.stored and again.counts.unchanged == 6 and table_state() == after


def test_xlsx_and_the_export_round_trip(province, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    for row in ROWS:
        wb.active.append(row)
    wb.save(tmp_path / "税负因子.xlsx")
    assert run_import("tax_factors", tmp_path / "税负因子.xlsx").stored
    before = table_state()
    out = tmp_path / "export.csv"
    export_kind("tax_factors", None, "csv", out)
    table = read_table(out)
    assert "factor_pct" in table.headers and len(table.rows) == 6 + 6   # and the seeded rows
    back = run_import("tax_factors", out)
    assert back.stored and back.counts.unchanged == 12 and table_state() == before


def test_bad_rows_are_row_errors_and_nothing_is_written(province, tmp_path):
    before = table_state()
    result = imported(tmp_path, [
        ["河北省", "", "", "", "GENERAL", "2024-01-01", "12", "", ""],
        ["", "", "NO-SUCH", "", "", "2024-01-01", "5", "", ""],
        ["河南省", "", "", "", "GENERAL", "2024-02-01", "", "", ""],
        ["河南省", "", "", "", "GENERAL", "2024-03-01", "3", "是", ""],
        ["河南省", "", "", "", "GENERAL", "2024-04-01", "101", "", ""],
        ["河南省", "", "", "", "GENERAL", "2024-05-01", "12", "", ""],
    ])
    assert not result.stored and table_state() == before
    by_row = {e.row: e for e in result.errors}
    assert set(by_row) == {2, 3, 4, 5, 6}
    assert "河北省" in by_row[2].zh and "no such province" in by_row[2].en
    assert "NO-SUCH" in by_row[3].en and by_row[3].column == "account_no"
    assert by_row[4].column == "税负因子(%)" or by_row[4].column == "factor_pct"
    assert "at most 100" in by_row[6].en


def test_precedence_account_then_operator_then_province_then_default_then_formula(
        province, tmp_path):
    assert imported(tmp_path, ROWS).stored
    found = lookup(account="A-100", operator="CUCC", mode="RESUPPLY")
    assert (found.factor, found.level) == (D("0.0500"), "ACCOUNT")   # beats CUCC's 10 %
    assert found.row.id == TaxFactorRate.objects.get(account__account_no="A-100").pk
    found = lookup(operator="CUCC")
    assert (found.factor, found.level) == (D("0.1000"), "OPERATOR")
    found = lookup(operator="CTCC", invoice="SPECIAL_1")         # refuses the gross-up
    assert (found.factor, found.level) == (D("0.0000"), "OPERATOR")
    found = lookup(operator="CMCC")
    assert (found.factor, found.level) == (D("0.1200"), "PROVINCE")
    found = lookup(operator="CMCC", invoice="SPECIAL_3", mode="RESUPPLY")
    assert found.factor == D("0.0950")                  # the supply type's row
    found = lookup(operator="CMCC", invoice="SPECIAL_3", mode="DIRECT")
    assert (found.factor, found.level) == (D("0.0971"), "DEFAULT")   # the seeded table
    Province.objects.create(name="河北省")
    found = lookup(operator="CUCC", province="河北省")
    assert (found.factor, found.level) == (D("0.1300"), "DEFAULT")
    found = lookup(operator="CMCC", invoice="SPECIAL_9", qs=TaxFactorRate.objects.none())
    assert (found.factor, found.level, found.row) == (D("0.0367"), "FORMULA", None)
    # CUCC's override ended on 1 July: the province's row applies again
    found = lookup(operator="CUCC", on=date(2024, 7, 31))
    assert (found.factor, found.level) == (D("0.1200"), "PROVINCE")


def pay(tmp_path, users, rows):
    assert import_bills(tmp_path, rows).stored
    bills = [bill(r[1], r[0]) for r in rows]
    result = bill_services.pay_bills([b.pk for b in bills], users["clerk_zz"],
                                     timezone.localdate(), reason="test")
    assert sorted(result.paid) == sorted(b.pk for b in bills)
    return bills


def lines_of(b):
    return {ln.tenancy.tenancy_id: ln for ln in Line.objects.filter(bill=b, tenancy__isnull=False)
            .select_related("tenancy", "explained")}


# A-100 (RESUPPLY, GENERAL) feeds ZZ001: CMCC, CUCC from January, CTCC from 17 May, all RESALE
SPANNING = ["B-2405", "A-100", "2024-05-01", "2024-05-31", "10000", "14320", "1", "", "4320",
            "1.10", "4752.00", "", "普通发票", "", ""]


def test_a_bill_spanning_a_change_takes_the_row_in_force_on_its_period_end(
        province, users, tmp_path):
    assert len(BILL_HEADER) == len(SPANNING)
    old = add_rate(users["admin"], effective_from=date(2024, 1, 1), factor=D("0.1200"),
                   province=Province.objects.get(name="河南省"), invoice_type="GENERAL",
                   reason="省公司文件")
    new = add_rate(users["admin"], effective_from=date(2024, 5, 20), factor=D("0.1100"),
                   province=Province.objects.get(name="河南省"), invoice_type="GENERAL",
                   reason="省公司新文件")
    (b,) = pay(tmp_path, users, [SPANNING])
    lines = lines_of(b)
    for ln in lines.values():   # 19 of the 31 days under 12 %, yet one factor: the end's
        assert ln.tax_factor == D("0.1100")
        assert ln.tax_amount == (ln.cost_share * D("0.11")).quantize(D("0.01"))
        source = ln.trace["tax_factor_source"]
        assert source == {"factor": "0.1100", "level": "PROVINCE", "on": "2024-05-31",
                          "row_id": new.pk, "effective_from": "2024-05-20"}
        assert f"第 {new.pk} 行" in ln.trace["text_zh"]
        assert f"row {new.pk}" in ln.trace["text_en"]
    assert old.pk != new.pk
    # a row added afterwards, dated in the past, never rewrites a pushed line
    pushed = {k: (ln.tax_factor, ln.receivable) for k, ln in lines.items()}
    add_rate(users["admin"], effective_from=date(2024, 5, 25), factor=D("0.0500"),
             province=Province.objects.get(name="河南省"), invoice_type="GENERAL",
             reason="补录")
    assert {k: (ln.tax_factor, ln.receivable) for k, ln in lines_of(b).items()} == pushed


def test_an_operator_refusing_the_gross_up_gets_zero_and_the_tower_bears_the_tax(
        province, users, tmp_path):
    add_rate(users["admin"], effective_from=date(2024, 1, 1), factor=D("0"),
             operator=Operator.objects.get(code="CTCC"), note="电信不接受税负因子",
             reason="协议")
    (b,) = pay(tmp_path, users, [SPANNING])
    lines = lines_of(b)
    ctcc, cmcc = lines["T-ZZ001-CTCC"], lines["T-ZZ001-CMCC"]
    assert ctcc.cost_share > 0
    assert (ctcc.tax_factor, ctcc.tax_amount) == (D("0.0000"), D("0.00"))
    assert ctcc.receivable == ctcc.cost_share
    assert ctcc.trace["tax_factor_source"]["level"] == "OPERATOR"
    assert cmcc.tax_factor == D("0.1300") and cmcc.receivable == cmcc.cost_share + \
        (cmcc.cost_share * D("0.13")).quantize(D("0.01"))
    assert cmcc.trace["tax_factor_source"]["level"] == "DEFAULT"
    totals = JournalLine.objects.filter(account="TAX_FACTOR").aggregate(c=Sum("credit"))
    assert totals["c"] == sum(ln.tax_amount for ln in lines.values())
    assert check_books() == []


def test_edits_are_dated_audited_and_never_rewrite_the_past(province, users, tmp_path):
    admin, henan = users["admin"], Province.objects.get(name="河南省")
    today = timezone.localdate()
    past = add_rate(admin, effective_from=date(2024, 1, 1), factor=D("0.12"), province=henan,
                    invoice_type="GENERAL", reason="文件一")
    entry = AuditEntry.objects.get(action="tax_factor.add")
    assert entry.user == admin and entry.reason == "文件一"
    assert entry.after["factor"] == "0.1200" and entry.object_key.endswith("@2024-01-01")
    with pytest.raises(DomainError) as exc:
        add_rate(admin, effective_from=date(2024, 1, 1), factor=D("0.10"), province=henan,
                 invoice_type="GENERAL", reason="改写")
    assert exc.value.code == ErrorCode.CONFLICT and "new" in exc.value.en
    with pytest.raises(DomainError):
        withdraw_rate(admin, past.pk, reason="撤销")
    assert TaxFactorRate.objects.get(pk=past.pk).factor == D("0.1200")
    # a row not yet in force may still change, and be withdrawn; both logged
    later = today + timedelta(days=30)
    future = add_rate(admin, effective_from=later, factor=D("0.11"), province=henan,
                      invoice_type="GENERAL", reason="预告")
    add_rate(admin, effective_from=later, factor=D("0.105"), province=henan,
             invoice_type="GENERAL", reason="更正")
    change = AuditEntry.objects.get(action="tax_factor.change")
    assert (change.before["factor"], change.after["factor"]) == ("0.1100", "0.1050")
    withdraw_rate(admin, future.pk, reason="取消")
    assert not TaxFactorRate.objects.filter(pk=future.pk).exists()
    assert AuditEntry.objects.filter(action="tax_factor.withdraw").count() == 1
    # the import holds the same rule: a row in force is a row error, nothing written
    result = imported(tmp_path, [["河南省", "", "", "", "GENERAL", "2024-01-01", "10", "", ""],
                                 ["河南省", "", "", "", "GENERAL", "2024-06-01", "10", "", ""]],
                      admin)
    assert not result.stored
    assert [(e.row, "cannot be rewritten" in e.en) for e in result.errors] == [(2, True)]
    assert TaxFactorRate.objects.filter(effective_from=date(2024, 6, 1)).count() == 0
    with pytest.raises(DomainError) as exc:
        add_rate(admin, effective_from=today, factor=D("0.1"), reason=" ")
    assert exc.value.code == ErrorCode.INVALID


def test_only_a_province_admin_writes_the_table(province, users, tmp_path):
    before = table_state()
    for who in ("clerk_zz", "viewer", "cmcc"):
        result = imported(tmp_path, ROWS, users[who])
        assert not result.stored and result.errors[0].row == 0, who
        with pytest.raises(DomainError) as exc:
            add_rate(users[who], effective_from=date(2024, 1, 1), factor=D("0"),
                     reason="试试")
        assert exc.value.code == ErrorCode.FORBIDDEN
        with pytest.raises(DomainError):
            withdraw_rate(users[who], TaxFactorRate.objects.first().pk, reason="试试")
    clerk = imported(tmp_path, ROWS, users["clerk_zz"])
    assert "省管理员" in clerk.errors[0].zh and "province admin" in clerk.errors[0].en
    assert table_state() == before
    assert imported(tmp_path, ROWS, users["admin"]).stored


def test_the_bulk_path_reads_the_table_once_whatever_the_number_of_bills(
        province, users, tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert imported(tmp_path, ROWS).stored
    months = [(f"B-24{m:02d}", f"2024-{m:02d}-01",
               f"2024-{m:02d}-{28 if m == 2 else 30 if m in (4, 6, 9, 11) else 31}")
              for m in range(1, 13)]
    rows = [[no, "A-100", start, end, "", "", "", "", "1000", "1.10", "1100.00", "",
             "GENERAL", "", ""] for no, start, end in months]
    assert import_bills(tmp_path, rows).stored
    ids = [bill("A-100", no).pk for no, _, _ in months]
    with CaptureQueriesContext(connection) as queries:   # payment allocates and pushes
        result = bill_services.pay_bills(ids, users["clerk_zz"], timezone.localdate(),
                                         reason="test")
    assert sorted(result.paid) == sorted(ids)
    assert Line.objects.filter(bill_id__in=ids).values("bill_id").distinct().count() == 12
    reads = [q["sql"] for q in queries.captured_queries if "taxfactorrate" in q["sql"].lower()]
    assert len(reads) == 1, reads
    # and every line's factor is the account override's, named in its explanation
    lines = Line.objects.filter(bill_id__in=ids, tenancy__isnull=False).select_related(
        "explained")
    assert {ln.tax_factor for ln in lines} == {D("0.0500")}
    assert {ln.trace["tax_factor_source"]["level"] for ln in lines} == {"ACCOUNT"}
    assert check_books() == []
