"""场租与场地费包干 on the real database: contract → schedule → payment → RENT lines (the
worked example of docs/programs/rent.md to the fen), the books, imports in GBK with row
errors, scope, termination for the decommissioning checklist, site fees made by the month
close, the monthly figures and the benchmark finding."""

from datetime import date
from decimal import Decimal

import pytest

from tests.helpers import write_csv
from towerledger.analysis.books import check_books
from towerledger.analysis.close import close_month
from towerledger.exchange.services import run_import
from towerledger.ledger.models import JournalLine
from towerledger.programs.rent import services
from towerledger.programs.rent.models import (
    RentContract,
    RentFinding,
    RentMonth,
    RentPayment,
    ScheduleItem,
    SiteFeeLine,
)
from towerledger.settlement.models import Line
from towerledger.settlement.services import confirm_lines
from towerledger.sites.models import Site, Tenancy

D = Decimal
pytestmark = pytest.mark.django_db


def example_contract(user, **more):
    """docs/programs/rent.md: ZZ001, from 2023-04-01 for 3 years, 12,000.00 a year, 3 % a year,
    quarterly in advance, passed through by tenancy."""
    values = dict(site=Site.objects.get(site_code="ZZ001"), start_date=date(2023, 4, 1),
                  end_date=date(2026, 3, 31), annual_rent=D("12000.00"), cycle="QUARTERLY",
                  timing="ADVANCE", escalation="PERCENT", escalation_pct=D("3"),
                  deposit=D("3000.00"), pass_through="TENANCY") | more
    return services.save_contract("HT-ZZ001", user=user, reason="test", **values)


def balance(account, **where):
    rows = JournalLine.objects.filter(account=account, **where).values_list("debit", "credit")
    return sum((d - c for d, c in rows), D("0.00"))


def test_worked_example_to_the_fen_and_the_books(users):
    c = example_contract(users["clerk_zz"])
    items = list(c.items.order_by("seq"))
    assert len(items) == 12
    assert [i.amount for i in items[:5]] == [D("3000.00")] * 4 + [D("3090.00")]
    assert sum(i.amount for i in items) == D("37090.80")   # 12,000 + 12,360 + 12,730.80
    q = items[4]
    assert (q.period_start, q.period_end, q.due_date, q.year, q.annual_rent) == (
        date(2024, 4, 1), date(2024, 6, 30), date(2024, 4, 1), 2, D("12360.00"))
    services.record_payment(c, payment_no="FK-1", paid_date=date(2024, 4, 1), kind="DEPOSIT",
                            user=users["clerk_zz"])
    p = services.record_payment(c, payment_no="FK-5", paid_date=date(2024, 4, 2), seq=5,
                                user=users["clerk_zz"], today=date(2024, 4, 2))
    # again: the same payment, nothing twice
    assert services.record_payment(c, payment_no="FK-5", paid_date=date(2024, 4, 2), seq=5,
                                   user=users["clerk_zz"]) == p
    lines = {ln.tenancy.tenancy_id: ln for ln in
             Line.objects.filter(kind="RENT").select_related("tenancy")}
    assert {k: v.cost_share for k, v in lines.items()} == {
        "T-ZZ001-CMCC": D("1290.33"), "T-ZZ001-CUCC": D("1290.33"), "T-ZZ001-CTCC": D("509.34")}
    ctcc = lines["T-ZZ001-CTCC"]
    assert (ctcc.receivable, ctcc.active_days, ctcc.share, ctcc.status) == (
        D("509.34"), 45, D("0.164835"), Line.Status.PUSHED)
    assert "第2合同年度" in ctcc.trace["text_zh"] and "HT-ZZ001" in ctcc.trace["text_zh"]
    assert ctcc.trace["year"] == 2 and ctcc.trace["method"] == "TENANCY"
    # the payment and the deposit posted, the advance fully passed through
    assert balance("RENT_DEPOSIT") == D("3000.00")
    assert balance("CASH") == D("-6090.00")
    assert balance("RENT_ADVANCE") == D("0.00")
    assert balance("UNCONFIRMED") == D("3090.00")
    confirm_lines([ctcc.pk], users["ctcc_zz"], today=date(2024, 4, 5))
    assert Line.objects.get(pk=ctcc.pk).status == Line.Status.CONFIRMED
    assert check_books() == []
    # open items for the decommissioning checklist: items due and unpaid, the contract
    opened = services.open_items(c.site_id, today=date(2024, 7, 1))
    assert [zh for zh, _ in opened][:4] == [
        f"场租合同HT-ZZ001第{n}期（{s}至{e}）应付3000.00元，{s}到期未付"
        for n, s, e in ((1, "2023-04-01", "2023-06-30"), (2, "2023-07-01", "2023-09-30"),
                        (3, "2023-10-01", "2023-12-31"), (4, "2024-01-01", "2024-03-31"))]
    assert "item 6" in opened[4][1] and "not terminated" in opened[-1][1]


