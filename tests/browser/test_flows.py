"""Real-browser flows: Playwright driving Debian's chromium against the live server.
Screenshots of each step go to test-output/browser/."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUT
from tests.helpers import SITES_HEADER, write_csv
from tests.integration.test_bills import MAY, import_bills

pytestmark = pytest.mark.browser




@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 860}, locale="en-US")
    yield context.new_page()
    context.close()


def log_in(page, live_server, username, password="pw-Secret-123"):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button.btn")
    # home: the to-do list (待办) for those who have work, the overview (概览) for a viewer
    expect(page.locator("h1").first).to_have_text(re.compile("^(待办|概览)$"))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_chinese_login_language_switch_and_scoped_browsing(page, live_server, users):
    page.goto(f"{live_server.url}/login/")
    expect(page.locator("h1")).to_have_text("铁塔电费管理")
    page.screenshot(path=OUT / "01-login.png")
    log_in(page, live_server, "ctcc_zz")
    page.click("text=站址")
    expect(page.locator("table.data")).to_contain_text("ZZ001")
    expect(page.locator("table.data")).not_to_contain_text("LY001")
    page.click("text=ZZ001")
    expect(page.locator("main")).to_contain_text("T-ZZ001-CTCC")
    expect(page.locator("main")).not_to_contain_text("T-ZZ001-CMCC")
    page.click("header button[name=language]")
    expect(page.locator("nav")).to_contain_text("Sites")
    page.screenshot(path=OUT / "02-site-english.png")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_clerk_uploads_a_file_and_works_the_audit_queue(page, live_server, users, tmp_path,
                                                         settings):
    settings.TOWERLEDGER_JOB_RUNNER = "sync"
    log_in(page, live_server, "clerk_zz")
    page.click("text=导入")
    path = write_csv(tmp_path / "新站址.csv", SITES_HEADER, [
        ["ZZ900", "新站", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""],
        ["ZZ901", "坏站", "河南省", "郑州市", "金水区", "TOWER", "", "", "", "", ""]])
    page.select_option("select[name=kind]", "sites")
    page.set_input_files("input[name=file]", str(path))
    page.click("text=上传并导入")
    expect(page.locator("#job")).to_contain_text("没有写入任何数据")
    expect(page.locator("#job")).to_contain_text("TOWER")
    page.screenshot(path=OUT / "03-import-rejected.png")
    with page.expect_download() as download:
        page.click("text=下载错误报告")
    assert download.value.suggested_filename == "新站址.errors.csv"

    dear = [*MAY[:9], "1.80", "7776.00", *MAY[11:]]
    assert import_bills(tmp_path, [dear]).stored
    page.click("text=稽核队列")
    expect(page.locator("table.data")).to_contain_text("PRICE_CAP")
    # BLOCK first: the first finding in the queue is the one that holds the payment
    expect(page.locator("table.data tr").nth(1).locator("td").first).to_have_text("BLOCK")
    page.screenshot(path=OUT / "04-audit-queue.png")
    page.click("table.data >> text=B-2405")
    expect(page.locator("main")).to_contain_text("单价 1.8000 超过上限 1.5000")
    expect(page.locator("#pay-held")).to_be_visible()      # why 支付 is disabled, in words
    # the chart is drawn (a locator, not a string predicate: the CSP forbids eval)
    expect(page.locator("#chart canvas")).to_have_count(1)
    page.screenshot(path=OUT / "05-bill.png", full_page=True)
    for _ in range(page.locator("button[value=resolve]").count()):
        page.locator("input[name=reason]").first.fill("业主合同约定电价，已核实")
        page.locator("button[value=resolve]").first.click()
        expect(page.locator(".messages")).to_contain_text("已处理")
    page.fill("input[name=paid_date]", "2024-06-03")
    page.click("button:has-text('支付')")
    expect(page.locator(".messages")).to_contain_text("已支付 1 张")
    expect(page.locator("h1")).to_contain_text("已支付")
    page.screenshot(path=OUT / "06-bill-paid.png", full_page=True)
