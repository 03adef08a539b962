"""Issue 15 in a real browser: a flood night in 金水区 — the Zhengzhou clerk uploads the
field teams' generator runs (GBK CSV, Chinese headers) on /imports/, bills them from the
generator page; the operator finds its 发电 lines with their explanations and confirms them,
to the fen of the worked example (docs/programs/generator.md)."""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUT, log_in, new_page
from tests.helpers import RULES_HEADER, write_csv
from towerledger.analysis.books import check_books
from towerledger.exchange.services import run_import
from towerledger.org.models import Province
from towerledger.programs.generator import services
from towerledger.programs.generator.models import Billing
from towerledger.settlement.models import Line

pytestmark = pytest.mark.browser
D = Decimal

OUTAGES = [["O-FLOOD-1", "ZZ001", "2024-07-20 22:00", "2024-07-21 06:30", "暴雨洪涝"],
           ["O-FLOOD-2", "ZZ002", "2024-07-20 22:10", "2024-07-21 03:10", "暴雨洪涝"],
           ["O-FLOOD-3", "ZZ003", "2024-07-20 22:15", "2024-07-21 02:15", "暴雨洪涝"]]
RUN_HEADER = ["发电单号", "停电编号", "发电班组", "发电开始时间", "发电结束时间", "发电时长",
              "耗油量(升)", "油价", "人工费", "运输费", "额定油耗", "支付日期"]
RUNS = [
    # the worked example: 26.50 L × 7.86 + 150 + 60 = 418.29, DC current 40/25/15, tower 10 %
    ["R-FLOOD-1", "O-FLOOD-1", "金水抢修一班", "2024-07-20 22:20", "2024-07-21 06:20", "8.00",
     "26.50", "7.86", "150.00", "60.00", "4.00", "2024-07-22"],
    # 16.00 × 7.86 + 100 + 40 = 265.76 over CMCC and CTCC at 20 A each: 132.88 apiece
    ["R-FLOOD-2", "O-FLOOD-2", "金水抢修二班", "2024-07-20 22:30", "2024-07-21 02:30", "4.00",
     "16.00", "7.86", "100.00", "40.00", "4.00", "2024-07-22"],
    # ZZ003 has no tenancy: 12.00 × 7.86 + 80 + 30 = 204.32, all tower-borne
    ["R-FLOOD-3", "O-FLOOD-3", "金水抢修二班", "2024-07-20 22:40", "2024-07-21 01:40", "3.00",
     "12.00", "7.86", "80.00", "30.00", "4.00", "2024-07-22"],
]
CMCC = {"T-ZZ001-CMCC": D("188.23"), "T-ZZ002-CMCC": D("132.88")}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_flood_night_import_bill_and_operator_confirms(browser, live_server, users, tmp_path):
    rules = write_csv(tmp_path / "rules.csv", RULES_HEADER,
                      [["ZZ001", "2024-07-01", "DC_CURRENT", "EQUAL", "PRO_RATA", "10"]])
    assert run_import("rules", rules).stored
    services.set_rule(None, date(2024, 1, 1), "DC_CURRENT",
                      province_id=Province.objects.get().pk)
    assert run_import("outages", write_csv(tmp_path / "停电.csv", ["停电编号", "站址编码",
                      "停电开始时间", "来电时间", "停电原因"], OUTAGES, "gbk")).stored
    runs = write_csv(tmp_path / "暴雨夜发电.csv", RUN_HEADER, RUNS, "gbk")

    # the clerk uploads the field teams' file on the import page
    clerk = new_page(browser)
    log_in(clerk, live_server, "clerk_zz")
    clerk.goto(f"{live_server.url}/imports/")
    clerk.select_option("select[name=kind]", "generator_runs")
    clerk.set_input_files("input[name=file]", str(runs))
    clerk.fill("input[name=reason]", "7月20日暴雨夜发电记录")
    clerk.click("text=上传并导入")
    expect(clerk.locator("#job")).to_be_visible()
    expect(clerk.locator("#job progress")).to_have_count(0, timeout=30000)
    expect(clerk.locator("#job")).not_to_contain_text("已拒绝")

    # the generator page lists the night's runs, none held; the clerk bills them
    clerk.goto(f"{live_server.url}/programs/generator/?month=2024-07")
    expect(clerk.locator("#runs tr[data-run]")).to_have_count(3)
    expect(clerk.locator("#to-bill")).to_have_text("3")
    expect(clerk.locator("#held-count")).to_have_text("0")
    clerk.screenshot(path=OUT / "60-clerk-generator-runs.png", full_page=True)
    clerk.click("#bill-month")
    expect(clerk.locator(".messages")).to_contain_text("已出账 3 条发电记录")
    expect(clerk.locator("#runs")).to_contain_text("已出账")
    assert Billing.objects.count() == 3
    tower = Line.objects.tower_borne().filter(kind="GENERATOR")
    assert sorted(ln.cost_share for ln in tower) == [D("41.83"), D("204.32")]
    clerk.click("text=O-FLOOD-1")
    expect(clerk.locator("#run-R-FLOOD-1")).to_contain_text("188.23")
    expect(clerk.locator("#run-R-FLOOD-1")).to_contain_text("41.83")
    clerk.screenshot(path=OUT / "61-clerk-outage-runs-lines.png", full_page=True)

    # the operator sees its 发电 lines with the explanation, and confirms them
    op = new_page(browser)
    log_in(op, live_server, "cmcc")
    op.goto(f"{live_server.url}/lines/?kind=GENERATOR")
    table = op.locator("table.data")
    for tenancy, amount in CMCC.items():
        expect(table.locator("tr", has_text=tenancy)).to_contain_text(f"{amount:,.2f}")
    expect(table).not_to_contain_text("CUCC")
    expect(op.locator(".sums")).to_contain_text(f"{sum(CMCC.values()):,.2f}")   # 321.11
    line = Line.objects.get(kind="GENERATOR", tenancy__tenancy_id="T-ZZ001-CMCC")
    op.goto(f"{live_server.url}/lines/{line.pk}/")
    explanation = op.locator("#explanation")
    for part in ("油机发电", "O-FLOOD-1", "R-FLOOD-1", "8.00 小时", "26.50 升", "合计 418.29",
                 "按直流负载电流", "权重 40 / 合计 80", "188.23"):
        expect(explanation).to_contain_text(part)
    op.screenshot(path=OUT / "62-operator-generator-line.png", full_page=True)
    op.goto(f"{live_server.url}/lines/?kind=GENERATOR")
    for tenancy in CMCC:
        op.locator("tr", has_text=tenancy).locator("input[name=ids]").check()
    op.click("button:has-text('确认所选')")
    expect(op.locator(".messages")).to_contain_text("已确认 2 条")
    confirmed = Line.objects.confirmed().filter(kind="GENERATOR", operator__code="CMCC")
    assert {ln.tenancy.tenancy_id: ln.receivable for ln in confirmed} == CMCC
    assert check_books() == []
    figures = {(r["city"], r["operator"]): r for r in services.month_figures(date(2024, 7, 1))}
    assert figures[("郑州市", "CMCC")]["confirmed"] == D("321.11")
    assert figures[("郑州市", "")]["cost"] == D("888.37")     # 418.29 + 265.76 + 204.32
