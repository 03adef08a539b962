"""The first day of a real team (issue 16), in a real browser: an install with only the
organisation tree and master data gets its province admin from the command line; the admin
logs in, creates a city clerk and an operator user on the people pages, issues the operator
an API token (which then works against the API); the month's bills arrive; the clerk logs in
with the password shown once and finds the bills to pay on the home page's to-do list, pays;
the operator user logs in and finds the pushed lines to confirm, with the amount and the
deadline, one click from the list. Screenshots go to test-output/browser/first-day-*.png."""

import json

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from typer.testing import CliRunner

from tests.browser.conftest import OUT
from tests.integration.test_bills import MAY, import_bills
from towerledger.bills.models import Bill
from towerledger.bills.services import pay_bills
from towerledger.cli import app
from towerledger.settlement.models import Line

pytestmark = pytest.mark.browser


def new_page(browser):
    return browser.new_context(viewport={"width": 1360, "height": 900}).new_page()


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button.btn")
    expect(page.locator("h1").first).to_have_text("待办")


def first_log_in(page, live_server, username, generated, own):
    """A user the admin created logs in with the password the admin handed over, is asked
    to choose their own before anything else, and then finds their home page."""
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", generated)
    page.click("button.btn")
    expect(page.locator("#must-change")).to_be_visible()
    page.goto(f"{live_server.url}/bills/")          # nothing else opens before the change
    expect(page.locator("#must-change")).to_be_visible()
    page.fill("#old_password", generated)
    page.fill("#new_password", own)
    page.fill("#new_password2", own)
    page.click("#change-password")
    expect(page.locator("h1").first).to_have_text("待办")
    expect(page.locator(".messages")).to_contain_text("密码已修改")


def create_user(page, username, role, city=None, operator=None) -> str:
    """Fill the new-user form; returns the generated password the next page shows once."""
    page.click("nav >> text=人员与权限")
    page.click("#new-user")
    page.fill("input[name=username]", username)
    page.select_option("#role", role)
    if city:
        page.select_option("#city", label=city)
    if operator:
        page.select_option("#operator", label=operator)
    page.fill("input[name=reason]", "新同事入职")
    page.click("text=创建用户")
    expect(page.locator(".messages")).to_contain_text(f"用户 {username} 已创建")
    password = page.locator("#password-value").inner_text().strip()
    assert len(password) >= 12
    return password


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_first_day(browser, live_server, province, tmp_path):
    # the install: organisation tree and master data only, and no user but the one the
    # installer makes with the command line
    out = CliRunner().invoke(app, ["user", "create", "boss", "--role", "PROVINCE_ADMIN",
                                   "--password", "Boss-Pass-2026", "--reason", "安装"])
    assert out.exit_code == 0, out.output
    assert not Bill.objects.exists() and not Line.objects.exists()

    admin = new_page(browser)
    log_in(admin, live_server, "boss", "Boss-Pass-2026")
    expect(admin.locator("nav")).to_contain_text("人员与权限")
    clerk_password = create_user(admin, "zz_clerk", "CITY_CLERK", city="郑州市")
    admin.screenshot(path=OUT / "first-day-1-clerk-created.png", full_page=True)
    op_password = create_user(admin, "cmcc_erp", "OPERATOR", operator="CMCC 中国移动")
    expect(admin.locator("#person-role")).to_have_text("运营商用户")

    # an API token for the operator's own system, shown once, and it works
    admin.fill("#token-form input[name=name]", "CMCC-ERP")
    admin.click("text=签发接口令牌")
    token = admin.locator("#token-value").inner_text().strip()
    admin.screenshot(path=OUT / "first-day-2-token.png", full_page=True)
    answer = admin.request.get(f"{live_server.url}/api/v1/sites",
                               headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 200
    codes = {s["site_code"] for s in json.loads(answer.body())["items"]}
    assert codes and all(c.startswith(("ZZ", "LY")) for c in codes)
    admin.reload()   # the token is never shown again
    expect(admin.locator("#tokens")).to_contain_text("CMCC-ERP")
    assert token not in admin.content()
    admin.click("nav >> text=人员与权限")
    expect(admin.locator("#people")).to_contain_text("zz_clerk")
    expect(admin.locator("#people")).to_contain_text("cmcc_erp")

    # the month's bills arrive (the supply company's file, imported by the nightly exchange)
    assert import_bills(tmp_path, [MAY]).stored

    clerk = new_page(browser)
    first_log_in(clerk, live_server, "zz_clerk", clerk_password, "Clerk-Own-2026")
    expect(clerk.locator("nav")).not_to_contain_text("人员与权限")
    to_pay = clerk.locator("#todo-bills_to_pay")
    expect(to_pay.locator(".todo-count")).to_have_text("1")
    expect(to_pay).to_contain_text("4,752.00")
    clerk.screenshot(path=OUT / "first-day-3-clerk-home.png", full_page=True)
    to_pay.locator("a.todo-main").click()
    expect(clerk.locator("table.data")).to_contain_text("B-2405")

    # the clerk pays (T+0: the bill is allocated and its lines pushed to the operators)
    from django.contrib.auth import get_user_model
    pay_bills([Bill.objects.get(bill_no="B-2405").pk],
              get_user_model().objects.get(username="zz_clerk"), timezone.localdate(),
              reason="首月付款")

    operator = new_page(browser)
    first_log_in(operator, live_server, "cmcc_erp", op_password, "Cmcc-Own-2026")
    expect(operator.locator("nav")).not_to_contain_text("稽核队列")
    pending = operator.locator("#todo-lines_to_confirm")
    mine = Line.objects.pending().filter(operator__code="CMCC")
    assert mine.exists()
    expect(pending.locator(".todo-count")).to_have_text(str(mine.count()))
    owed = sum(line.receivable for line in mine)
    expect(pending).to_contain_text(f"{owed:,.2f} 元")
    expect(pending).to_contain_text("确认截止")
    operator.screenshot(path=OUT / "first-day-4-operator-home.png", full_page=True)
    pending.locator("a.todo-main").click()
    for line in mine.select_related("tenancy"):
        expect(operator.locator("table.data")).to_contain_text(line.tenancy.tenancy_id)
    expect(operator.locator("table.data")).not_to_contain_text("T-ZZ001-CTCC")
