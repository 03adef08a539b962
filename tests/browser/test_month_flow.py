"""The month as its users live it, in a real browser (Debian's chromium): the clerk uploads
last month's bills, resolves the blocking flag and pays; the operator confirms a line and
disputes another; the clerk answers; statements are issued and a receipt is imported and
matched; the province admin closes last month; the dashboard shows its figures.
Screenshots of each step go to test-output/browser/month-*.png."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import OUT
from tests.browser.test_settlement_flow import log_in, new_page
from tests.helpers import write_csv
from tests.integration.test_bills import BILL_HEADER
from towerledger.analysis.books import check_books
from towerledger.analysis.models import Snapshot
from towerledger.collection.models import Receipt, Statement
from towerledger.ledger.models import MonthClose
from towerledger.settlement.models import Dispute, Line

pytestmark = pytest.mark.browser


def last_month() -> tuple[date, date]:
    first_this = timezone.localdate().replace(day=1)
    end = first_this - timedelta(days=1)
    return end.replace(day=1), end


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_month_from_bills_to_the_dashboard(browser, live_server, users, tmp_path, settings):
    settings.TOWERLEDGER_JOB_RUNNER = "sync"
    start, end = last_month()
    s, e = start.isoformat(), end.isoformat()
    bills = write_csv(tmp_path / "上月缴费单.csv", BILL_HEADER, [
        # a landlord bill above the price cap (BLOCK), and a clean grid bill
        ["B-LAST", "A-100", s, e, "20000", "24320", "1", "", "4320", "1.80", "7776.00", "",
         "普通发票", "", ""],
        ["G-LAST", "A-200", s, e, "", "", "", "", "3000", "0.62", "1860.00", "213.98",
         "SPECIAL_13", "", ""],
    ], encoding="gb18030")

    # 1. the clerk uploads the bills: audited on import
    clerk = new_page(browser)
    log_in(clerk, live_server, "clerk_zz")
    clerk.click("nav >> text=导入")
    clerk.select_option("select[name=kind]", "bills")
    clerk.set_input_files("input[name=file]", str(bills))
    clerk.click("text=上传并导入")
    expect(clerk.locator("#job")).to_contain_text("新增 2")
    clerk.screenshot(path=OUT / "month-01-bills-imported.png")

    # 2. resolves the blocking flag and pays both bills on the last day of the month
    clerk.click("nav >> text=稽核队列")
    clerk.click("table.data >> text=B-LAST")
    expect(clerk.locator("main")).to_contain_text("超过上限")
    for _ in range(clerk.locator("button[value=resolve]").count()):
        clerk.locator("input[name=reason]").first.fill("业主合同约定电价，已核实")
        clerk.locator("button[value=resolve]").first.click()
        expect(clerk.locator(".messages")).to_contain_text("已处理")
    clerk.fill("input[name=paid_date]", e)
    clerk.click("button:has-text('支付')")
    expect(clerk.locator(".messages")).to_contain_text("已支付 1 张")
    expect(clerk.locator("main")).to_contain_text("分摊合计")   # allocated at once (T+0)
    clerk.screenshot(path=OUT / "month-02-paid-and-allocated.png", full_page=True)
    clerk.click("nav >> text=缴费单")
    clerk.locator("tr", has_text="G-LAST").locator("input[name=ids]").check()
    clerk.fill("input[name=paid_date]", e)
    clerk.click("button:has-text('支付所选')")
    expect(clerk.locator(".messages")).to_contain_text("已支付 1 张")

    # 3. the operator confirms one line and disputes the other
    ctcc_lines = Line.objects.filter(operator__code="CTCC", status="PUSHED").order_by("pk")
    keep, contest = list(ctcc_lines)
    op = new_page(browser)
    log_in(op, live_server, "ctcc_zz")
    op.click("nav >> text=待确认明细")
    op.locator("tr", has_text=f"L{keep.pk}").locator("input[name=ids]").check()
    op.click("button:has-text('确认所选')")
    expect(op.locator(".messages")).to_contain_text("已确认 1 条")
    op.goto(f"{live_server.url}/lines/{contest.pk}/")
    op.select_option("select[name=reason]", "RATIO")
    op.fill("textarea[name=comment]", "直流电流应为 12A")
    op.click("button:has-text('提出争议')")
    expect(op.locator("main")).to_contain_text("争议")
    op.screenshot(path=OUT / "month-03-operator-disputed.png", full_page=True)

    # 4. the clerk answers it in part
    clerk.click("nav >> text=争议处理")
    card = clerk.locator(".dispute", has_text=f"L{contest.pk}")
    card.locator("select[name=outcome]").select_option("PARTIAL")
    new_amount = (contest.receivable * 8 / 10).quantize(contest.receivable)
    card.locator("input[name=new_amount]").fill(str(new_amount))
    card.locator("input[name=explanation]").fill("按实测电流调整")
    clerk.once("dialog", lambda d: d.accept())   # the desk asks before sending an answer
    card.locator("button:has-text('提交处理')").click()
    expect(clerk.locator(".messages")).to_contain_text("L")
    assert Dispute.objects.get().status == "PARTIAL"
    adjustment = Line.objects.get(kind="ADJUSTMENT")
    assert adjustment.receivable == new_amount
    op.goto(f"{live_server.url}/lines/")
    op.locator("tr", has_text=f"L{adjustment.pk}").locator("input[name=ids]").check()
    op.click("button:has-text('确认所选')")
    expect(op.locator(".messages")).to_contain_text("已确认 1 条")

    # 5. statements for this month's confirmations, and a receipt naming one of them
    clerk.click("nav >> text=对账单")
    this_month = timezone.localdate().strftime("%Y-%m")
    clerk.fill("#issue-form input[name=month]", this_month)
    clerk.check("#issue-early")   # the month has not ended: issuing it is a conscious choice
    clerk.click("#issue-form button:has-text('出具对账单')")
    statement = Statement.objects.get(operator__code="CTCC")
    assert statement.receivable == keep.receivable + adjustment.receivable
    receipts = write_csv(tmp_path / "回款.csv", ["回款编号", "运营商", "地市", "金额", "到账日期",
                                               "摘要"], [
        ["HK-M1", "CTCC", "郑州市", str(statement.receivable),
         timezone.localdate().isoformat(), f"电费 {statement.number}"]], encoding="gb18030")
    clerk.click("nav >> text=导入")
    clerk.select_option("select[name=kind]", "receipts")
    clerk.set_input_files("input[name=file]", str(receipts))
    clerk.click("text=上传并导入")
    expect(clerk.locator("#job")).to_contain_text("新增 1")
    assert Receipt.objects.get().status == "APPLIED"
    clerk.click("nav >> text=回款核销")
    expect(clerk.locator("main")).to_contain_text("HK-M1")
    clerk.screenshot(path=OUT / "month-04-receipt-matched.png", full_page=True)

    # 6. the province admin closes last month
    admin = new_page(browser)
    log_in(admin, live_server, "admin")
    admin.goto(f"{live_server.url}/close/")
    admin.select_option("#close-form select[name=month]", start.strftime("%Y-%m"))
    admin.once("dialog", lambda d: d.accept())
    admin.click("#close-form button")
    expect(admin.locator("#closes")).to_contain_text("已关账", timeout=20000)
    admin.screenshot(path=OUT / "month-05-closed.png", full_page=True)
    assert MonthClose.objects.get(month=start).status == "CLOSED"
    assert check_books() == []

    # 7. the dashboard shows the closed month: both expected accounts paid
    admin.goto(f"{live_server.url}/dashboard/?month={start:%Y-%m}")
    tile = admin.locator("#kpi-payment_completion .value")
    expect(tile).to_contain_text("100")
    figures = Snapshot.objects.get(month=start, level="PROVINCE", operator="*").figures
    assert figures["accounts_paid"] == figures["accounts_expected"] == 2
    admin.wait_for_function("document.querySelector('#chart-trend canvas') !== null")
    admin.screenshot(path=OUT / "month-06-dashboard.png", full_page=True)
    assert figures["paid_amount"] == "9636.00"

    # 8. the operator's own site report: its lines by site, live (this month's pushes too)
    op.click("nav >> text=报表")
    op.click("nav.tabs >> text=我的站址月度明细")
    # it opens on the current month, the month of today's pushes (T+0 on payment)
    expect(op.locator("select[name=month]")).to_have_value(f"{adjustment.push_date:%Y-%m}")
    report = op.locator("#report")
    expect(report).to_contain_text(keep.site.site_code)
    expect(report).not_to_contain_text("CMCC")
    op.screenshot(path=OUT / "month-07-operator-sites.png", full_page=True)