def test_vacant_days_and_tower_borne_contracts_go_to_the_tower(users):
    # LY001: CTCC ended 2024-03-31, CUCC stays; a yearly contract borne by the tower
    site = Site.objects.get(site_code="LY001")
    c = services.save_contract("HT-LY001", user=users["admin"], site=site,
                               start_date=date(2024, 1, 1), end_date=date(2024, 12, 31),
                               annual_rent=D("7320.00"), cycle="YEARLY", pass_through="TOWER")
    services.record_payment(c, payment_no="FK-LY", paid_date=date(2024, 1, 5), seq=1,
                            user=users["admin"], today=date(2024, 1, 5))
    (tower,) = Line.objects.filter(kind="RENT")
    assert (tower.status, tower.cost_share, tower.operator_id) == (Line.Status.TOWER,
                                                                  D("7320.00"), None)
    assert balance("RENT_COST") == D("7320.00")
    assert check_books() == []


def test_ratio_pass_through_and_vacancy(users):
    # ZZ002: CMCC 60 / CTCC 40 since 2023-06-01; a monthly contract from 2023-05-01:
    # May 2023 (31 days) is vacant → the tower's
    site = Site.objects.get(site_code="ZZ002")
    c = services.save_contract("HT-ZZ002", user=users["admin"], site=site,
                               start_date=date(2023, 5, 1), end_date=date(2024, 4, 30),
                               annual_rent=D("6000.00"), cycle="MONTHLY", pass_through="RATIO")
    services.record_payment(c, payment_no="FK-Z2-1", paid_date=date(2023, 5, 1), seq=1,
                            user=users["admin"], today=date(2023, 5, 1))
    services.record_payment(c, payment_no="FK-Z2-2", paid_date=date(2023, 6, 1), seq=2,
                            user=users["admin"], today=date(2023, 6, 1))
    got = {(ln.period_start, ln.tenancy.tenancy_id if ln.tenancy else "TOWER"): ln.cost_share
           for ln in Line.objects.filter(kind="RENT").select_related("tenancy")}
    assert got == {(date(2023, 5, 1), "TOWER"): D("500.00"),
                   (date(2023, 6, 1), "T-ZZ002-CMCC"): D("300.00"),
                   (date(2023, 6, 1), "T-ZZ002-CTCC"): D("200.00")}


def test_terminate_prorates_the_last_period_and_is_idempotent(users):
    c = example_contract(users["admin"])
    n = services.terminate_contracts(c.site_id, date(2024, 5, 15), users["admin"], "拆站")
    assert n == 1
    assert services.terminate_contracts(c.site_id, date(2024, 5, 15), users["admin"],
                                        "again") == 0
    c.refresh_from_db()
    assert c.terminated_on == date(2024, 5, 15)
    last = c.items.filter(cancelled=False).order_by("-seq").first()
    # 3,090.00 × 45 / 91 = 1,528.02 (half-up)
    assert (last.seq, last.period_end, last.amount) == (5, date(2024, 5, 15), D("1528.02"))
    assert c.items.filter(cancelled=True).count() == 7
    assert not [s for s in services.open_items(c.site_id, today=date(2024, 6, 1))
                if "not terminated" in s[1]]
    from towerledger.access.models import AuditEntry
    assert AuditEntry.objects.filter(action="rent.terminate", object_key="HT-ZZ001").count() == 1


def test_terminating_inside_a_paid_period_leaves_a_refund_due(users):
    c = example_contract(users["admin"])
    services.record_payment(c, payment_no="FK-5", paid_date=date(2024, 4, 2), seq=5,
                            user=users["admin"], today=date(2024, 4, 2))
    assert services.terminate_contracts(c.site_id, date(2024, 5, 15), users["admin"], "拆站") == 1
    assert c.items.get(seq=5).amount == D("3090.00")          # paid: stays as paid
    opened = services.open_items(c.site_id, today=date(2023, 3, 1))   # nothing due yet
    assert opened == [("场租合同HT-ZZ001第5期已付至2024-06-30，2024-05-15终止后业主应退还1561.98元",
                       "rent contract HT-ZZ001 item 5 is paid to 2024-06-30; terminated on "
                       "2024-05-15, the landlord owes back 1561.98 yuan")]


