"""Market trading on the small province of helpers, through the real imports and services:
a contract with an enrolled direct account, the TRADING_DISCOUNT finding on a bill without
the discount, one month of realised savings by account, site, city and operator (the worked
example of docs/programs/trading.md, to the fen), scope, and the import kinds."""

from datetime import date
from decimal import Decimal

import pytest

from tests.helpers import write_csv
from tests.integration.test_bills import GRID, import_bills
from towerledger.access.models import AuditEntry
from towerledger.bills.models import Flag
from towerledger.domain.errors import DomainError
from towerledger.exchange.services import run_import
from towerledger.org.models import Province
from towerledger.programs.trading import report, services
from towerledger.programs.trading.models import Contract, Enrolment
from towerledger.settlement.models import Line
from towerledger.sites.models import SupplyAccount

D = Decimal
JUNE = ["G-2406", "A-200", "2024-06-01", "2024-06-30", "", "", "", "", "3000", "0.57",
        "1710.00", "196.73", "SPECIAL_13", "2024-07-05", "PAY-G2406"]


def contract(users, code="TC-2024", start=date(2024, 1, 1), end=date(2024, 12, 31)):
    return services.save_contract(
        users["admin"], code=code, province=Province.objects.get(), year=2024,
        trader="华中售电", start=start, end=end, catalogue_price=D("0.62"),
        discount=D("0.05"), reason="2024 年度交易")


@pytest.fixture
def enrolled(province, users, tmp_path):
    c = contract(users)
    assert services.enrol(users["clerk_zz"], c, [SupplyAccount.objects.get(account_no="A-200")],
                          reason="年度交易") == 1
    result = import_bills(tmp_path, [GRID, JUNE])
    assert result.stored, [e.text() for e in result.errors]
    return c


def test_a_bill_without_the_discount_is_a_finding(enrolled):
    flags = {f.bill.bill_no: f for f in Flag.objects.filter(code="TRADING_DISCOUNT")
             .select_related("bill")}
    assert set(flags) == {"G-2405"}                  # billed 0.62, traded 0.57
    f = flags["G-2405"]
    assert f.severity == "WARN"
    assert f.figures["traded_price"] == "0.5700" or D(f.figures["traded_price"]) == D("0.57")


def test_one_month_of_savings_worked_example(enrolled, users):
    """docs/programs/trading.md: June 2024, 3,000 kWh, 0.05 off the 0.62 catalogue."""
    june_lines = {(ln.site.site_code, ln.operator.code if ln.operator_id else ""): ln.cost_share
                  for ln in Line.objects.filter(bill__bill_no="G-2406", kind="ALLOCATION")
                  .select_related("site", "operator")}
    assert june_lines == {("ZZ002", "CMCC"): D("718.20"), ("ZZ002", "CTCC"): D("478.80"),
                          ("ZZ002", ""): D("0.00"), ("ZZ003", ""): D("513.00")}
    first, last = date(2024, 5, 1), date(2024, 6, 30)
    admin = report.monthly_savings(users["admin"], first, last)
    assert admin == {date(2024, 5, 1): D("0.00"), date(2024, 6, 1): D("150.00")}
    assert report.monthly_savings(users["clerk_zz"], first, last) == admin
    assert report.monthly_savings(users["clerk_ly"], first, last)[date(2024, 6, 1)] == D(0)
    assert report.monthly_savings(users["cmcc"], first, last)[date(2024, 6, 1)] == D("63.00")
    assert report.monthly_savings(users["ctcc_zz"], first, last)[date(2024, 6, 1)] == D("42.00")
    from towerledger.programs.trading.receivers import on_month_snapshots
    assert on_month_snapshots(month=date(2024, 6, 1)) == {"savings": "150.00"}
    b = report.breakdown(users["admin"], first, last)
    assert b["total"] == D("150.00") and b["kwh"] == D(6000) and b["bills"] == 2
    assert b["account"] == [("A-200", D("150.00"))]
    assert b["site"] == [("ZZ002", D("105.00")), ("ZZ003", D("45.00"))]
    assert b["city"] == [("郑州市", D("150.00"))]
    assert b["operator"] == [("CMCC", D("63.00")), ("", D("45.00")), ("CTCC", D("42.00"))]
    mine = report.breakdown(users["cmcc"], first, last)
    assert mine["total"] == D("63.00") and mine["account"] == []
    assert mine["operator"] == [("CMCC", D("63.00"))]


