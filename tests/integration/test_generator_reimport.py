"""油机发电: a re-import never changes the money of a run already paid or billed (the import
posts neither the payment entry nor the GENERATOR lines again, so the journal would keep the
old cost and GEN_ADVANCE ≠ runs paid − runs billed). Such a row is refused with its row,
column and reason in Chinese and English, and nothing of the file is written; an identical
re-import changes nothing; an unpaid, unbilled run is still corrected by a file."""

from datetime import date
from decimal import Decimal

import pytest

from tests.helpers import write_csv
from tests.integration.test_generator import R1, RUN_HEADER, RUNS, set_up
from towerledger.access.models import AuditEntry
from towerledger.analysis.books import check_books
from towerledger.exchange.services import run_import
from towerledger.ledger.models import JournalEntry, JournalLine
from towerledger.programs.generator import entry, services
from towerledger.programs.generator.models import Finding, Run
from towerledger.settlement.models import Line

D = Decimal
pytestmark = pytest.mark.django_db
R2 = RUNS[1]    # unpaid, 5 h on a 4 h outage (GEN_HOURS)
COLUMNS = ("litres", "fuel_price", "labour_cost", "transport_cost", "paid_date", "cost",
           "hours", "start", "end", "outage_id", "site_id")


def state():
    """Everything an import could change: the runs, the journal, the audit log."""
    runs = {r["run_no"]: r for r in Run.objects.values("run_no", *COLUMNS)}
    journal = list(JournalLine.objects.order_by("pk").values_list(
        "entry__reference", "account", "debit", "credit", "site_id"))
    return runs, journal, AuditEntry.objects.count()


def advance(site="ZZ001"):
    rows = JournalLine.objects.filter(account="GEN_ADVANCE", site__site_code=site)
    return sum((x.debit - x.credit for x in rows), D("0.00"))


def row(base, **changes):
    out = list(base)
    for column, value in changes.items():
        out[RUN_HEADER.index(column)] = value
    return out


def refused_by(tmp_path, user, *rows):
    """A one-file import of ``rows`` that must be refused: its (column, error)s."""
    refused = run_import("generator_runs", write_csv(tmp_path / "r.csv", RUN_HEADER, rows),
                         user)
    assert not refused.stored
    assert all(e.row == 2 for e in refused.errors), [e.text() for e in refused.errors]
    return [(e.column, e) for e in refused.errors]