def test_imports_gbk_row_errors_and_scope(users, tmp_path):
    header = ["合同编号", "站址编码", "业主", "业主类型", "开户行", "银行账号", "起租日期",
              "到期日期", "年租金", "付款周期", "付款方式", "递增方式", "年递增率", "押金", "分摊方式"]
    good = ["HT-ZZ001", "ZZ001", "张三", "个人", "农业银行", "6228480000000001", "2023-04-01",
            "2026-03-31", "12000", "季付", "先付", "按比例", "3", "3000", "按租户"]
    bad = ["HT-X", "NOPE", "李四", "个人", "", "", "2024-01-01", "2023-01-01", "abc", "周付",
           "", "按比例", "", "", "按租户"]
    path = write_csv(tmp_path / "c.csv", header, [good, bad], encoding="gbk")
    r = run_import("rent_contracts", path, users["clerk_zz"])
    assert not r.stored
    cols = {(e.row, e.column) for e in r.errors}
    assert {(3, "site_code"), (3, "end_date"), (3, "年租金"), (3, "付款周期")} <= cols
    assert all(e.zh and e.en for e in r.errors)
    path = write_csv(tmp_path / "c2.csv", header, [good], encoding="gbk")
    r = run_import("rent_contracts", path, users["clerk_ly"])   # ZZ001 is not Luoyang's
    assert not r.stored and "ZZ001" in r.errors[0].zh
    r = run_import("rent_contracts", path, users["clerk_zz"])
    assert r.stored, r.errors
    c = RentContract.objects.get(contract_no="HT-ZZ001")
    assert (c.escalation, c.pass_through, c.landlord.bank_account) == (
        "PERCENT", "TENANCY", "6228480000000001")
    assert ScheduleItem.objects.filter(contract=c).count() == 12
    assert run_import("rent_contracts", path, users["clerk_zz"]).stored   # again: unchanged
    assert ScheduleItem.objects.filter(contract=c).count() == 12
    # XLSX with English names and an Excel date serial: ZZ002, monthly, by agreed ratio
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active.append(["contract_no", "site_code", "landlord", "start_date", "end_date",
                      "annual_rent", "payment_cycle", "pass_through"])
    wb.active.append(["HT-ZZ002", "ZZ002", "王村委会", 45383, "2025-03-31", 6000, "MONTHLY",
                      "RATIO"])   # 45383 = 2024-04-01
    wb.save(tmp_path / "c.xlsx")
    assert run_import("rent_contracts", tmp_path / "c.xlsx", users["clerk_zz"]).stored
    z2 = RentContract.objects.get(contract_no="HT-ZZ002")
    assert (z2.start_date, z2.cycle, z2.items.count()) == (date(2024, 4, 1), "MONTHLY", 12)
    ph = ["付款编号", "合同编号", "期次", "类型", "付款日期", "金额"]
    path = write_csv(tmp_path / "p.csv", ph, [["FK-5", "HT-ZZ001", "5", "租金", "2024-04-02",
                                               "3090.00"],
                                              ["FK-9", "HT-ZZ001", "5", "租金", "2024-04-02",
                                               "1.00"]], encoding="gbk")
    r = run_import("rent_payments", path, users["clerk_zz"])
    assert not r.stored and [(e.row, e.column) for e in r.errors] == [
        (3, "amount"), (3, "seq")]   # 1.00 is not the 3,090.00 due; item 5 twice in the file
    path = write_csv(tmp_path / "p2.csv", ph, [["FK-5", "HT-ZZ001", "5", "租金", "2024-04-02",
                                                "3090.00"]], encoding="gbk")
    assert not run_import("rent_payments", path, users["clerk_ly"]).stored
    assert run_import("rent_payments", path, users["clerk_zz"]).stored
    assert run_import("rent_payments", path, users["clerk_zz"]).stored   # again: nothing new
    assert RentPayment.objects.count() == 1
    # the deposit and item 6 in one file; the deposit again is refused
    path = write_csv(tmp_path / "p3.csv", ph, [["YJ-1", "HT-ZZ001", "", "押金", "2024-04-02", ""],
                                               ["FK-6", "HT-ZZ001", "6", "租金", "2024-07-01",
                                                ""]], encoding="gbk")
    assert run_import("rent_payments", path, users["clerk_zz"]).stored
    path = write_csv(tmp_path / "p4.csv", ph, [["YJ-2", "HT-ZZ001", "", "押金", "2024-04-02",
                                                ""]], encoding="gbk")
    r = run_import("rent_payments", path, users["clerk_zz"])
    assert not r.stored and [(e.row, e.column) for e in r.errors] == [(2, "kind")]
    assert balance("RENT_DEPOSIT") == D("3000.00") and balance("CASH") == D("-9180.00")
    assert Line.objects.filter(kind="RENT", period_start=date(2024, 7, 1)).count() == 3
    assert check_books() == []
    assert sorted(Line.objects.filter(kind="RENT", period_start=date(2024, 4, 1))
                  .values_list("cost_share", flat=True)) == [
        D("509.34"), D("1290.33"), D("1290.33")]


