"""总账凭证 The general-ledger export of a month (payments, allocations, accruals …): it
balances per voucher and in total, ties account by account to the journal (what
`towerledger check` checks), refuses unmapped accounts by name, and is formula-safe."""

import csv
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.db.models import Sum
from typer.testing import CliRunner

from tests.integration.test_accruals import WORKED
from tests.integration.test_bills import import_bills
from towerledger.analysis.books import check_books
from towerledger.analysis.close import close_month
from towerledger.cli import app, explain
from towerledger.ledger.models import JournalLine
from towerledger.programs.accruals import gl
from towerledger.programs.accruals.models import GlMapping

D = Decimal
JUNE = date(2024, 6, 1)


@pytest.fixture
def june(province, users, tmp_path):
    rows = [list(r) for r in WORKED]
    for r, (paid, ref) in zip(rows[2:], [("2024-06-05", "PAY-G05"), ("", ""),
                                         ("2024-06-06", "PAY-B05"), ("", "")], strict=True):
        r[13], r[14] = paid, ref          # May's bills paid (and allocated) in June
    assert import_bills(tmp_path, rows, name="june.csv").stored
    close_month(JUNE, users["admin"], as_of=date(2024, 7, 5))


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:-1], rows[-1]


def test_export_balances_and_ties_to_the_journal(june, tmp_path):
    out = tmp_path / "gl.csv"
    r = CliRunner().invoke(app, ["gl-export", "--month", "2024-06", "--format", "csv",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    header, lines, footer = read_csv(out)
    assert header[0] == "凭证号 voucher_no" and footer[0] == "合计 Total"
    by_voucher, by_account, kinds = {}, {}, set()
    for ln in lines:
        d, c = D(ln[11] or "0"), D(ln[12] or "0")
        v = by_voucher.setdefault(ln[0], [D(0), D(0)])
        v[0] += d
        v[1] += c
        a = by_account.setdefault(ln[5], [D(0), D(0)])
        a[0] += d
        a[1] += c
        kinds.add(ln[2])
    assert all(d == c for d, c in by_voucher.values())
    assert {"PAYMENT", "ACCRUAL"} <= kinds       # (allocations are dated the day they ran)
    assert "ACCRUAL_REVERSAL" not in kinds            # dated 1 July: July's journal
    journal = JournalLine.objects.filter(entry__date__gte=JUNE, entry__date__lte=date(2024, 6, 30))
    total = journal.aggregate(d=Sum("debit"), c=Sum("credit"))
    assert D(footer[11]) == D(footer[12]) == total["d"] == total["c"]
    expected = {a: [d, c] for a, (d, c) in gl.journal_totals(JUNE).items() if d or c}
    assert {a: v for a, v in by_account.items()} == expected
    assert by_account["ACCRUAL_COST"] == [D("1264.67"), D("0")]      # the worked example
    assert by_account["ACCRUED"] == [D("0"), D("1264.67")]
    assert check_books() == []                                       # `towerledger check`
    assert "贷方合计 credit" in r.output


def test_xlsx_export_and_unmapped_accounts_are_refused_by_name(june, tmp_path):
    out = tmp_path / "gl.xlsx"
    assert CliRunner().invoke(app, ["gl-export", "--month", "2024-06", "--format", "xlsx",
                                    "--out", str(out)]).exit_code == 0
    ws = openpyxl.load_workbook(out).active
    values = list(ws.iter_rows(values_only=True))
    body, footer = values[1:-1], values[-1]
    assert sum(D(str(v[11] or 0)) for v in body) == D(str(footer[11])) == D(str(footer[12]))
    # the admin empties ACCRUED's code: the export is refused, naming it (zh + en)
    GlMapping.objects.filter(account="ACCRUED").update(subject_code="")
    GlMapping.objects.filter(account="CASH").delete()
    r = CliRunner().invoke(app, ["gl-export", "--month", "2024-06", "--out",
                                 str(tmp_path / "no.csv")])
    assert r.exit_code == 1
    code, line = explain(r.exception)          # what the command prints: one bilingual line
    assert code == 1 and "未配置总账映射" in line and "no general-ledger mapping" in line
    assert line.count("ACCRUED, CASH") == 2
    assert not (tmp_path / "no.csv").exists()


def test_mapping_text_is_formula_safe(june, tmp_path, users):
    gl.ensure_defaults()
    gl.update_mapping("ACCRUED", "2202.01", "=HYPERLINK(\"x\")", ("city",), users["admin"],
                      "测试 test")
    headers, rows = gl.table(gl.vouchers(JUNE))
    out = tmp_path / "safe.csv"
    with out.open("w", encoding="utf-8-sig", newline="") as f:
        from towerledger.exchange.files import write_csv
        write_csv(f, headers, rows)
    _, lines, _ = read_csv(out)
    names = {ln[7] for ln in lines if ln[5] == "ACCRUED"}
    assert names == {"'=HYPERLINK(\"x\")"}
    # ACCRUED now keeps only the city: one credit line in the accrual voucher
    assert [(ln[8], ln[9], ln[12]) for ln in lines if ln[5] == "ACCRUED"] == [
        ("郑州市", "", "1264.67")]