def test_enrolment_rules(province, users):
    c = contract(users)
    a100 = SupplyAccount.objects.get(account_no="A-100")
    a200 = SupplyAccount.objects.get(account_no="A-200")
    with pytest.raises(DomainError):                 # resupplied
        services.enrol(users["admin"], c, [a100], reason="x")
    with pytest.raises(DomainError):                 # not the clerk's city
        services.enrol(users["clerk_ly"], c, [a200], reason="x")
    with pytest.raises(DomainError):
        services.save_contract(users["clerk_zz"], code="X", province=Province.objects.get(),
                               year=2024, trader="x", start=date(2024, 1, 1),
                               end=date(2024, 12, 31), catalogue_price=D("0.62"),
                               discount=D("0.05"), reason="x")
    assert services.enrol(users["admin"], c, [a200], reason="x") == 1
    assert services.enrol(users["admin"], c, [a200], reason="x") == 0     # idempotent
    other = contract(users, "TC-2024B", date(2024, 7, 1), date(2025, 6, 30))
    with pytest.raises(DomainError):
        services.enrol(users["admin"], other, [a200], reason="x")
    services.withdraw(users["admin"], c, a200, reason="退出")
    assert services.enrol(users["admin"], other, [a200], reason="x") == 1
    assert AuditEntry.objects.filter(action="trading.enrol").count() == 3
    assert AuditEntry.objects.filter(action="trading.withdraw").count() == 1


C_HEADER = ["合同编号", "省份", "年度", "售电公司", "合同开始日期", "合同结束日期", "目录电价",
            "每千瓦时优惠", "交易电价", "容差", "备注"]
E_HEADER = ["合同编号", "电表户号"]


def test_import_contracts_and_enrolments(province, users, tmp_path):
    rows = [["TC-1", "河南省", "2024", "华中售电", "2024-01-01", "2024-12-31", "0.62", "", "0.35",
             "", ""],
            ["TC-2", "湖北省", "2024", "x", "2024-01-01", "2023-12-31", "0.62", "0.1", "0.5",
             "", ""]]
    path = write_csv(tmp_path / "c.csv", C_HEADER, rows, "gbk")
    bad = run_import("trading_contracts", path, users["admin"])
    assert not bad.stored
    assert {(e.row, e.column) for e in bad.errors} >= {(3, "province"), (3, "end")}
    good = write_csv(tmp_path / "c2.csv", C_HEADER, rows[:1], "gbk")
    assert not run_import("trading_contracts", good, users["clerk_zz"]).stored
    result = run_import("trading_contracts", good, users["admin"])
    assert result.stored and result.counts.created == 1
    assert Contract.objects.get(code="TC-1").traded_price == D("0.3500")
    assert run_import("trading_contracts", good, users["admin"]).counts.unchanged == 1
    e_rows = [["TC-1", "A-200"], ["TC-9", "A-200"], ["TC-1", "A-100"]]
    bad = run_import("trading_enrolments", write_csv(tmp_path / "e.csv", E_HEADER, e_rows,
                                                     "gbk"), users["admin"])
    assert not bad.stored
    assert {(e.row, e.column) for e in bad.errors} == {(3, "contract_no"), (4, "account_no")}
    assert all(e.zh and e.en for e in bad.errors)
    ok = write_csv(tmp_path / "e2.csv", E_HEADER, e_rows[:1], "gbk")
    assert not run_import("trading_enrolments", ok, users["clerk_ly"]).stored
    assert run_import("trading_enrolments", ok, users["clerk_zz"]).stored
    assert Enrolment.objects.count() == 1