def test_site_fees_by_the_close_gap_figures_and_benchmark(users):
    # ZZ001's CUCC pays a site fee of 310.00 a month from 2024-06-16 instead of its rent share
    c = example_contract(users["admin"])
    cucc = Tenancy.objects.get(tenancy_id="T-ZZ001-CUCC")
    services.save_site_fee(cucc, D("310.00"), date(2024, 6, 16), user=users["admin"])
    services.record_payment(c, payment_no="FK-5", paid_date=date(2024, 4, 2), seq=5,
                            user=users["admin"], today=date(2024, 4, 2))
    # June 2024 closed: a part month, 310.00 × 15 / 30 = 155.00
    close_month(date(2024, 6, 1), users["admin"], as_of=date(2024, 7, 5))
    (fee,) = Line.objects.filter(kind="SITE_FEE_LUMP_SUM")
    assert (fee.cost_share, fee.active_days, fee.month, fee.tenancy_id) == (
        D("155.00"), 15, date(2024, 6, 1), cucc.pk)
    assert SiteFeeLine.objects.count() == 1
    assert services.site_fee_lines(date(2024, 6, 1), users["admin"], date(2024, 7, 6)) == 0
    # the month's rent cost of ZZ001: 3,090.00 × 30/91 = 1,018.68; gap borne 863.68
    (gap,) = services.site_fee_gaps(date(2024, 6, 1))
    assert (gap["site_fees"], gap["rent_cost"], gap["gap"]) == (D("155.00"), D("1018.68"),
                                                                D("863.68"))
    june = RentMonth.objects.get(month=date(2024, 6, 1), city__name="郑州市")
    assert (june.site_fees, june.site_fee_rent, june.site_fee_gap) == (
        D("155.00"), D("1018.68"), D("863.68"))
    # items 1-4 and 6 (due 2024-07-01 > June's end: not yet) unpaid at June's end
    assert (june.overdue, june.overdue_items) == (D("12000.00"), 4)
    april = services.month_figures(date(2024, 4, 1), date(2024, 5, 5))
    # CUCC's days on its site fee (June 16-30, three ways) are the tower's:
    # 3,090.00 × 15/91 × 1/3 = 169.78
    assert [(r["paid"], r["passed_through"], r["borne"]) for r in april] == [
        (D("3090.00"), D("2920.22"), D("169.78"))]
    # benchmark on 2024-06-30: ZZ002 at 6,000.00 and ZZ001 at 12,360.00 (year 2) → median
    # 9,180.00; 150 % is 13,770.00: nothing; at 120 % (11,016.00) ZZ001 is a finding
    services.save_contract("HT-ZZ002", user=users["admin"], site=Site.objects.get(
        site_code="ZZ002"), start_date=date(2023, 5, 1), end_date=date(2026, 4, 30),
        annual_rent=D("6000.00"), cycle="YEARLY", pass_through="RATIO")
    assert services.refresh_findings(date(2024, 6, 30)) == 0
    assert services.refresh_findings(date(2024, 6, 30), threshold=D("120")) == 1
    f = RentFinding.objects.get()
    assert (f.contract.contract_no, f.median, f.ratio) == ("HT-ZZ001", D("9180.00"),
                                                           D("1.3464"))