def test_paid_run_refused_identical_nothing_unpaid_corrected(users, tmp_path):
    clerk = users["clerk_zz"]
    runs = set_up(tmp_path)
    assert run_import("generator_runs", runs, clerk).stored
    # paid (418.29 each), R-2 not
    assert advance() == D("836.58") and check_books() == []
    before = state()

    # a paid run re-imported with new litres: refused, the row and column named, nothing
    # written (not even the other, correctable row of the same file)
    changed = write_csv(tmp_path / "改油量.csv", RUN_HEADER, [
        R2[:7] + ["15.00"] + R2[8:], row(R1, **{"耗油量(升)": "30.00"})], "gbk")
    refused = run_import("generator_runs", changed, clerk)
    assert not refused.stored and refused.filename == "改油量.csv"
    assert [(e.row, e.column) for e in refused.errors] == [(3, "litres")]
    e = refused.errors[0]
    assert e.zh == ("发电单 R-2407-01：该油机发电记录已付款，金额不能通过导入修改（耗油量 26.50 → "
                    "30.00），请在该油机发电记录页面使用『更正』")
    assert e.en == ("run R-2407-01 is paid: its money cannot be changed by an import (litres "
                    "26.50 → 30.00); use Correct on the run's page")
    assert state() == before

    # every money column at once, no paid date, a new site: each column named
    many = refused_by(tmp_path, clerk, row(R1, 油价="8.00", 人工费="", 运输费="70",
                                           支付日期="2024-07-23"))
    assert sorted(c for c, _ in many) == ["fuel_price", "labour_cost", "paid_date",
                                          "transport_cost"]
    assert "（人工费 150.00 → 0.00）" in dict(many)["labour_cost"].zh
    [(column, unpaid)] = refused_by(tmp_path, clerk, row(R1, 发电单号="R-2407-03", 支付日期=""))
    assert column == "paid_date" and "不能通过导入取消付款（支付日期 2024-07-22 → 空）" in unpaid.zh
    assert "it cannot be un-paid by an import (paid_date 2024-07-22 → empty)" in unpaid.en
    assert [c for c, _ in refused_by(tmp_path, clerk, row(R1, 发电单号="R-2407-03",
                                                          停电编号="O-2407-02"))] == ["site_code"]
    assert state() == before

    # the same file again: nothing changes (idempotent)
    again = run_import("generator_runs", runs, clerk)
    assert again.stored
    assert (again.counts.created, again.counts.updated, again.counts.unchanged) == (0, 0, 3)
    runs_now, journal_now, _ = state()
    assert (runs_now, journal_now) == before[:2]

    # an unpaid, unbilled run is still corrected by a file: 4 h, 14 L (its finding goes)
    fixed = write_csv(tmp_path / "更正.csv", RUN_HEADER, [
        row(R2, 发电结束时间="2024-07-21 03:00", 发电时长="4.00", **{"耗油量(升)": "14.00"})])
    result = run_import("generator_runs", fixed, clerk)
    assert result.stored and result.counts.updated == 1
    r2 = Run.objects.get(run_no="R-2407-02")
    assert (r2.litres, r2.hours, r2.cost) == (D("14.00"), D("4.00"), D("250.04"))  # 110.04+140
    assert not Finding.objects.filter(run=r2, code="GEN_HOURS").exists()
    assert check_books() == []
    # and then paid by a file: its payment is the corrected cost
    paid = write_csv(tmp_path / "付款.csv", RUN_HEADER, [
        row(R2, 发电结束时间="2024-07-21 03:00", 发电时长="4.00", 支付日期="2024-07-24",
            **{"耗油量(升)": "14.00"})])
    assert run_import("generator_runs", paid, clerk).stored
    assert advance("ZZ002") == D("250.04")
    assert check_books() == []

    # by hand too: the form is judged like a file of one row
    values = dict(zip(("run_no", "outage_no", "site_code", "crew", "start", "end", "hours",
                       "litres", "fuel_price", "labour_cost", "transport_cost", "rated_lph",
                       "paid_date"), R1, strict=True)) | {"litres": "31.00"}
    errors, run = entry.enter_run(clerk, values, "现场更正")
    assert run is None and [(x.row, x.column) for x in errors] == [(0, "litres")]
    assert Run.objects.get(run_no="R-2407-01").litres == D("26.50")
    assert check_books() == []


def test_billed_run_never_silently_changed(users, tmp_path):
    clerk = users["clerk_zz"]
    runs = set_up(tmp_path)
    assert run_import("generator_runs", runs, clerk).stored
    r1 = Run.objects.get(run_no="R-2407-01")
    f = Finding.objects.get(run=r1, code="GEN_DUPLICATE")
    services.resolve_finding(f.pk, clerk, "R-2407-03 为重复录入")
    f2 = Finding.objects.get(run__run_no="R-2407-02", code="GEN_HOURS")
    services.resolve_finding(f2.pk, clerk, "等待市电稳定")
    done = services.bill_runs(clerk, month=date(2024, 7, 1), today=date(2024, 7, 23))
    assert sorted(done.billed) == ["R-2407-01", "R-2407-02"]   # R-2 billed, not paid
    assert check_books() == []
    before = state()
    lines = Line.objects.filter(kind="GENERATOR").count()

    # a billed run: its paid date not removed, its outage not dropped (only a site given),
    # its hours not changed, its money not changed
    for changed, column in ((row(R1, 支付日期=""), "paid_date"),
                            (row(R1, 停电编号="", 站址编码="ZZ001"), "outage_no"),
                            (row(R2, 发电时长="4.50"), "hours"),
                            (row(R2, 人工费="90.00"), "labour_cost")):
        [(got, e)] = refused_by(tmp_path, clerk, changed)
        assert got == column and "已出账" in e.zh and "调账" in e.zh and "billed" in e.en
    assert state() == before

    # the same file again changes nothing; an unpaid billed run may still be paid by a file
    assert run_import("generator_runs", runs, clerk).counts.unchanged == 3
    pay = write_csv(tmp_path / "付款.csv", RUN_HEADER, [row(R2, 支付日期="2024-07-25")])
    assert run_import("generator_runs", pay, clerk).stored
    assert Run.objects.get(run_no="R-2407-02").paid_date == date(2024, 7, 25)
    assert JournalEntry.objects.filter(reference="GEN-PAY-R-2407-02").count() == 1
    assert Line.objects.filter(kind="GENERATOR").count() == lines
    assert advance("ZZ002") == D("0.00")
    assert check_books() == []
