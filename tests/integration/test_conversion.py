"""转改直 on the small province of helpers, through the real imports and services: the
candidates ranked (a fixed number of queries), a project's steps with who/when/why, the
account turned direct on done (its next bills allocated without tax factor), realised
savings and payback to the fen (the worked example of docs/programs/conversion.md), the
operators' shares, the city league table and the import kind."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.helpers import write_csv
from tests.integration.test_bills import MAY, import_bills
from towerledger.access.models import AuditEntry
from towerledger.bills.models import Bill
from towerledger.domain.errors import DomainError
from towerledger.exchange.services import run_import
from towerledger.org.models import City, Province
from towerledger.programs.conversion import report, services
from towerledger.programs.conversion.models import Project, Step
from towerledger.settlement.models import Line
from towerledger.sites.models import AccountSite, Site, SupplyAccount

D = Decimal
MONTHS = [date(2024 + (6 + i) // 12, (6 + i) % 12 + 1, 1) for i in range(11)]  # Jul..May


def after_bills():
    """Jul 2024 .. May 2025: 4,650 kWh at the direct 0.65 = 3,022.50 each, paid."""
    rows = []
    for m in MONTHS:
        end = date(m.year + m.month // 12, m.month % 12 + 1, 1).toordinal() - 1
        rows.append([f"D-{m:%y%m}", "A-100", m.isoformat(), date.fromordinal(end).isoformat(),
                     "", "", "", "", "4650", "0.65", "3022.50", "", "SPECIAL_13",
                     date(m.year, m.month, 28).isoformat(), f"PAY-D{m:%y%m}"])
    return rows


@pytest.fixture
def converted(province, users, tmp_path):
    """A-100 (resupplied at 1.10, ZZ001) converted on 2024-06-30 at cost 21,000.00."""
    assert import_bills(tmp_path, [MAY]).stored
    admin = users["admin"]
    services.set_direct_price(admin, Province.objects.get(), date(2024, 1, 1), D("0.6500"),
                              reason="2024 目录电价")
    a100 = SupplyAccount.objects.get(account_no="A-100")
    services.set_estimate(users["clerk_zz"], a100, D("20000"), reason="现场勘察")
    p = services.submit(users["clerk_zz"], a100, reason="高价转供", submitted_on=date(2024, 6, 5))
    services.advance(users["clerk_zz"], p, "approve", reason="省公司批复",
                     on=date(2024, 6, 10))
    services.advance(users["clerk_zz"], p, "build", reason="施工完成", on=date(2024, 6, 25))
    services.advance(users["clerk_zz"], p, "complete", reason="供电局送电",
                     on=date(2024, 6, 30), actual_cost=D("21000"))
    result = import_bills(tmp_path, after_bills(), name="after.csv")
    assert result.stored, [e.text() for e in result.errors]
    return Project.objects.get(pk=p.pk)


def test_candidates_ranked_scoped_and_filtered(province, users, tmp_path):
    assert import_bills(tmp_path, [MAY]).stored
    rows = report.candidates(users["admin"], today=date(2024, 6, 5))
    assert [r["account_no"] for r in rows] == ["A-100", "A-300"]
    a100 = rows[0]
    assert a100["yearly_kwh"] == D("50864.52")       # 4,320 × 365 / 31
    assert a100["current_price"] == D("1.1000") and a100["direct_price"] == D("0.6500")
    assert a100["cost"] == D("30000.00") and a100["cost_source"] == "default"   # MACRO
    assert a100["figure"] == D("-7110.97")           # 50,864.52 × 0.45 − 30,000
    assert rows[1]["figure"] == D("-30000.00") and rows[1]["city"] == "洛阳市"
    ly = City.objects.get(name="洛阳市")
    assert [r["account_no"] for r in report.candidates(users["admin"], ly.pk,
                                                       date(2024, 6, 5))] == ["A-300"]
    assert [r["account_no"] for r in report.candidates(users["clerk_ly"])] == ["A-300"]
    assert report.candidates(users["cmcc"]) == []
    services.set_estimate(users["clerk_zz"], SupplyAccount.objects.get(account_no="A-100"),
                          D("20000"), reason="现场勘察")
    again = report.candidates(users["admin"], today=date(2024, 6, 5))[0]
    assert again["cost_source"] == "estimate" and again["figure"] == D("2889.03")


def test_candidates_take_a_fixed_number_of_queries(province, users, tmp_path):
    assert import_bills(tmp_path, [MAY]).stored

    def count():
        with CaptureQueriesContext(connection) as ctx:
            rows = report.candidates(users["admin"], today=date(2024, 6, 5))
        return len(ctx.captured_queries), len(rows)

    before, n = count()
    site = Site.objects.get(site_code="LY001")
    accounts = SupplyAccount.objects.bulk_create([
        SupplyAccount(account_no=f"X-{i}", supply_mode="RESUPPLY", supplier_type="LANDLORD",
                      input_invoice_type="GENERAL") for i in range(40)])
    AccountSite.objects.bulk_create([AccountSite(account=a, site=site, split_ratio=100)
                                     for a in accounts])
    Bill.objects.bulk_create([Bill(account=a, bill_no="X", period_start=date(2024, 5, 1),
                                   period_end=date(2024, 5, 31), kwh=D(1000 + i),
                                   unit_price=D("1.30"), amount=D(1300))
                              for i, a in enumerate(accounts)])
    after, m = count()
    assert m == n + 40 and after == before


def test_project_steps_turn_the_account_direct(converted, users):
    p = converted
    assert p.status == "DONE" and p.done_on == date(2024, 6, 30)
    assert (p.yearly_kwh, p.price_before, p.direct_price) == (D("50864.52"), D("1.1000"),
                                                              D("0.6500"))
    assert p.estimated_cost == D("20000.00") and p.actual_cost == D("21000.00")
    assert p.projected_monthly == D("1907.42")       # 50,864.52 × 0.45 ÷ 12
    assert p.before == {"supply_mode": "RESUPPLY", "supplier_type": "LANDLORD",
                        "input_invoice_type": "GENERAL", "contract_price": "1.1000"}
    a = SupplyAccount.objects.get(account_no="A-100")
    assert (a.supply_mode, a.supplier_type, a.input_invoice_type, a.contract_price) == (
        "DIRECT", "GRID", "SPECIAL_13", D("0.6500"))
    steps = list(Step.objects.filter(project=p).values_list("step", "to_state", "on",
                                                            "by__username", "reason"))
    assert steps == [
        ("submit", "SUBMITTED", date(2024, 6, 5), "clerk_zz", "高价转供"),
        ("approve", "APPROVED", date(2024, 6, 10), "clerk_zz", "省公司批复"),
        ("build", "BUILT", date(2024, 6, 25), "clerk_zz", "施工完成"),
        ("complete", "DONE", date(2024, 6, 30), "clerk_zz", "供电局送电")]
    actions = set(AuditEntry.objects.filter(object_key=p.code).values_list("action", flat=True))
    assert actions == {"conversion.submit", "conversion.approve", "conversion.build",
                       "conversion.complete"}
    turned = AuditEntry.objects.get(action="conversion.account")
    assert turned.before["supply_mode"] == "RESUPPLY" and turned.after["supply_mode"] == "DIRECT"
    assert turned.after["direct_from"] == "2024-06-30"
    # the first direct bill: SPECIAL_13, no tax factor on its RESALE lines
    july = Line.objects.filter(bill__bill_no="D-2407", kind="ALLOCATION").exclude(
        operator__isnull=True)
    assert july.count() == 3 and {ln.tax_factor for ln in july} == {D("0.0000")}
    with pytest.raises(DomainError):
        services.advance(users["clerk_zz"], p, "fail", reason="x")
    with pytest.raises(DomainError):          # one live project per account
        services.submit(users["admin"], SupplyAccount.objects.get(account_no="A-300"),
                        reason="x", submitted_on=date(2024, 6, 1), code=p.code)


def test_scope_and_rules_of_the_steps(province, users, tmp_path):
    a300 = SupplyAccount.objects.get(account_no="A-300")
    with pytest.raises(DomainError):
        services.submit(users["clerk_zz"], a300, reason="x", price_before=D("1.2"))
    with pytest.raises(DomainError):
        services.submit(users["cmcc"], a300, reason="x", price_before=D("1.2"))
    with pytest.raises(DomainError):
        services.submit(users["admin"], SupplyAccount.objects.get(account_no="A-200"),
                        reason="x", price_before=D("1.2"))
    with pytest.raises(DomainError):
        services.submit(users["admin"], a300, reason="", price_before=D("1.2"))
    p = services.submit(users["clerk_ly"], a300, reason="x", submitted_on=date(2024, 6, 1))
    assert p.price_before == D("1.2000") and p.yearly_kwh == D("0.00")    # contract price
    assert p.estimated_cost == D("30000.00")
    with pytest.raises(DomainError):          # before the previous step
        services.advance(users["clerk_ly"], p, "approve", reason="x", on=date(2024, 5, 1))
    services.advance(users["clerk_ly"], p, "fail", reason="业主不同意", on=date(2024, 7, 1))
    assert SupplyAccount.objects.get(pk=a300.pk).supply_mode == "RESUPPLY"
    again = services.submit(users["admin"], a300, reason="重新申报", submitted_on=date(2024, 8, 1))
    assert again.code == "ZGZ-A-300-2"


def test_realised_savings_and_payback_worked_example(converted, users):
    """docs/programs/conversion.md, to the fen."""
    first, last = date(2024, 6, 1), date(2025, 6, 30)
    admin = report.monthly_savings(users["admin"], first, last)
    assert list(admin) == [date(2024, 6, 1), *MONTHS, date(2025, 6, 1)]
    assert admin[date(2024, 6, 1)] == D("0.00") and admin[date(2025, 6, 1)] == D("0.00")
    assert all(admin[m] == D("2092.50") for m in MONTHS)     # 4,650 × (1.10 − 0.65)
    assert report.monthly_savings(users["clerk_zz"], first, last) == admin
    assert set(report.monthly_savings(users["clerk_ly"], first, last).values()) == {D("0.00")}
    # operators: the saving split by their cost shares of each bill (DC 40/25/15 A)
    assert report.monthly_savings(users["cmcc"], first, last)[MONTHS[0]] == D("1046.25")
    assert report.monthly_savings(users["ctcc_zz"], first, last)[MONTHS[0]] == D("392.34")
    shares = [report.monthly_savings(u, first, last)[MONTHS[0]] for u in (users["cmcc"],)]
    assert shares[0] + D("392.34") + D("653.91") == D("2092.50")
    from towerledger.programs.conversion.receivers import on_month_snapshots
    # the close's: the savings, and the candidates ranked as of the month end (A-300 only)
    assert on_month_snapshots(month=MONTHS[0]) == {"savings": "2092.50", "candidates": 1}
    pb = report.project_payback(converted, today=date(2025, 5, 31))
    assert [m.month for m in pb.months] == [date(2024, 6, 1), *MONTHS]
    assert pb.months[0].saving == D("0.00")              # June: the done month itself
    assert pb.months[10].cumulative == D("20925.00") and pb.months[10].remaining == D("75.00")
    assert pb.months[11].cumulative == D("23017.50")
    assert pb.reached == date(2025, 5, 1)
    assert pb.projected_months == D("11.1")              # 21,000 ÷ 1,907.42
    assert pb.realised_monthly == D("1918.13")           # 23,017.50 ÷ 12 months
    assert pb.realised_months == D("11.0")               # 21,000 ÷ 1,918.13 = 10.948…


def test_league_table(converted, users):
    rows = report.league(users["admin"], today=date(2025, 5, 31))
    assert rows[0]["city"] == "郑州市" and rows[0]["done"] == 1
    assert rows[0]["savings"] == D("23017.50") and rows[0]["cost"] == D("21000.00")
    assert rows[0]["payback_months"] == D("11.0")
    cmcc = report.league(users["cmcc"], today=date(2025, 5, 31))
    assert cmcc[0]["savings"] == D("11508.75") and cmcc[0]["cost"] is None   # 11 × 1,046.25
    assert report.league(users["clerk_ly"]) == []


HEADER = ["项目编号", "电表户号", "项目状态", "预计改造费用", "实际改造费用", "改造前单价", "直供电价",
          "改造后票据类型", "提交日期", "批准日期", "施工完成日期", "转直日期", "失败日期", "备注"]


def test_import_projects_in_gbk_with_every_bad_row(province, users, tmp_path):
    bad = [["P-1", "NO-SUCH", "已提交", "", "", "", "", "", "2024-06-01", "", "", "", "", ""],
           ["P-2", "A-200", "已提交", "", "", "1.2", "", "", "2024-06-01", "", "", "", "", ""],
           ["P-3", "A-300", "已批准", "", "", "1.2", "", "", "2024-06-01", "", "", "", "", ""],
           ["P-4", "A-300", "半成品", "", "", "1.2", "", "", "2024-06-01", "", "", "", "", ""]]
    result = run_import("conversion_projects",
                        write_csv(tmp_path / "p.csv", HEADER, bad, "gbk"), users["admin"])
    assert not result.stored
    got = {(e.row, e.column) for e in result.errors}
    assert {(2, "account_no"), (3, "account_no"), (4, "approved_on"), (5, "项目状态")} <= got
    assert all(e.zh and e.en for e in result.errors)
    assert Project.objects.count() == 0
    good = [["P-9", "A-300", "已完成", "25000", "26000", "1.2", "0.6", "SPECIAL_13",
             "2024-03-01", "2024-03-10", "2024-04-20", "2024-04-30", "", "物业配合"]]
    path = write_csv(tmp_path / "good.csv", HEADER, good, "gbk")
    refused = run_import("conversion_projects", path, users["clerk_zz"])
    assert not refused.stored and refused.errors[0].column == "account_no"
    result = run_import("conversion_projects", path, users["clerk_ly"])
    assert result.stored, [e.text() for e in result.errors]
    assert result.counts.created == 1
    p = Project.objects.get(code="P-9")
    assert (p.status, p.done_on, p.actual_cost, p.direct_price) == (
        "DONE", date(2024, 4, 30), D("26000.00"), D("0.6000"))
    assert SupplyAccount.objects.get(account_no="A-300").supply_mode == "DIRECT"
    again = run_import("conversion_projects", path, users["clerk_ly"])
    assert again.stored and again.counts.unchanged == 1 and Step.objects.count() == 4
    assert run_import("conversion_projects", path, users["cmcc"]).stored is False
